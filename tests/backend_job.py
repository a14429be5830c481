"""Range-test checks run in a fresh process, for another Keras backend.

    KERAS_BACKEND=jax python tests/backend_job.py OUT_JSON

The backend is chosen when Keras is first imported, hence a process. Writes
the measured values to OUT_JSON; tests/test_backends.py checks them.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402

from tb_lr_range import LRFinder  # noqa: E402


def classifier():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class BatchProbe(keras.callbacks.Callback):
    """Each batch's loss, evaluated independently before the batch trains."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size, self.losses = x, y, batch_size, []

    def on_train_batch_begin(self, batch, logs=None):
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        start = batch * self.batch_size
        pred = self.model(self.x[start:start + self.batch_size], training=True)
        loss = keras.losses.sparse_categorical_crossentropy(
            self.y[start:start + self.batch_size], pred)
        self.losses.append(float(keras.ops.convert_to_numpy(keras.ops.mean(loss))))


def main(out_path):
    x, y = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype("float32")[:1000], y[:1000]

    model = classifier()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)

    def snapshot():
        return [keras.ops.convert_to_numpy(v) for v in model.variables + model.optimizer.variables]

    before = snapshot()
    probe = BatchProbe(x, y, 32)
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, epochs=2, stop_factor=None,
                      validation_data=(x[:100], y[:100]))
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, callbacks=[probe, finder], verbose=0)
    after = snapshot()

    xr, yr = load_diabetes(return_X_y=True)
    xr = ((xr - xr.mean(0)) / xr.std(0)).astype("float32")
    yr = ((yr - yr.mean()) / yr.std()).astype("float32")[:, None]
    design = np.hstack([xr, np.ones((len(xr), 1))]).astype(np.float64)
    critical = 2.0 / np.linalg.eigvalsh(2.0 / len(xr) * design.T @ design).max()
    keras.utils.set_random_seed(0)
    linear = keras.Sequential([keras.Input((xr.shape[1],)), keras.layers.Dense(1)])
    linear.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    sweep = LRFinder(min_lr=critical / 1e3, max_lr=critical * 1e2, epochs=400, smoothing=0.9)
    linear.fit(xr, yr, batch_size=len(xr), epochs=400, shuffle=False, callbacks=[sweep],
               verbose=0)

    with open(out_path, "w") as out:
        json.dump({
            "backend": keras.backend.backend(),
            "restored": len(before) == len(after) and all(
                np.array_equal(a, b) for a, b in zip(before, after)),
            "recorded_loss": finder.history["loss"],
            "probe_loss": probe.losses,
            "val_loss": [v for v in finder.history["val_loss"] if v == v],
            "lr_after": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "critical_lr": critical,
            "stopped_at_lr": sweep.history["lr"][-1],
            "stop_reason": sweep.stop_reason,
            "suggested_lr": sweep.suggest().lr,
            "suggested_max_lr": sweep.suggest().max_lr,
        }, out)


if __name__ == "__main__":
    main(sys.argv[1])
