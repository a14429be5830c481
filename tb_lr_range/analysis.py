"""The mathematics of the learning-rate range test, in plain numpy.

Nothing here imports Keras, TensorFlow or TensorBoard: the callback uses it
while training, the TensorBoard plugin uses it to answer requests, and it is
tested on its own.

Contents:

* the sweep: `learning_rates` and `learning_rate_at`;
* per-batch recovery from Keras's running means: `batch_value`;
* smoothing: `ema` (bias-corrected, as fastai and Lightning) and
  `zero_lag_ema` (forward-backward, for reading a finished curve);
* divergence: `divergence_threshold` and the streaming `LossTracker`;
* reading the curve: `derivative` and `suggest`, which returns a `Suggestion`.
"""

import bisect
import dataclasses
import math

import numpy as np

MODES = ("exponential", "linear")
METHODS = ("valley", "steep", "minimum", "range")
DEFAULT_METHOD = "minimum"  # chosen by bench/suggestion_methods.py; see bench/RESULTS.md


def check_mode(mode):
    """Raises ValueError unless `mode` is one of `MODES`."""
    if mode not in MODES:
        raise ValueError(
            f"`mode` must be one of {MODES}, got {mode!r}."
        )


def learning_rates(min_lr, max_lr, num_steps, mode="exponential"):
    """The learning rate of every step of a sweep.

    Step `i` of `n` uses `min_lr * (max_lr / min_lr) ** (i / (n - 1))`
    (exponential) or `min_lr + (max_lr - min_lr) * i / (n - 1)` (linear): the
    first step runs at `min_lr`, the last at `max_lr`.

    Args:
        min_lr: First learning rate, > 0 in exponential mode.
        max_lr: Last learning rate, > `min_lr`.
        num_steps: Number of steps, >= 1.
        mode: `"exponential"` or `"linear"`.

    Returns:
        A float64 array of shape `(num_steps,)`.

    Example:

    >>> learning_rates(1e-3, 1e-1, 3)
    array([0.001, 0.01 , 0.1  ])
    """
    check_mode(mode)
    return np.array(
        [learning_rate_at(i, min_lr, max_lr, num_steps, mode) for i in range(num_steps)]
    )


def learning_rate_at(step, min_lr, max_lr, num_steps, mode="exponential"):
    """The learning rate of one step of a sweep; see `learning_rates`.

    Steps past the last planned one keep `max_lr`.
    """
    if num_steps <= 1:
        return float(min_lr)
    fraction = min(step, num_steps - 1) / (num_steps - 1)
    if mode == "exponential":
        return float(min_lr * (max_lr / min_lr) ** fraction)
    return float(min_lr + (max_lr - min_lr) * fraction)


def batch_value(previous_mean, previous_count, mean, count):
    """Recovers one batch's own value from two running means.

    Keras reports, after each batch, the mean over the epoch so far
    (`total / count`). With the counts before and after the batch, the batch's
    own mean is `(mean * count - previous_mean * previous_count) / (count -
    previous_count)`.

    Args:
        previous_mean: Running mean before the batch (ignored when
            `previous_count` is 0).
        previous_count: Weight accumulated before the batch.
        mean: Running mean after the batch.
        count: Weight accumulated after the batch.

    Returns:
        The batch's value as a float; NaN when the batch added no weight.
    """
    added = count - previous_count
    if added <= 0:
        return math.nan
    if previous_count == 0:
        return float(mean)
    return float((mean * count - previous_mean * previous_count) / added)


def ema(values, beta=0.98):
    """Bias-corrected exponential moving average.

    `avg = beta * avg + (1 - beta) * value; smoothed = avg / (1 - beta ** t)`,
    as fastai and PyTorch Lightning smooth the range-test loss. A non-finite
    value makes it and everything after it non-finite.

    Args:
        values: 1-D array-like of floats.
        beta: Smoothing factor in [0, 1); 0 returns the values unchanged.

    Returns:
        A float64 array of the same length.
    """
    values = np.asarray(values, dtype=np.float64)
    if beta == 0 or len(values) == 0:
        return values.copy()
    # The recurrence solved in closed form, a block at a time so that
    # beta ** -block stays far from overflow: within a block,
    # avg_t = beta**t * (avg_0 + (1 - beta) * cumsum(x_k * beta**-k)).
    block = int(max(1, min(1024, 30.0 / -math.log(beta))))
    out = np.empty_like(values)
    powers = beta ** np.arange(1, block + 1, dtype=np.float64)
    average = 0.0
    for start in range(0, len(values), block):
        chunk = values[start:start + block]
        grow = powers[: len(chunk)]
        running = grow * (average + (1.0 - beta) * np.cumsum(chunk / grow))
        out[start:start + len(chunk)] = running
        average = running[-1]
    steps = np.arange(1, len(values) + 1, dtype=np.float64)
    with np.errstate(under="ignore"):
        return out / -np.expm1(steps * math.log(beta))


def zero_lag_ema(values, beta=0.98):
    """Symmetric exponential smoothing with no lag, normalised at the edges.

    An online EMA lags behind the curve by about `1 / (1 - beta)` steps, which
    in a range test shifts every feature towards larger learning rates. This
    smoother weighs step `j` by `beta ** |k - j|` on both sides of step `k`
    and divides by the weights actually present, so features stay where they
    are in the raw data and the first and last steps are averaged over a full
    one-sided window rather than left as raw noise. Used to read a finished
    curve, never to decide online.

    Args:
        values: 1-D array-like of finite floats.
        beta: Smoothing factor in [0, 1).

    Returns:
        A float64 array of the same length.
    """
    values = np.asarray(values, dtype=np.float64)
    if beta == 0 or len(values) == 0:
        return values.copy()
    # ema() is bias-corrected: undo that to get the weighted sums
    # F_k = sum_{j<=k} beta**(k-j) x_j and their weights W_k.
    steps = np.arange(1, len(values) + 1, dtype=np.float64)
    with np.errstate(under="ignore"):
        weight = -np.expm1(steps * math.log(beta)) / (1.0 - beta)
    forward = ema(values, beta) * weight
    backward = (ema(values[::-1], beta) * weight)[::-1]
    return (forward + backward - values) / (weight + weight[::-1] - 1.0)


def divergence_threshold(best, stop_factor):
    """The smoothed loss above which a range test has diverged.

    For a positive best loss this is `stop_factor * best`, the rule of fastai
    and Lightning. Written as `best + (stop_factor - 1) * |best|`, it also
    works for losses that are negative (a log-likelihood, say), where the
    multiplicative rule would stop at once or never.

    Args:
        best: The lowest smoothed loss so far.
        stop_factor: A float > 1.

    Returns:
        The threshold as a float.
    """
    return best + (stop_factor - 1.0) * abs(best)


class LossTracker:
    """Smooths a loss step by step and says when it has diverged.

    Args:
        beta: EMA smoothing factor in [0, 1).
        stop_factor: Divergence factor > 1, or None to stop only on a
            non-finite loss.

    Example:

    >>> tracker = LossTracker(beta=0.0, stop_factor=4)
    >>> [tracker.update(v) for v in (1.0, 0.5, 3.0)]
    [None, None, 'diverged']
    """

    def __init__(self, beta=0.98, stop_factor=4.0):
        self.beta = beta
        self.stop_factor = stop_factor
        self.steps = 0
        self.smoothed = math.nan
        self.best = math.inf
        self._average = 0.0

    def update(self, loss):
        """Adds one step's loss.

        Returns:
            None to go on; `"non_finite_loss"` when the loss is NaN or
            infinite; `"diverged"` when the smoothed loss exceeds
            `divergence_threshold(best, stop_factor)`.
        """
        self.steps += 1
        self._average = self.beta * self._average + (1.0 - self.beta) * loss
        self.smoothed = self._average / (1.0 - self.beta**self.steps)
        if not math.isfinite(loss) or not math.isfinite(self.smoothed):
            return "non_finite_loss"
        if self.smoothed < self.best:
            self.best = self.smoothed
        if self.stop_factor is not None and self.smoothed > divergence_threshold(
            self.best, self.stop_factor
        ):
            return "diverged"
        return None


def derivative(lrs, values, mode="exponential"):
    """Derivative of a curve with respect to log(lr) or lr.

    Args:
        lrs: Learning rates, increasing.
        values: The curve at those learning rates.
        mode: `"exponential"` differentiates with respect to `log(lr)` (the
            axis on which an exponential sweep is evenly spaced),
            `"linear"` with respect to `lr`.

    Returns:
        A float64 array of the same length (NaN where it cannot be computed,
        for example with fewer than two points).
    """
    check_mode(mode)
    lrs = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.full(len(values), np.nan)
    axis = np.log(lrs) if mode == "exponential" else lrs
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.gradient(values, axis)


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """What a range test suggests.

    Attributes:
        lr: One learning rate to train at, from `method`.
        min_lr: Lower end of a range for cyclical or one-cycle schedules:
            where the loss starts to fall.
        max_lr: Upper end: where the loss stops falling, before its minimum.
        method: The method `lr` comes from.
        methods: Every method's learning rate, by name.
        index: The step whose learning rate is `lr`.
    """

    lr: float
    min_lr: float
    max_lr: float
    method: str
    methods: dict
    index: int

    def to_dict(self):
        """A JSON-friendly dict of the suggestion."""
        return dataclasses.asdict(self)


def higher_is_better(name):
    """Whether a series named `name` improves upwards (accuracy, AUC, ...).

    Args:
        name: A series name such as `"loss"`, `"accuracy"` or `"val_auc"`.

    Returns:
        True for accuracy-like metrics, False for losses and errors.

    Example:

    >>> higher_is_better("val_accuracy"), higher_is_better("loss")
    (True, False)
    """
    name = name[len("val_"):] if name.startswith("val_") else name
    name = name.lower()
    return name in ("acc", "auc", "prc", "f1", "r2") or any(
        part in name for part in ("accuracy", "precision", "recall", "f1_score", "auc", "r2_score"))


def finite_prefix_length(values):
    """Number of leading finite values (the curve before it blew up)."""
    finite = np.isfinite(np.asarray(values, dtype=np.float64))
    return len(finite) if finite.all() else int(np.argmin(finite))


def _longest_decreasing_run(values):
    """(start, end) of fastai's "valley": the longest decreasing subsequence.

    fastai computes it in O(n^2); this patience-sorting version gives the same
    end (first index reaching the maximum length) in O(n log n).
    """
    tails = []  # tails[k]: largest possible last value of a decreasing run of length k+1, negated
    best_end, best_length = 0, 1
    for i, value in enumerate(values):
        k = bisect.bisect_left(tails, -value)
        if k == len(tails):
            tails.append(-value)
        else:
            tails[k] = -value
        length = k + 1
        if length > best_length:
            best_end, best_length = i, length
    return best_end - best_length, best_end


def suggest(lrs, values, mode="exponential", beta=0.98, method=DEFAULT_METHOD,
            higher_is_better=False):
    """Reads a suggested learning rate and range from a range-test curve.

    The curve is cut at its first non-finite value and smoothed with
    `zero_lag_ema`. Then, on the smoothed curve `s` with minimum at step `m`:

    * `valley` (fastai's default): within the longest decreasing stretch of
      `s`, the step a half of its length in (fastai's rule: start plus a third
      plus a sixth of the length).
    * `steep`: the steepest descent, argmin of `ds/dlog(lr)`, between
      `min_lr` and the minimum `m`.
    * `minimum` (the default, `DEFAULT_METHOD`): the learning rate at `m`,
      divided by 10.
    * `range`: the geometric middle of `min_lr` and `max_lr`.

    The range is where the loss falls: `min_lr` is the first step where `s`
    has made 10% of its total fall from `s[0]` to `s[m]`, `max_lr` the first
    where it has made 90% of it (Smith: just before the loss stops falling).

    Args:
        lrs: The learning rate of each step.
        values: The raw loss (or metric) of each step.
        mode: The sweep's mode, `"exponential"` or `"linear"`.
        beta: Smoothing in [0, 1).
        method: Which method gives `lr`; one of `METHODS` (default
            `DEFAULT_METHOD`, `"minimum"`).
        higher_is_better: True for metrics such as accuracy, read as the
            negated curve.

    Returns:
        A `Suggestion`.

    Raises:
        ValueError: for an unknown `method` or `mode`, lengths that differ, or
            fewer than 3 finite leading steps.

    Example:

    >>> lrs = np.geomspace(1e-4, 1, 100)
    >>> loss = 1 / (1 + 50 * lrs) + (lrs > 0.3) * 5 * (lrs - 0.3)
    >>> 1e-3 < suggest(lrs, loss).lr < 0.3
    True
    """
    check_mode(mode)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
    lrs = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if lrs.shape != values.shape or lrs.ndim != 1:
        raise ValueError(
            f"`lrs` and `values` must be 1-D and of equal length, got shapes "
            f"{lrs.shape} and {values.shape}."
        )
    n = min(finite_prefix_length(values), finite_prefix_length(lrs))
    if n < 3:
        raise ValueError(
            f"A suggestion needs at least 3 finite steps, got {n}."
        )
    lrs, values = lrs[:n], values[:n]
    if higher_is_better:
        values = -values
    values = _without_divergence(values, beta)
    lrs = lrs[: len(values)]
    n = len(values)
    smoothed = zero_lag_ema(values, beta)
    slope = derivative(lrs, smoothed, mode)

    lowest = int(np.argmin(smoothed))
    level = float(np.median(smoothed[: max(3, n // 20)]))
    fall = level - smoothed[lowest]
    if fall > 0:
        start = int(np.argmax(smoothed[: lowest + 1] <= level - 0.1 * fall))
        stop = int(np.argmax(smoothed[: lowest + 1] <= smoothed[lowest] + 0.1 * fall))
    else:
        start = stop = 0
    stop = max(stop, start)

    valley_start, valley_end = _longest_decreasing_run(smoothed)
    third = (valley_end - valley_start) / 3
    valley = min(max(valley_start + int(third) + int(third / 2), 0), n - 1)
    falling = slope[start: max(lowest, start + 1) + 1]
    steep = start + int(np.nanargmin(falling)) if np.isfinite(falling).any() else start
    middle = _middle(lrs[start], lrs[stop], mode)

    methods = {
        "valley": float(lrs[valley]),
        "steep": float(lrs[steep]),
        "minimum": float(lrs[lowest] / 10.0),
        "range": float(middle),
    }
    indices = {
        "valley": valley,
        "steep": steep,
        "minimum": int(np.searchsorted(lrs, lrs[lowest] / 10.0)),
        "range": int(np.searchsorted(lrs, middle)),
    }
    return Suggestion(
        lr=methods[method],
        min_lr=float(lrs[start]),
        max_lr=float(lrs[stop]),
        method=method,
        methods=methods,
        index=min(indices[method], n - 1),
    )


def readable_derivative(lrs, values, mode="exponential", beta=0.98, higher_is_better=False):
    """Derivative of the zero-lag smoothed curve over the part `suggest` reads.

    The curve is cut at its first non-finite value and where it diverges,
    and its spikes are capped, as in `suggest`: a two-sided smoother run over
    a blown-up tail (losses in the thousands) would otherwise tilt the whole
    curve. After the cut the derivative is NaN.

    Args:
        lrs: Learning rates, increasing.
        values: The raw curve.
        mode: `"exponential"` (derivative against log(lr)) or `"linear"`.
        beta: Smoothing in [0, 1).
        higher_is_better: Read the curve upside down to find its divergence.

    Returns:
        A float64 array as long as `values`.

    Example:

    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> slope = readable_derivative(lrs, np.r_[np.linspace(2, 1, 40), [5e3] * 10])
    >>> bool(np.all(slope[:30] < 0)), bool(np.isnan(slope[-1]))
    (True, True)
    """
    check_mode(mode)
    lrs = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    n = min(finite_prefix_length(values), finite_prefix_length(lrs))
    if n >= 2:
        sign = -1.0 if higher_is_better else 1.0
        kept = sign * _without_divergence(sign * values[:n], beta)
        out[: len(kept)] = derivative(lrs[: len(kept)], zero_lag_ema(kept, beta), mode)
    return out


def _without_divergence(values, beta):
    """The part of a curve worth reading: before divergence, spikes capped.

    Cuts the curve where its online smoothed value passes the divergence
    threshold (stop factor 4), then caps values at the starting level plus
    the depth of the fall, so that a few huge losses at the end (thousands,
    when the start is 2) cannot drag a smoothed curve, run backwards over
    them, far from the raw one.
    """
    online = ema(values, beta)
    best = np.minimum.accumulate(online)
    over = online > best + 3.0 * np.abs(best)
    if over.any():
        values = values[: max(int(np.argmax(over)) + 1, 3)]
        online = online[: len(values)]
    level = float(np.median(values[: max(3, len(values) // 20)]))
    ceiling = level + abs(level - float(online.min()))
    return np.minimum(values, ceiling)


def _middle(low, high, mode):
    if mode == "exponential" and low > 0:
        return math.sqrt(low * high)
    return (low + high) / 2.0
