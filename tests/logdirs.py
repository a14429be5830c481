"""Writers of real range-test logdirs, shared by the tests.

`train_range_test` runs a real `LRFinder` on a tiny Keras model;
`write_synthetic` writes a run of any length straight through
`tb_lr_range.summary.RangeTestWriter`, finished or still running.
"""

import os

import numpy as np

from tb_lr_range import analysis


def load_digits():
    """scikit-learn's bundled digits, scaled to [0, 1].

    Returns:
        `(x, y)`: float32 inputs of shape `(1797, 64)`, int32 labels.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    x, y = sklearn_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


def train_range_test(log_dir, run_name, x, y, *, steps=40, batch_size=32, min_lr=1e-4,
                     max_lr=10.0, mode="exponential", optimizer="adam", validation=False,
                     seed=0, **finder_kwargs):
    """Runs `LRFinder` on a small Dense classifier, writing `log_dir/run_name`.

    Args:
        log_dir: The logdir.
        run_name: The run's name.
        x, y: Training data (e.g. `load_digits()`).
        steps: Planned steps of the test.
        batch_size: Batch size.
        min_lr, max_lr, mode: The sweep.
        optimizer: A Keras optimizer name.
        validation: Also record `val_loss` and `val_accuracy` every 5 steps.
        seed: Keras random seed.
        **finder_kwargs: More `LRFinder` arguments.

    Returns:
        The `LRFinder`, after `fit`.
    """
    import keras

    from tb_lr_range import LRFinder

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if validation:
        finder_kwargs.update(validation_data=(x[-256:], y[-256:]), validation_every=5,
                             validation_samples=256)
    finder = LRFinder(min_lr=min_lr, max_lr=max_lr, steps_per_epoch=steps, epochs=1, mode=mode,
                      log_dir=log_dir, run_name=run_name, **finder_kwargs)
    n = steps * batch_size
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, callbacks=[finder], verbose=0)
    return finder


def synthetic_curve(steps, mode="exponential", min_lr=1e-5, max_lr=10.0, nan_at=None, seed=0):
    """A range-test-shaped loss: falls, flattens, then explodes.

    Args:
        steps: Number of steps.
        mode, min_lr, max_lr: The sweep.
        nan_at: Step from which the loss is NaN (None: never).
        seed: Seed of the noise.

    Returns:
        `(lrs, loss, accuracy)` float64 arrays.
    """
    lrs = np.asarray(analysis.learning_rates(min_lr, max_lr, steps, mode))
    noise = np.random.default_rng(seed).normal(0, 0.02, steps)
    loss = 2.0 / (1 + 100 * lrs) + 0.2 + np.where(lrs > 0.5, 3 * (lrs - 0.5), 0) + noise
    accuracy = np.clip(1.0 - loss / 2.5, 0, 1)
    if nan_at is not None:
        loss[nan_at:] = np.nan
    return lrs, loss, accuracy


def write_synthetic(log_dir, run_name, steps, *, mode="exponential", min_lr=1e-5, max_lr=10.0,
                    nan_at=None, finished=True, accuracy=True, val_every=None, seed=0):
    """Writes a synthetic range test with `RangeTestWriter`, without Keras.

    Args:
        log_dir: The logdir.
        run_name: The run's name.
        steps: Number of steps written.
        mode, min_lr, max_lr: The sweep.
        nan_at: Step from which the loss is NaN; writing stops after it.
        finished: Write the `result` tag and close the file. When False the
            steps are flushed and the file is left open, as in a test that
            is still running.
        accuracy: Also record `metric/accuracy`.
        val_every: Record `val_loss` every this many steps (None: never).
        seed: Seed of the noise.

    Returns:
        The `RangeTestWriter` (still open when `finished` is False).
    """
    from tb_lr_range import summary

    lrs, loss, acc = synthetic_curve(steps, mode, min_lr, max_lr, nan_at, seed)
    last = steps if nan_at is None else min(steps, nan_at + 1)
    config = {"min_lr": min_lr, "max_lr": max_lr, "mode": mode, "planned_steps": steps,
              "smoothing": 0.98, "stop_factor": 4.0, "method": "valley", "optimizer": "SGD"}
    writer = summary.RangeTestWriter(os.path.join(log_dir, run_name), config)
    for step in range(last):
        values = {"lr": float(lrs[step]), "loss": float(loss[step])}
        if accuracy:
            values["metric/accuracy"] = float(acc[step])
        if val_every and step % val_every == 0:
            values["val_loss"] = float(loss[step] + 0.05)
        writer.add(step, values, wall_time=1.0e9 + step)
    if not finished:
        writer.flush()
        return writer
    reason = "non_finite_loss" if nan_at is not None else "completed"
    try:
        suggestion = analysis.suggest(lrs[:last], loss[:last], mode).to_dict()
    except ValueError:
        suggestion = None
    writer.close({"stop_reason": reason, "steps": last, "suggestion": suggestion},
                 suggested_lr=suggestion["lr"] if suggestion else float("nan"),
                 step=max(last - 1, 0))
    return writer
