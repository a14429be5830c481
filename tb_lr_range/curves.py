"""Request-side computation of the LR Range tab: scalars in, JSON out.

The plugin reads a range test's scalars through TensorBoard's data provider;
this module turns what it read into the documents of the `runs` and
`curves` routes: run summaries, curves aligned on the learning rate, their
smoothing, derivative and suggestion, and JSON in which NaN and infinities
survive as the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (the
convention of `tensorboard.backend.json_util.Cleanse`).

Plain numpy: it imports neither TensorFlow nor Keras, and works on any
objects with `step` and `value` attributes (`provider.ScalarDatum`) and
`max_step` and `plugin_content` attributes (`provider.ScalarTimeSeries`).
"""

import json
import math
import operator

import numpy as np

from tb_lr_range import analysis
from tb_lr_range import metadata

DEFAULT_SMOOTHING = 0.98

_STEP = operator.attrgetter("step")
_VALUE = operator.attrgetter("value")


def run_summary(run, time_series):
    """The `runs` route's entry for one run.

    Args:
        run: The run's name.
        time_series: Dict of tag to `provider.ScalarTimeSeries`, the run's
            entry in `list_scalars(plugin_name="lr_range")`.

    Returns:
        A dict with `run`, `status` (`"finished"` once the `result` tag
        exists, else `"running"`), `config`, `result` (None while running),
        `series` (history names, loss first) and `last_step`.

    Example:

    >>> run_summary("a", {})["status"]
    'running'
    """
    result = None
    if metadata.RESULT_TAG in time_series:
        result = _content(time_series[metadata.RESULT_TAG])
        for key in ("stop_reason", "steps", "suggestion"):
            result.setdefault(key, None)
    steps = [ts.max_step for ts in time_series.values() if ts.max_step is not None]
    return {
        "run": run,
        "status": "running" if result is None else "finished",
        "config": run_config(time_series),
        "result": result,
        "series": series_names(time_series),
        "last_step": int(max(steps, default=0)),
    }


def run_config(time_series):
    """The configuration stored with a run's `lr` tag (empty when missing)."""
    return _content(time_series.get(metadata.LR_TAG))


def run_mode(config):
    """The sweep mode of a configuration; `"exponential"` when unknown."""
    mode = config.get("mode")
    return mode if mode in analysis.MODES else "exponential"


def run_smoothing(config):
    """The smoothing of a configuration; `DEFAULT_SMOOTHING` when unusable."""
    value = config.get("smoothing")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value)
    return DEFAULT_SMOOTHING


def series_names(tags):
    """History names of a run's series tags: loss, metrics, val_loss, val metrics.

    Args:
        tags: An iterable of tags.

    Returns:
        A list of names, each group sorted by name.

    Example:

    >>> series_names(["lr", "metric/accuracy", "val_loss", "loss", "result"])
    ['loss', 'accuracy', 'val_loss']
    """
    names = {metadata.series_name(tag) for tag in tags} - {None}

    def order(name):
        validation = name.startswith("val_")
        base = name[len("val_"):] if validation else name
        return (validation, base != "loss", base)

    return sorted(names, key=order)


def to_arrays(data):
    """Steps and values of a scalar time series, sorted by step.

    Args:
        data: A list of `provider.ScalarDatum`.

    Returns:
        `(steps, values)`: int64 and float64 arrays. When a step occurs more
        than once, its last value is kept.
    """
    n = len(data)
    steps = np.fromiter(map(_STEP, data), dtype=np.int64, count=n)
    values = np.fromiter(map(_VALUE, data), dtype=np.float64, count=n)
    if n > 1 and not np.all(steps[1:] > steps[:-1]):
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        last = np.append(steps[1:] != steps[:-1], True)
        steps, values = steps[last], values[last]
    return steps, values


def align_lr(lr_steps, lr_values, steps, mode="exponential"):
    """The learning rate at each of `steps`, from the `lr` tag's points.

    A step where `lr` was recorded takes that value. When the data was
    downsampled (`--samples_per_plugin lr_range=N`), a step between two
    recorded ones is interpolated (in log(lr) for an exponential sweep);
    steps outside the recorded range get NaN.

    Args:
        lr_steps, lr_values: The `lr` tag's points, sorted by step.
        steps: Sorted steps of a series.
        mode: The sweep's mode.

    Returns:
        A float64 array of the same length as `steps`.
    """
    if len(lr_steps) == len(steps) and np.array_equal(lr_steps, steps):
        return lr_values
    if len(lr_steps) == 0:
        return np.full(len(steps), np.nan)
    index = np.minimum(np.searchsorted(lr_steps, steps), len(lr_steps) - 1)
    exact = lr_steps[index] == steps
    out = np.where(exact, lr_values[index], np.nan)
    if not exact.all():
        logarithmic = mode == "exponential" and np.all(lr_values > 0)
        known = np.log(lr_values) if logarithmic else lr_values
        between = np.interp(steps[~exact], lr_steps, known, left=np.nan, right=np.nan)
        out[~exact] = np.exp(between) if logarithmic else between
    return out


def curve(steps, lrs, values, mode="exponential", smoothing=DEFAULT_SMOOTHING,
          method=analysis.DEFAULT_METHOD, higher_is_better=False):
    """One series of the `curves` route.

    Args:
        steps: int array of steps.
        lrs: The learning rate at each step (`align_lr`).
        values: The series' raw values.
        mode: The sweep's mode.
        smoothing: Smoothing in [0, 1).
        method: The suggestion's method, one of `analysis.METHODS`.
        higher_is_better: Whether the series improves upwards (accuracy).

    Returns:
        A dict of numpy arrays `step`, `lr`, `value`, `smoothed` (the
        bias-corrected EMA, as the callback smooths) and `derivative` (of the
        zero-lag smoothed curve with respect to log(lr) or lr, NaN where the
        curve has diverged: `analysis.readable_derivative`), plus `higher_is_better` and `suggestion` (a
        dict, or None when the curve is too short to read).

    Example:

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> out = curve(np.arange(50), lrs, 1 / (1 + 50 * lrs))
    >>> sorted(out["suggestion"])
    ['index', 'lr', 'max_lr', 'method', 'methods', 'min_lr']
    """
    slope = analysis.readable_derivative(lrs, values, mode, smoothing, higher_is_better)
    try:
        suggestion = analysis.suggest(lrs, values, mode, smoothing, method,
                                      higher_is_better).to_dict()
    except ValueError:
        suggestion = None
    return {
        "step": steps,
        "lr": lrs,
        "value": values,
        "smoothed": analysis.ema(values, smoothing),
        "derivative": slope,
        "higher_is_better": bool(higher_is_better),
        "suggestion": suggestion,
    }


def run_curves(run, time_series, data, names, smoothing=None, method=analysis.DEFAULT_METHOD):
    """The `curves` route's entry for one run.

    Args:
        run: The run's name.
        time_series: Dict of tag to `provider.ScalarTimeSeries` holding at
            least the run's `lr` and `result` tags when they exist.
        data: Dict of tag to list of `provider.ScalarDatum`: the `lr` tag
            and the tag of each of `names`.
        names: Series names (`"loss"`, `"accuracy"`, `"val_loss"`, ...).
        smoothing: Smoothing in [0, 1), or None for the run's own.
        method: The suggestion's method.

    Returns:
        A dict with `run`, `mode`, `status`, `stop_reason`, `smoothing` (the
        one used) and `series` (name to `curve`). Points whose learning rate
        is unknown (possible only when downsampled) are left out.

    Raises:
        KeyError: when `data` lacks the tag of one of `names`.
    """
    config = run_config(time_series)
    mode = run_mode(config)
    beta = run_smoothing(config) if smoothing is None else smoothing
    lr_steps, lr_values = to_arrays(data.get(metadata.LR_TAG, []))
    series = {}
    for name in names:
        steps, values = to_arrays(data[metadata.metric_tag(name)])
        lrs = align_lr(lr_steps, lr_values, steps, mode)
        known = ~np.isnan(lrs)
        if not known.all():
            steps, values, lrs = steps[known], values[known], lrs[known]
        series[name] = curve(steps, lrs, values, mode, beta, method,
                             analysis.higher_is_better(name))
    result = time_series.get(metadata.RESULT_TAG)
    return {
        "run": run,
        "mode": mode,
        "status": "running" if result is None else "finished",
        "stop_reason": None if result is None else _content(result).get("stop_reason"),
        "smoothing": beta,
        "series": series,
    }


def dumps(document):
    """Serialises a document of dicts, lists, numbers and numpy arrays as JSON.

    Non-finite floats become the strings `"NaN"`, `"Infinity"` and
    `"-Infinity"`, so the result is valid JSON, the same as
    `tensorboard.backend.http_util.Respond` makes of its JSON content, but
    numpy arrays are converted in bulk instead of one Python call per value.

    Args:
        document: The document.

    Returns:
        A JSON string.

    Example:

    >>> dumps({"a": np.array([1.0, np.nan]), "b": float("inf")})
    '{"a": [1.0, "NaN"], "b": "Infinity"}'
    """
    return json.dumps(_plain(document), allow_nan=False)


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain_array(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _plain_float(float(value))
    return value


def _plain_array(array):
    items = array.tolist()
    if array.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(array)).tolist():
            items[i] = _plain_float(items[i])
    return items


def _plain_float(number):
    if math.isfinite(number):
        return number
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _content(time_series):
    if time_series is None:
        return {}
    content = metadata.parse_content(time_series.plugin_content)
    content.pop("version", None)
    return content
