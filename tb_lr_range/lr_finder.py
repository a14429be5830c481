"""The `LRFinder` callback: Leslie Smith's learning-rate range test."""

import datetime
import math
import os
import time
import warnings

import keras
import numpy as np

from tb_lr_range import analysis
from tb_lr_range import metadata
from tb_lr_range.analysis import higher_is_better

STOP_REASONS = ("completed", "diverged", "non_finite_loss", "fit_ended")
_ACCURACY_ALIASES = {"acc": "accuracy", "val_acc": "val_accuracy"}


class _Sweep(keras.optimizers.schedules.LearningRateSchedule):
    """The range test's learning rate, computed inside the compiled step.

    Reading the optimizer's own iteration counter means no Python work and no
    variable assignment per step, which would cost more than a small model's
    step itself.
    """

    def __init__(self, min_lr, max_lr, num_steps, mode, first_iteration):
        self.min_lr = float(min_lr)
        self.max_lr = float(max_lr)
        self.num_steps = int(num_steps)
        self.mode = mode
        self.first_iteration = int(first_iteration)

    def __call__(self, step):
        ops = keras.ops
        done = ops.cast(step, "float32") - float(self.first_iteration)
        fraction = ops.clip(done / float(max(self.num_steps - 1, 1)), 0.0, 1.0)
        if self.mode == "exponential":
            return self.min_lr * ops.power(self.max_lr / self.min_lr, fraction)
        return self.min_lr + (self.max_lr - self.min_lr) * fraction

    def get_config(self):
        return {
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "first_iteration": self.first_iteration,
        }


class LRFinder(keras.callbacks.Callback):
    """Learning-rate range test (Smith, 2015 section 3.3; Smith, 2018).

    Trains for a short while as the learning rate grows from `min_lr` to
    `max_lr`, records each batch's own loss and metrics, stops when the loss
    diverges, then puts the model and its optimizer back as they were.
    Read the result with `suggest()`, `plot()` and `plot_lr()`, or in
    TensorBoard's **LR Range** tab when `log_dir` is given.

    Args:
        min_lr: Learning rate of the first step. > 0 in exponential mode.
        max_lr: Learning rate of the last planned step. > `min_lr`.
        steps_per_epoch: Batches per epoch. With `epochs`, plans
            `steps_per_epoch * epochs` steps. When None, taken from what
            `fit` knows.
        epochs: Epochs of the test. When None, `fit`'s `epochs`.
        mode: `"exponential"` (default: even spacing in log(lr)) or
            `"linear"`.
        log_dir: Where to write the summaries for TensorBoard; the test is
            written as one run, `log_dir/run_name`. None writes nothing. A
            local path or a URL: `gs://bucket/path` (through TensorFlow),
            `s3://bucket/path` (through boto3; endpoint from `S3_ENDPOINT` or
            `AWS_ENDPOINT_URL`).
        run_name: Name of the run under `log_dir`; default: the date and time.
        smoothing: Factor of the bias-corrected exponential moving average of
            the loss, in [0, 1).
        stop_factor: Stop when the smoothed loss exceeds the best smoothed
            loss by `stop_factor - 1` times its magnitude (`stop_factor *
            best` for positive losses). > 1, or None to stop only on NaN/inf.
        restore_weights: Put back the model's variables and the optimizer's
            variables (slots, iteration count) after the test. The original
            learning rate (or schedule) is always put back.
        validation_data: Optional `(x, y)` or `(x, y, sample_weight)` arrays.
            Its first `validation_samples` samples are evaluated every
            `validation_every` steps and recorded as `val_loss`.
        validation_every: Steps between validation evaluations, >= 1.
        validation_samples: Size of the fixed validation subset, >= 1.
        method: Default method of `suggest()`; one of
            `tb_lr_range.analysis.METHODS`.
        verbose: 1 prints the stop reason and suggestion at the end.
        on_write_error: What a `log_dir` that cannot be written does.
            `"warn"` (default): warn, train anyway, keep the result in memory
            only. `"raise"`: check that `log_dir` is writable when training
            begins, and raise `tb_lr_range.summary.LogDirError` (an
            `OSError` naming `log_dir`) before any training step if it is
            not. Write errors after training has begun only warn, in either
            mode: `history`, `suggest()` and the plots are never lost.

    Raises:
        ValueError: For an argument outside its accepted values (the message
            names it and them).
        TypeError: For an argument of the wrong type.

    Example:

    ```python
    lr_finder = LRFinder(min_lr=1e-4, max_lr=1e1,
                         steps_per_epoch=len(x_train) // 512, epochs=5)
    model.fit(x_train, y_train, batch_size=512, epochs=5,
              callbacks=[lr_finder])
    lr_finder.suggest().lr
    lr_finder.plot(monitor="loss")
    ```
    """

    def __init__(self, min_lr=1e-7, max_lr=10.0, steps_per_epoch=None,
                 epochs=None, mode="exponential", log_dir=None, run_name=None,
                 smoothing=0.98, stop_factor=4.0, restore_weights=True,
                 validation_data=None, validation_every=10,
                 validation_samples=256, method=analysis.DEFAULT_METHOD,
                 verbose=0, on_write_error="warn"):
        super().__init__()
        if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes"):
            raise RuntimeError(
                "LRFinder supports Keras 3 (`import keras`); TF_USE_LEGACY_KERAS is set, so "
                "`tf.keras` is the legacy tf_keras, whose models LRFinder cannot drive. "
                "Unset TF_USE_LEGACY_KERAS and use Keras 3."
            )
        analysis.check_mode(mode)
        self.min_lr = _finite_number("min_lr", min_lr)
        self.max_lr = _finite_number("max_lr", max_lr)
        if mode == "exponential" and self.min_lr <= 0:
            raise ValueError(
                f"`min_lr` must be > 0 in exponential mode, got {min_lr!r}."
            )
        if self.min_lr < 0:
            raise ValueError(f"`min_lr` must be >= 0, got {min_lr!r}.")
        if self.min_lr >= self.max_lr:
            raise ValueError(
                f"`min_lr` must be < `max_lr`, got min_lr={min_lr!r}, "
                f"max_lr={max_lr!r}."
            )
        self.steps_per_epoch = _optional_positive_int("steps_per_epoch", steps_per_epoch)
        self.epochs = _optional_positive_int("epochs", epochs)
        self.mode = mode
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"`log_dir` must be a path string or None, got {log_dir!r}.")
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        if run_name is not None and (not isinstance(run_name, str) or not run_name.strip()
                                     or run_name in (".", "..")):
            raise ValueError(f"`run_name` must be a non-empty name or None, got {run_name!r}.")
        self.run_name = run_name
        self.smoothing = _finite_number("smoothing", smoothing)
        if not 0 <= self.smoothing < 1:
            raise ValueError(f"`smoothing` must be in [0, 1), got {smoothing!r}.")
        if stop_factor is not None:
            stop_factor = _finite_number("stop_factor", stop_factor)
            if stop_factor <= 1:
                raise ValueError(
                    f"`stop_factor` must be > 1 or None (never stop early), got {stop_factor!r}."
                )
        self.stop_factor = stop_factor
        if not isinstance(restore_weights, bool):
            raise TypeError(f"`restore_weights` must be True or False, got {restore_weights!r}.")
        self.restore_weights = restore_weights
        self.validation_data = _validation_subset(
            validation_data, _optional_positive_int("validation_samples", validation_samples))
        self.validation_every = _optional_positive_int("validation_every", validation_every)
        self.validation_samples = validation_samples
        if method not in analysis.METHODS:
            raise ValueError(f"`method` must be one of {analysis.METHODS}, got {method!r}.")
        self.method = method
        if verbose not in (0, 1, False, True):
            raise ValueError(f"`verbose` must be 0 or 1, got {verbose!r}.")
        self.verbose = int(verbose)
        if on_write_error not in ("warn", "raise"):
            raise ValueError(
                f"`on_write_error` must be 'warn' or 'raise', got {on_write_error!r}.")
        self.on_write_error = on_write_error
        self.history = {}
        self.stop_reason = None
        self.run_dir = None
        self.num_steps = None
        self._reset_state()

    # ---------------------------------------------------------------- fit hooks

    def on_train_begin(self, logs=None):
        model = self.model
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"LRFinder supports Keras 3 models (`keras.Model`), got {type(model).__name__}."
            )
        if getattr(model, "optimizer", None) is None or getattr(model, "compiled", True) is False:
            raise ValueError(
                "LRFinder needs a compiled model: call `model.compile(optimizer=..., "
                "loss=...)` before `model.fit(..., callbacks=[lr_finder])`."
            )
        if int(getattr(model, "steps_per_execution", 1) or 1) != 1:
            raise ValueError(
                "LRFinder changes the learning rate and records the loss at every "
                "step, so it needs `model.compile(steps_per_execution=1)`, got "
                f"steps_per_execution={model.steps_per_execution}."
            )
        self._reset_state()
        self.num_steps = self._planned_steps()
        optimizer = _inner_optimizer(model.optimizer)
        if not hasattr(optimizer, "_learning_rate"):
            raise TypeError(
                f"LRFinder supports Keras 3 optimizers; got {type(model.optimizer).__name__}."
            )
        if not model.optimizer.built:
            # Built now rather than in the first step, so that restoring puts
            # the slots back to their initial values too.
            model.optimizer.build(model.trainable_variables)
        if self.restore_weights:
            self._saved_model = [keras.ops.convert_to_numpy(v) for v in model.variables]
            self._saved_optimizer = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
        self._saved_learning_rate = optimizer._learning_rate
        optimizer._learning_rate = _Sweep(
            self.min_lr, self.max_lr, self.num_steps, self.mode,
            first_iteration=int(keras.ops.convert_to_numpy(optimizer.iterations)))
        model.make_train_function(force=True)
        if self._is_chief():
            self._open_writer()

    def on_epoch_begin(self, epoch, logs=None):
        self._previous_means = {}
        self._previous_counts = {}

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = self._step
        values = self._batch_values(batch, logs)
        loss = values.get("loss", math.nan)
        reason = self._tracker.update(loss)
        lr = analysis.learning_rate_at(step, self.min_lr, self.max_lr, self.num_steps, self.mode)
        row = {"lr": lr, "loss": loss, "smoothed_loss": self._tracker.smoothed}
        for name, value in values.items():
            if name != "loss":
                row[name] = value
        if self.validation_data is not None and (
                step % self.validation_every == 0 or reason is not None
                or step + 1 >= self.num_steps):
            row["val_loss"] = self._validation_loss()
        self._append(row)
        self._write(step, row)
        self._step += 1
        if reason is None and self._step >= self.num_steps:
            reason = "completed"
        if reason is not None:
            self.stop_reason = reason
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._step == 0 and self._saved_learning_rate is None:
            return
        if self.stop_reason is None:
            self.stop_reason = "fit_ended"
            if self._step < (self.num_steps or 0):
                warnings.warn(
                    f"`fit` ended after {self._step} of the {self.num_steps} planned "
                    f"range-test steps, at lr={self.history['lr'][-1] if self._step else self.min_lr:.3g}; "
                    "the result covers only the learning rates reached. Give `fit` "
                    "more epochs or pass `steps_per_epoch`/`epochs` that match it.",
                    stacklevel=2)
        self._restore()
        suggestion = self._safe_suggestion()
        self._close_writer(suggestion)
        if self.verbose:
            lr_text = "none" if suggestion is None else (
                f"lr={suggestion.lr:.3g}, range [{suggestion.min_lr:.3g}, {suggestion.max_lr:.3g}]")
            print(f"LRFinder: {self._step} steps, stopped: {self.stop_reason}; suggestion: {lr_text}")

    # ------------------------------------------------------------ public API

    def suggest(self, monitor="loss", method=None):
        """Suggests a learning rate, and a range for cyclical schedules.

        Args:
            monitor: The recorded series to read: `"loss"` (default),
                `"val_loss"`, or a metric (`"acc"` is accepted for
                `"accuracy"`; metrics where higher is better are read that way).
            method: One of `tb_lr_range.analysis.METHODS`; default: the
                `method` given to the constructor.

        Returns:
            A `tb_lr_range.Suggestion` with `lr`, `min_lr`, `max_lr`,
            `method`, `methods` (every method's value) and `index`.

        Raises:
            RuntimeError: Before the test has recorded any step.
            ValueError: For a series that was not recorded (the message lists
                those that were), an unknown method, or fewer than 3 usable
                steps.
        """
        method = self.method if method is None else method
        lrs, values = self.series(monitor)
        mask = np.isfinite(values)
        if monitor.startswith("val_"):
            lrs, values = lrs[mask], values[mask]
        return analysis.suggest(lrs, values, mode=self.mode, beta=self.smoothing,
                                method=method,
                                higher_is_better=higher_is_better(monitor))

    def series(self, monitor):
        """The learning rates and raw values of one recorded series.

        Args:
            monitor: A name in `history` (`"acc"` means `"accuracy"`).

        Returns:
            `(lrs, values)`, two float64 arrays.

        Raises:
            RuntimeError: Before any step was recorded.
            ValueError: For a name that was not recorded.
        """
        if not self.history.get("lr"):
            raise RuntimeError(
                "The range test has not recorded any step yet: pass the LRFinder to "
                "`model.fit(..., callbacks=[lr_finder])` first."
            )
        name = self.resolve_monitor(monitor)
        return (np.asarray(self.history["lr"], dtype=np.float64),
                np.asarray(self.history[name], dtype=np.float64))

    def resolve_monitor(self, monitor):
        """Maps a monitor name to its key in `history`, or raises ValueError."""
        recorded = [k for k in self.history if k not in ("lr", "smoothed_loss")]
        candidates = [monitor, _ACCURACY_ALIASES.get(monitor, monitor)]
        for name in candidates:
            if name in recorded:
                return name
        raise ValueError(
            f"`monitor` must be one of the recorded series {recorded}, got {monitor!r}."
        )

    def plot_lr(self, ax=None, show=False):
        """Plots the learning rate and the loss against the iteration.

        Args:
            ax: Optional sequence of two matplotlib Axes to draw into.
            show: Whether to call `matplotlib.pyplot.show()`.

        Returns:
            The matplotlib Figure.
        """
        from tb_lr_range import plotting

        self.series("loss")
        return plotting.plot_lr(self.history, mode=self.mode, ax=ax, show=show)

    def plot(self, monitor="loss", ax=None, show=False, method=None):
        """Plots a series against the learning rate, with its derivative.

        Log x axis in exponential mode; raw values faint, smoothed solid; the
        derivative on a second axis; the suggestion and range marked.

        Args:
            monitor: `"loss"`, `"val_loss"` or a recorded metric (`"acc"`).
            ax: Optional matplotlib Axes to draw into.
            show: Whether to call `matplotlib.pyplot.show()`.
            method: Suggestion method to mark; default the constructor's.

        Returns:
            The matplotlib Figure.

        Raises:
            ImportError: When matplotlib is missing (install
                `tb-lr-range[plots]`).
            ValueError: For a series that was not recorded.
        """
        from tb_lr_range import plotting

        lrs, values = self.series(monitor)
        name = self.resolve_monitor(monitor)
        try:
            suggestion = self.suggest(name, method)
        except ValueError:
            suggestion = None
        return plotting.plot_curve(lrs, values, name, mode=self.mode, beta=self.smoothing,
                                   suggestion=suggestion, ax=ax, show=show,
                                   higher_is_better=higher_is_better(name))

    # -------------------------------------------------------------- internals

    def _reset_state(self):
        self.history = {}
        self.stop_reason = None
        self._step = 0
        self._tracker = analysis.LossTracker(self.smoothing, self.stop_factor)
        self._previous_means = {}
        self._previous_counts = {}
        self._unit_counts = {}
        self._exact_counts = False
        self._mean_metrics = None
        self._weighted_names = set()
        self._saved_model = None
        self._saved_optimizer = None
        self._saved_learning_rate = None
        self._writer = None
        self._last_flush = time.monotonic()

    def _is_chief(self):
        """Whether this process writes summaries: one run per test, by the chief."""
        strategy = getattr(self.model, "distribute_strategy", None)
        extended = getattr(strategy, "extended", None)
        return getattr(extended, "should_checkpoint", True)

    def _planned_steps(self):
        steps = self.steps_per_epoch or self.params.get("steps")
        epochs = self.epochs or self.params.get("epochs") or 1
        if not steps:
            raise ValueError(
                "LRFinder cannot tell how many steps the test has: `fit` was given data "
                "of unknown length. Pass `steps_per_epoch` to LRFinder (and to `fit`)."
            )
        return int(steps) * int(epochs)

    def _find_mean_metrics(self):
        """Maps each logged name to its Keras `Mean` metric (total / count).

        Also notes the compiled `weighted_metrics`: with sample weights, each
        batch adds its own sum of weights to their count, so their counts are
        read after every batch.
        """
        found = {}
        self._weighted_names = set()
        stack = list(self.model.metrics)
        while stack:
            metric = stack.pop()
            if isinstance(metric, keras.metrics.Mean):
                found.setdefault(metric.name, metric)
            stack.extend(getattr(metric, "metrics", None) or [])
            self._weighted_names.update(_metric_names(
                getattr(metric, "_flat_weighted_metrics", None) or []))
        return found

    def _sync_model_state(self):
        """Puts the JAX backend's functional training state back into variables."""
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def _count(self, name):
        self._sync_model_state()
        return float(keras.ops.convert_to_numpy(self._mean_metrics[name].count))

    def _batch_values(self, batch, logs):
        """Each logged value of this batch alone, recovered from running means.

        Keras logs `total / count` over the epoch so far. Batches add equal
        weight except, often, the last one of an epoch, so counts are read
        only after the first two and the last two batches of an epoch; when they
        are not what equal weights predict (sample weights, uneven batches),
        counts are read after every batch from then on.
        """
        if self._mean_metrics is None:
            self._mean_metrics = self._find_mean_metrics()
        steps = self.params.get("steps")
        near_end = steps is not None and batch >= steps - 2
        values = {}
        for name, mean in logs.items():
            if name.startswith("val_") or not isinstance(mean, (int, float)):
                continue
            if name not in self._mean_metrics:
                values[name] = float(mean)
                continue
            if batch == 0 or name in self._weighted_names:
                count = self._count(name)
                if batch == 0:
                    self._unit_counts[name] = count
            elif self._exact_counts or near_end or steps is None or batch == 1:
                count = self._count(name)
                expected = (batch + 1) * self._unit_counts.get(name, 0.0)
                if not self._exact_counts and batch < (steps or 0) - 1 and count != expected:
                    self._exact_counts = True
                    warnings.warn(
                        "Batches of unequal weight: LRFinder now reads metric counts "
                        "after every batch, which costs a little more per step.",
                        stacklevel=2)
            else:
                count = (batch + 1) * self._unit_counts[name]
            values[name] = analysis.batch_value(
                self._previous_means.get(name, 0.0), self._previous_counts.get(name, 0.0),
                float(mean), count)
            self._previous_means[name] = float(mean)
            self._previous_counts[name] = count
        return values

    def _append(self, row):
        length = self._step
        for name, value in row.items():
            column = self.history.get(name)
            if column is None:
                column = self.history[name] = [math.nan] * length
            column.append(value)
        for name, column in self.history.items():
            if len(column) == length:
                column.append(math.nan)

    def _validation_loss(self):
        x, y, sample_weight = self.validation_data
        self._sync_model_state()
        try:
            y_pred = self.model(x, training=False)
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred,
                                           sample_weight=sample_weight, training=False)
            return float(keras.ops.convert_to_numpy(loss))
        except Exception as error:  # an odd model must not end the test
            warnings.warn(f"LRFinder could not evaluate `validation_data`: {error}", stacklevel=2)
            self.validation_data = None
            return math.nan

    def _restore(self):
        model = self.model
        optimizer = _inner_optimizer(model.optimizer)
        optimizer._learning_rate = self._saved_learning_rate
        if self.restore_weights and self._saved_model is not None:
            for variable, value in zip(model.variables, self._saved_model):
                variable.assign(value)
            for variable, value in zip(model.optimizer.variables, self._saved_optimizer):
                variable.assign(value)
        self._saved_model = self._saved_optimizer = None
        model.make_train_function(force=True)

    def _safe_suggestion(self):
        try:
            return self.suggest()
        except (ValueError, RuntimeError) as error:
            warnings.warn(f"LRFinder has no suggestion: {error}", stacklevel=2)
            return None

    # --------------------------------------------------------------- logging

    def config(self):
        """The test's configuration, as stored with its TensorBoard run."""
        return {
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "mode": self.mode,
            "planned_steps": self.num_steps,
            "smoothing": self.smoothing,
            "stop_factor": self.stop_factor,
            "method": self.method,
            "optimizer": type(self.model.optimizer).__name__ if self.model else None,
        }

    def _open_writer(self):
        if self.log_dir is None:
            return
        from tb_lr_range import summary

        self.run_dir = os.path.join(self.log_dir, self.run_name or self._new_run_name())
        try:
            # Writes the event file's header: the check that log_dir is writable.
            self._writer = summary.RangeTestWriter(self.run_dir, self.config())
        except Exception as error:
            self._writer = None
            if self.on_write_error == "raise":
                self._restore()  # no step has run: only the learning rate to put back
                raise summary.LogDirError(
                    f"LRFinder cannot write to log_dir={self.log_dir!r} (run "
                    f"{self.run_dir!r}): {error}. No training step was run. Fix log_dir "
                    "or pass on_write_error='warn' to train anyway and keep the "
                    "result in memory only.") from error
            warnings.warn(f"LRFinder cannot write to log_dir={self.log_dir!r}: {error}. "
                          "The test goes on; its result stays in memory.", stacklevel=2)

    def _new_run_name(self):
        """The date and time, with a suffix when a local run of that name exists.

        Two tests started in the same second (a loop over optimizers, say)
        must not write into one run. Remote directories are not listed.
        """
        name = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        if "://" in self.log_dir:
            return name
        candidate, suffix = name, 1
        while os.path.exists(os.path.join(self.log_dir, candidate)):
            candidate, suffix = f"{name}-{suffix}", suffix + 1
        return candidate

    def _write(self, step, row):
        if self._writer is None:
            return
        tags = {}
        for name, value in row.items():
            if name == "smoothed_loss":
                continue
            if name == "lr":
                tags[metadata.LR_TAG] = value
            elif not (name.startswith("val_") and math.isnan(value)):
                tags[metadata.metric_tag(name)] = value
        self._writer.add(step, tags)
        now = time.monotonic()
        if now - self._last_flush > 2.0:
            self._last_flush = now
            self._guard(self._writer.flush)

    def _close_writer(self, suggestion):
        if self._writer is None:
            return
        result = {
            "stop_reason": self.stop_reason,
            "steps": self._step,
            "suggestion": None if suggestion is None else suggestion.to_dict(),
        }
        lr = math.nan if suggestion is None else suggestion.lr
        self._guard(lambda: self._writer.close(result, suggested_lr=lr,
                                               step=max(self._step - 1, 0)))
        self._writer = None

    def _guard(self, write):
        try:
            write()
        except Exception as error:
            warnings.warn(f"LRFinder stopped writing to {self.run_dir!r} (log_dir="
                          f"{self.log_dir!r}): {error}. The result stays in memory.",
                          stacklevel=2)
            self._writer = None


def _metric_names(metrics):
    """Names of the metrics in a (nested) list of metrics and metric lists."""
    names, stack = set(), list(metrics)
    while stack:
        metric = stack.pop()
        if metric is None:
            continue
        names.add(metric.name)
        stack.extend(getattr(metric, "metrics", None) or [])
    return names


def _inner_optimizer(optimizer):
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def _finite_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    return float(value)


def _optional_positive_int(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer() and value >= 1:
            return int(value)
        raise TypeError(f"`{name}` must be a positive integer or None, got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer or None, got {value!r}.")
    return int(value)


def _validation_subset(data, size):
    if data is None:
        return None
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError(
            "`validation_data` must be `(x, y)` or `(x, y, sample_weight)` arrays, "
            f"got {type(data).__name__}."
        )
    x, y = data[0], data[1]
    weight = data[2] if len(data) == 3 else None
    take = lambda part: None if part is None else keras.tree.map_structure(  # noqa: E731
        lambda a: np.asarray(a)[:size], part)
    return take(x), take(y), take(weight)
