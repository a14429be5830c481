"""Matplotlib plots of a range test (optional extra: `tb-lr-range[plots]`)."""

import numpy as np

from tb_lr_range import analysis


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: `pip install \"tb-lr-range[plots]\"`."
        ) from error
    return plt


def plot_lr(history, mode="exponential", ax=None, show=False):
    """Plots the learning rate and the loss against the iteration.

    Args:
        history: `LRFinder.history`.
        mode: The sweep's mode; exponential sweeps get a log y axis for lr.
        ax: Optional pair of Axes (learning rate, loss).
        show: Whether to call `pyplot.show()`.

    Returns:
        The matplotlib Figure.
    """
    plt = _pyplot()
    if ax is None:
        figure, (lr_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4))
    else:
        lr_ax, loss_ax = ax
        figure = lr_ax.figure
    steps = np.arange(len(history["lr"]))
    lr_ax.plot(steps, history["lr"], color="tab:blue")
    lr_ax.set_xlabel("iteration")
    lr_ax.set_ylabel("learning rate")
    lr_ax.set_title("Learning rate")
    if mode == "exponential":
        lr_ax.set_yscale("log")
    loss_ax.plot(steps, history["loss"], color="tab:orange", alpha=0.3, label="loss")
    loss_ax.plot(steps, history["smoothed_loss"], color="tab:orange", label="smoothed loss")
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("Loss")
    loss_ax.legend()
    _clip_to_finite(loss_ax, history["loss"])
    figure.tight_layout()
    if show:
        plt.show()
    return figure


def plot_curve(lrs, values, name, mode="exponential", beta=0.98, suggestion=None,
               ax=None, show=False, higher_is_better=False):
    """Plots a series against the learning rate with its derivative.

    Args:
        lrs: Learning rate of each step.
        values: The raw series (NaN where not recorded).
        name: The series' name, for labels.
        mode: The sweep's mode; exponential gets a log x axis and the
            derivative with respect to log(lr).
        beta: Smoothing of the solid line.
        suggestion: Optional `Suggestion` to mark (line at `lr`, band over
            the range).
        ax: Optional Axes; the derivative goes on its twin.
        show: Whether to call `pyplot.show()`.
        higher_is_better: Whether the series improves upwards (accuracy).

    Returns:
        The matplotlib Figure.
    """
    plt = _pyplot()
    if ax is None:
        figure, ax = plt.subplots(figsize=(8, 5))
    else:
        figure = ax.figure
    lrs = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    recorded = ~np.isnan(values)
    lrs, values = lrs[recorded], values[recorded]
    finite = analysis.finite_prefix_length(values)
    smoothed = analysis.ema(values[:finite], beta)
    ax.plot(lrs, values, color="tab:blue", alpha=0.25, linewidth=1, label=f"{name}")
    ax.plot(lrs[:finite], smoothed, color="tab:blue", linewidth=2, label=f"{name} (smoothed)")
    ax.set_xlabel("learning rate" + (" (log scale)" if mode == "exponential" else ""))
    ax.set_ylabel(name)
    if mode == "exponential":
        ax.set_xscale("log")
    slope = analysis.readable_derivative(lrs, values, mode, beta, higher_is_better)
    # The y range follows the part of the curve worth reading (before divergence).
    readable = max(analysis.finite_prefix_length(slope), 2)
    # The y range shows the fall: from the lowest raw value before divergence
    # to a little above where the curve started; the blow-up runs off the top.
    head = values[:readable][: max(3, readable // 10)]
    low, start = float(np.min(values[:readable])), float(np.median(head))
    span = abs(start - low) or abs(start) or 1.0
    ax.set_ylim(min(low, start) - 0.05 * span, max(low, start) + 0.3 * span)
    slope_ax = ax.twinx()
    slope_ax.plot(lrs, slope, color="tab:red", linewidth=1, alpha=0.8,
                  label=f"d {name} / d {'log(lr)' if mode == 'exponential' else 'lr'}")
    slope_ax.set_ylabel("derivative", color="tab:red")
    _clip_to_finite(slope_ax, slope)
    if suggestion is not None:
        ax.axvspan(suggestion.min_lr, suggestion.max_lr, color="tab:green", alpha=0.12,
                   label=f"range {suggestion.min_lr:.2g} - {suggestion.max_lr:.2g}")
        ax.axvline(suggestion.lr, color="tab:green", linestyle="--",
                   label=f"suggested lr {suggestion.lr:.2g} ({suggestion.method})")
    lines, labels = ax.get_legend_handles_labels()
    more_lines, more_labels = slope_ax.get_legend_handles_labels()
    ax.legend(lines + more_lines, labels + more_labels, loc="best", fontsize="small")
    ax.set_title(f"{name} against learning rate")
    figure.tight_layout()
    if show:
        plt.show()
    return figure


def _clip_to_finite(ax, values):
    """Keeps a diverging tail from squashing the interesting part of a plot."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return
    low, high = np.percentile(values, [0, 98])
    start = values[: max(1, len(values) // 10)].max()
    top = max(high, start)
    pad = 0.05 * (top - low or abs(top) or 1.0)
    ax.set_ylim(low - pad, top + pad)
