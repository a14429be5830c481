"""Range test on scikit-learn's digits, written for TensorBoard's LR Range tab.

Runs two learning-rate range tests (Adam and SGD with momentum) on the
digits dataset that ships with scikit-learn, prints what each suggests,
saves matplotlib plots next to the logs, and prints the command that opens
them in TensorBoard.

    python examples/digits_range_test.py [--logdir logs/lr_range] [--epochs 5]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from tb_lr_range import LRFinder  # noqa: E402


def build_model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="logs/lr_range")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, y_train, x_val, y_val = x[:1500], y[:1500], x[1500:], y[1500:]
    steps_per_epoch = -(-len(x_train) // args.batch_size)

    for name, optimizer in [("adam", keras.optimizers.Adam()),
                            ("sgd_momentum", keras.optimizers.SGD(momentum=0.9))]:
        model = build_model(optimizer)
        lr_finder = LRFinder(min_lr=1e-6, max_lr=10.0, steps_per_epoch=steps_per_epoch,
                             epochs=args.epochs, log_dir=args.logdir, run_name=name,
                             validation_data=(x_val, y_val))
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                  callbacks=[lr_finder], verbose=0)
        s = lr_finder.suggest()
        print(f"{name:>13}: {len(lr_finder.history['lr'])} steps, stopped: "
              f"{lr_finder.stop_reason}; suggested lr {s.lr:.2e} ({s.method}), "
              f"range {s.min_lr:.2e} .. {s.max_lr:.2e}")
        try:
            lr_finder.plot(monitor="loss").savefig(os.path.join(lr_finder.run_dir, "loss_vs_lr.png"))
            lr_finder.plot_lr().savefig(os.path.join(lr_finder.run_dir, "lr_and_loss.png"))
        except ImportError as error:
            print(f"(no plots: {error})")

    print(f"\nView it: tensorboard --logdir {args.logdir}  then open http://localhost:6006/#lr_range")


if __name__ == "__main__":
    main()
