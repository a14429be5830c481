"""How much `LRFinder` slows down `model.fit`, compared with a bare `fit`.

Compares the wall time of the `model.fit` call, on a small MLP (20 synthetic
features, Dense 64-64, batch 32, about 1 ms per step on 2 cores), for:

* ``bare``: no callback;
* ``sync_floor``: a callback that only reads ``logs["loss"]`` after each batch,
  the floor of any per-batch callback;
* ``lrfinder_logdir``: ``LRFinder(log_dir=<tmpdir>, stop_factor=None)``, the
  range test writing its TensorBoard run;
* ``keras_tensorboard``: ``keras.callbacks.TensorBoard(update_freq=1)``, Keras's
  own per-batch scalar logging, for reference;
* ``lrfinder_memory``: ``LRFinder(stop_factor=None)`` without ``log_dir``.

Every variant fits the same data, for the same number of steps, on a model
built and compiled the same way (same seed), whose optimizer is built before
`fit`. (Left unbuilt, a fresh model's optimizer creates its variables inside
the first trace of the train step, which costs a second trace, about 0.2 s
here; `LRFinder` builds the optimizer in `on_train_begin`, so on fresh models
it would look faster than a bare fit by that much.) The sweep's ``max_lr`` is small
enough that the loss never becomes NaN, and ``stop_factor=None``, so the range
test runs every planned step. Variants alternate within each round (the machine
is shared and noisy); the script prints each variant's median time, per-step
time and ratio to the bare fit (median of the per-round ratios too, which is
less sensitive to slow drifts in the machine's load).

Two ways to hold the model, chosen with ``--model``:

* ``warm`` (default): one model per variant, traced by an untimed fit before the
  rounds; each timed fit reuses it. ``LRFinder`` swaps the optimizer's learning
  rate for its schedule and rebuilds the train function, so each of its fits
  traces the step again: that fixed cost is counted against it.
* ``fresh``: a new model is built and compiled before every timed fit, so every
  variant's timed fit includes its first trace, as when a range test is run on
  a newly built model.
* ``both``: the two, one after the other.

Run (about 3-4 minutes with the defaults on 2 cores; twice that with
``--model both``):

    TF_CPP_MIN_LOG_LEVEL=3 python bench/callback_overhead.py
    TF_CPP_MIN_LOG_LEVEL=3 python bench/callback_overhead.py --rounds 7 \
        --steps-per-epoch 1000 --epochs 3 --model both
"""

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_lr_range import LRFinder  # noqa: E402

VARIANTS = ("bare", "sync_floor", "lrfinder_logdir", "keras_tensorboard", "lrfinder_memory")
FEATURES = 20
BATCH_SIZE = 32


def make_data(steps_per_epoch, seed=0):
    """Synthetic regression data: exactly `steps_per_epoch` full batches."""
    rng = np.random.default_rng(seed)
    n = steps_per_epoch * BATCH_SIZE
    x = rng.standard_normal((n, FEATURES)).astype("float32")
    w = rng.standard_normal((FEATURES, 1)).astype("float32")
    y = (np.tanh(x @ w) + 0.1 * rng.standard_normal((n, 1))).astype("float32")
    return x, y


def make_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


class ReadLoss(keras.callbacks.Callback):
    """The floor of any per-batch callback: reads the loss, does nothing else."""

    def on_train_batch_end(self, batch, logs=None):
        self.last = logs["loss"]


def make_callbacks(variant, args, tmp_root):
    if variant == "bare":
        return []
    if variant == "sync_floor":
        return [ReadLoss()]
    if variant in ("lrfinder_logdir", "lrfinder_memory"):
        log_dir = tempfile.mkdtemp(dir=tmp_root) if variant == "lrfinder_logdir" else None
        return [LRFinder(min_lr=args.min_lr, max_lr=args.max_lr,
                         steps_per_epoch=args.steps_per_epoch, epochs=args.epochs,
                         log_dir=log_dir, stop_factor=None)]
    if variant == "keras_tensorboard":
        return [keras.callbacks.TensorBoard(log_dir=tempfile.mkdtemp(dir=tmp_root),
                                            update_freq=1)]
    raise ValueError(variant)


def timed_fit(model, data, callbacks, args):
    x, y = data
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=args.epochs, shuffle=False,
              verbose=0, callbacks=callbacks)
    elapsed = time.perf_counter() - start
    for callback in callbacks:
        if isinstance(callback, LRFinder):
            steps = len(callback.history["lr"])
            expected = args.steps_per_epoch * args.epochs
            if steps != expected or callback.stop_reason != "completed":
                raise RuntimeError(
                    f"LRFinder ran {steps} of {expected} steps ({callback.stop_reason}); "
                    "lower --max-lr so that the loss stays finite.")
            if not np.all(np.isfinite(callback.history["loss"])):
                raise RuntimeError("non-finite loss in the sweep; lower --max-lr.")
    return elapsed


def run_mode(mode, args, data, tmp_root):
    times = {v: [] for v in VARIANTS}
    models = {}
    if mode == "warm":
        for variant in VARIANTS:
            models[variant] = make_model(args.seed)
            # Untimed warm-up: traces the train step (and, for the callbacks,
            # imports and first-use costs).
            timed_fit(models[variant], data, make_callbacks(variant, args, tmp_root), args)
    else:
        model = make_model(args.seed)
        timed_fit(model, data, [], args)  # warm-up of TensorFlow itself
        for variant in VARIANTS[1:]:
            timed_fit(make_model(args.seed), data, make_callbacks(variant, args, tmp_root), args)
    for round_index in range(args.rounds):
        # Rotate the order each round so that no variant always runs first.
        order = VARIANTS[round_index % len(VARIANTS):] + VARIANTS[:round_index % len(VARIANTS)]
        for variant in order:
            model = models[variant] if mode == "warm" else make_model(args.seed)
            callbacks = make_callbacks(variant, args, tmp_root)
            times[variant].append(timed_fit(model, data, callbacks, args))
        print(f"  [{mode}] round {round_index + 1}/{args.rounds}: "
              + ", ".join(f"{v}={times[v][-1]:.2f}s" for v in VARIANTS), flush=True)
    return times


def report(mode, times, args):
    steps = args.steps_per_epoch * args.epochs
    bare = statistics.median(times["bare"])
    print(f"\n### model={mode}: {args.rounds} rounds, {steps} steps per fit "
          f"({args.epochs} epochs x {args.steps_per_epoch}), batch {BATCH_SIZE}\n")
    print("| variant | median fit (s) | ms / step | median / bare median | median of per-round ratios |")
    print("|---|---:|---:|---:|---:|")
    for variant in VARIANTS:
        median = statistics.median(times[variant])
        ratios = [t / b for t, b in zip(times[variant], times["bare"])]
        print(f"| {variant} | {median:.3f} | {1000 * median / steps:.3f} | "
              f"{median / bare:.3f} | {statistics.median(ratios):.3f} |")
    ours = statistics.median(times["lrfinder_logdir"])
    keras_tb = statistics.median(times["keras_tensorboard"])
    floor = statistics.median(times["sync_floor"])
    floor_rounds = [a / b for a, b in zip(times["lrfinder_logdir"], times["sync_floor"])]
    print(f"\nLRFinder(log_dir) / sync_floor = {ours / floor:.3f} "
          f"(median per-round {statistics.median(floor_rounds):.3f})", end="")
    per_round = [a / b for a, b in zip(times["lrfinder_logdir"], times["keras_tensorboard"])]
    print(f"; LRFinder(log_dir) / bare = {ours / bare:.3f} (target <= 1.05); "
          f"LRFinder(log_dir) / keras TensorBoard(update_freq=1) = {ours / keras_tb:.3f} "
          f"(median per-round {statistics.median(per_round):.3f}); "
          f"extra per step vs bare: {1000 * (ours - bare) / steps:+.3f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--steps-per-epoch", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--min-lr", type=float, default=1e-5)
    parser.add_argument("--max-lr", type=float, default=1e-2,
                        help="end of the sweep; small enough that the loss stays finite")
    parser.add_argument("--model", choices=("warm", "fresh", "both"), default="warm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"keras {keras.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, backend {keras.backend.backend()}")
    data = make_data(args.steps_per_epoch, args.seed)
    tmp_root = tempfile.mkdtemp(prefix="lr_range_bench_")
    try:
        modes = ("warm", "fresh") if args.model == "both" else (args.model,)
        results = {mode: run_mode(mode, args, data, tmp_root) for mode in modes}
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    for mode, times in results.items():
        report(mode, times, args)


if __name__ == "__main__":
    main()
