"""A range test under MirroredStrategy on two logical CPUs, as its own process.

    python tests/distributed_job.py mirrored OUT_JSON LOG_DIR

Writes what the test needs to compare (history, stop reason, suggestion,
whether every variable was restored, whether replicas agree) to OUT_JSON.
Logical devices must be configured before TensorFlow starts, hence a process.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(kind, out_path, log_dir):
    if kind != "mirrored":
        raise SystemExit(f"unknown kind {kind!r}; only 'mirrored' is supported")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    import keras
    from sklearn.datasets import load_digits

    from tb_lr_range import LRFinder

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.SGD(1e-2, momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)

    def snapshot():
        return [keras.ops.convert_to_numpy(v) for v in model.variables + model.optimizer.variables]

    model.fit(data, epochs=1, verbose=0)
    before = snapshot()
    # max_lr far past divergence: the test must stop early.
    finder = LRFinder(min_lr=1e-4, max_lr=1e3, epochs=4, log_dir=log_dir, run_name="distributed")
    model.fit(data, epochs=4, callbacks=[finder], verbose=0)
    after = snapshot()
    restored = len(before) == len(after) and all(
        np.array_equal(a, b) for a, b in zip(before, after))

    # With restore_weights=False the replicas keep the trained weights: they
    # agree only if every replica used the same learning rate at every step.
    probe = LRFinder(min_lr=1e-4, max_lr=1e-1, epochs=1, restore_weights=False)
    model.fit(data, epochs=1, callbacks=[probe], verbose=0)
    replicas_agree = True
    for variable in model.trainable_variables:
        values = [np.asarray(v) for v in strategy.experimental_local_results(variable.value)]
        replicas_agree &= all(np.array_equal(values[0], v) for v in values[1:])

    with open(out_path, "w") as out:
        json.dump({
            "replicas": strategy.num_replicas_in_sync,
            "history": {k: [float(v) for v in vs] for k, vs in finder.history.items()},
            "stop_reason": finder.stop_reason,
            "suggestion": finder.suggest().to_dict(),
            "restored": bool(restored),
            "replicas_agree": bool(replicas_agree),
            "probe_lr": probe.history["lr"],
            "run_dir": finder.run_dir,
        }, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
