"""Which `suggest()` method picks the best learning rate? A grid search decides.

For each of scikit-learn's bundled datasets (digits: 10 classes; breast
cancer: binary; diabetes: regression, X and y standardised; all offline) and
each optimizer (SGD with momentum 0.9, Adam), and for each seed (initial
weights and batch order):

1. run a range test with `LRFinder` (min_lr 1e-6 to max_lr 10, exponential,
   stop on divergence with the default stop factor) on the training split,
   and record what every method of `tb_lr_range.analysis.METHODS` suggests,
   plus the suggested range `min_lr`/`max_lr`;
2. train the same model from the same initial weights, at a constant learning
   rate, for a fixed budget of epochs, at each learning rate of a log grid and
   at each suggested learning rate (each method's `lr`, the range's ends and
   Keras's default learning rate as a reference), and record the final loss on
   a held-out validation split (25%, fixed across seeds).

Regret of a learning rate = its validation loss / the best grid learning rate's
validation loss - 1 (same seed; negative when it beats every grid point). A
"blow-up" is a non-finite validation loss or one no better than the untrained
model's. The script prints a markdown table per dataset/optimizer and a summary
per method (median and worst regret, blow-ups, how often the suggestion lies
inside the suggested range).

Run (about 10 minutes with the defaults on 2 cores):

    TF_CPP_MIN_LOG_LEVEL=3 python bench/suggestion_methods.py
    TF_CPP_MIN_LOG_LEVEL=3 python bench/suggestion_methods.py --seeds 2 \
        --min-lr 1e-4 --save /tmp/results.json --plot-dir /tmp/lr_curves
    python bench/suggestion_methods.py --report-from /tmp/results.json

`--quick` runs a reduced version (one seed, digits and diabetes, 6 grid
points, 5 epochs) to check that the script works. `--plot-dir` writes, per
range test, its loss curve with every method's suggestion and the grid's
validation losses on the same learning-rate axis.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from tb_lr_range import LRFinder, analysis  # noqa: E402

DATASETS = ("digits", "breast_cancer", "diabetes")
OPTIMIZERS = ("sgd_momentum", "adam")
KERAS_DEFAULT_LR = {"sgd_momentum": 1e-2, "adam": 1e-3}
RANGE_ENDS = ("range_min_lr", "range_max_lr")
MISS = 0.25  # a regret above this is a miss: a default should never be this far off


def load(name, seed=0):
    """Train/validation split (75/25), standardised on the training split."""
    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        task = "multiclass"
    elif name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        task = "binary"
    elif name == "diabetes":
        x, y = datasets.load_diabetes(return_X_y=True)
        task = "regression"
    else:
        raise ValueError(name)
    stratify = None if task == "regression" else y
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=stratify)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    if task == "regression":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std
        y_train, y_val = y_train.astype("float32")[:, None], y_val.astype("float32")[:, None]
    else:
        y_train, y_val = y_train.astype("int32"), y_val.astype("int32")
    if task == "binary":
        y_train, y_val = y_train[:, None].astype("float32"), y_val[:, None].astype("float32")
    n_out = {"multiclass": 10, "binary": 1, "regression": 1}[task]
    return (x_train.astype("float32"), y_train, x_val.astype("float32"), y_val, task, n_out)


def build(task, n_features, n_out, optimizer_name, seed, hidden):
    keras.utils.set_random_seed(seed)
    activation = {"multiclass": "softmax", "binary": "sigmoid", "regression": None}[task]
    loss = {"multiclass": "sparse_categorical_crossentropy", "binary": "binary_crossentropy",
            "regression": "mse"}[task]
    model = keras.Sequential([keras.Input((n_features,))]
                             + [keras.layers.Dense(hidden, activation="relu") for _ in range(2)]
                             + [keras.layers.Dense(n_out, activation=activation)])
    if optimizer_name == "sgd_momentum":
        optimizer = keras.optimizers.SGD(1e-3, momentum=0.9)
    else:
        optimizer = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss=loss)
    optimizer.build(model.trainable_variables)
    return model


class Trainer:
    """One compiled model whose weights and optimizer state are reset per run.

    Resetting variables instead of building a model per run keeps the traced
    train step, so each run costs only its steps.
    """

    def __init__(self, model, data, batch_size, seed):
        self.model = model
        self.x_train, self.y_train, self.x_val, self.y_val = data
        self.batch_size = batch_size
        self.seed = seed
        self.initial_model = [keras.ops.convert_to_numpy(v) for v in model.variables]
        self.initial_optimizer = [keras.ops.convert_to_numpy(v)
                                  for v in model.optimizer.variables]

    def reset(self, lr):
        for variable, value in zip(self.model.variables, self.initial_model):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self.initial_optimizer):
            variable.assign(value)
        self.model.optimizer.learning_rate = float(lr)

    def val_loss(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = self.model.evaluate(self.x_val, self.y_val, batch_size=len(self.x_val),
                                        verbose=0)
        return float(value)

    def train(self, lr, epochs):
        """Validation loss after `epochs` epochs at a constant `lr` (inf if NaN)."""
        if not (lr > 0 and math.isfinite(lr)):
            return math.inf
        self.reset(lr)
        keras.utils.set_random_seed(self.seed)  # the same batch order for every lr
        with np.errstate(all="ignore"):
            self.model.fit(self.x_train, self.y_train, batch_size=self.batch_size,
                           epochs=epochs, verbose=0, shuffle=True)
            value = self.val_loss()
        return value if math.isfinite(value) else math.inf

    def range_test(self, min_lr, max_lr, steps):
        self.reset(KERAS_DEFAULT_LR["adam"])
        steps_per_epoch = math.ceil(len(self.x_train) / self.batch_size)
        epochs = max(1, math.ceil(steps / steps_per_epoch))
        finder = LRFinder(min_lr=min_lr, max_lr=max_lr, steps_per_epoch=steps_per_epoch,
                          epochs=epochs)
        keras.utils.set_random_seed(self.seed)
        self.model.fit(self.x_train, self.y_train, batch_size=self.batch_size, epochs=epochs,
                       verbose=0, shuffle=True, callbacks=[finder])
        return finder


def analysis_blob():
    """Git's blob id of the analysis module that produced the suggestions."""
    with open(analysis.__file__, "rb") as f:
        content = f.read()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()[:12]


def run_case(dataset, optimizer_name, seed, args, grid):
    x_train, y_train, x_val, y_val, task, n_out = load(dataset)
    model = build(task, x_train.shape[1], n_out, optimizer_name, seed, args.hidden)
    trainer = Trainer(model, (x_train, y_train, x_val, y_val), args.batch_size, seed)
    trainer.reset(1e-3)
    untrained = trainer.val_loss()

    started = time.perf_counter()
    finder = trainer.range_test(args.min_lr, args.max_lr, args.range_steps)
    suggestions = {m: finder.suggest(method=m) for m in analysis.METHODS}
    first = suggestions[analysis.METHODS[0]]
    lrs = {m: s.lr for m, s in suggestions.items()}
    lrs["range_min_lr"] = first.min_lr
    lrs["range_max_lr"] = first.max_lr
    lrs["keras_default"] = KERAS_DEFAULT_LR[optimizer_name]
    history_lr = np.asarray(finder.history["lr"])
    stop_lr = float(history_lr[-1])
    range_seconds = time.perf_counter() - started

    grid_losses = [trainer.train(lr, args.epochs) for lr in grid]
    method_losses = {name: trainer.train(lr, args.epochs) for name, lr in lrs.items()}
    # After the runs: the restored model must match the untrained one.
    trainer.reset(1e-3)
    return {
        "dataset": dataset, "optimizer": optimizer_name, "seed": seed,
        "untrained": untrained, "grid_losses": grid_losses, "lrs": lrs,
        "method_losses": method_losses, "min_lr": first.min_lr, "max_lr": first.max_lr,
        "stop_reason": finder.stop_reason, "steps": len(history_lr), "stop_lr": stop_lr,
        "planned_steps": finder.num_steps, "range_seconds": range_seconds,
        "history": {k: list(v) for k, v in finder.history.items()},
    }


def regret(loss, best):
    if not math.isfinite(loss):
        return math.inf
    return loss / best - 1.0


def blew_up(loss, untrained):
    return not math.isfinite(loss) or loss >= untrained


def lowest_blowup_lr(result, grid):
    """The lowest grid lr whose training blew up (inf when none did)."""
    for lr, loss in zip(grid, result["grid_losses"]):
        if blew_up(loss, result["untrained"]):
            return float(lr)
    return math.inf


def fmt_lr(value):
    return f"{value:.2e}"


def fmt_regret(value):
    return "inf" if not math.isfinite(value) else f"{100 * value:+.1f}%"


def geo_mean(values):
    return float(np.exp(np.mean(np.log(values))))


def report(results, grid, args):
    names = list(analysis.METHODS) + list(RANGE_ENDS) + ["keras_default"]
    cases = {}
    for r in results:
        cases.setdefault((r["dataset"], r["optimizer"]), []).append(r)

    print("\n## Range tests\n")
    print("| dataset | optimizer | seed | steps run / planned | stop | stopped at lr | "
          "suggested range | " + " | ".join(analysis.METHODS) + " |")
    print("|---|---|---:|---:|---|---:|---|" + "---:|" * len(analysis.METHODS))
    for r in results:
        print(f"| {r['dataset']} | {r['optimizer']} | {r['seed']} | {r['steps']} / "
              f"{r['planned_steps']} | {r['stop_reason']} | {fmt_lr(r['stop_lr'])} | "
              f"[{fmt_lr(r['min_lr'])}, {fmt_lr(r['max_lr'])}] | "
              + " | ".join(fmt_lr(r["lrs"][m]) for m in analysis.METHODS) + " |")

    print("\n## Grid search: validation loss after "
          f"{args.epochs} epochs at a constant lr (mean over seeds)\n")
    print("| lr | " + " | ".join(f"{d}/{o}" for d, o in cases) + " |")
    print("|---:|" + "---:|" * len(cases))
    for i, lr in enumerate(grid):
        cells = []
        for key, runs in cases.items():
            values = [r["grid_losses"][i] for r in runs]
            cells.append("inf" if not all(map(math.isfinite, values)) else
                         f"{statistics.mean(values):.4f}")
        print(f"| {fmt_lr(lr)} | " + " | ".join(cells) + " |")

    print("\n## Each method against the grid, per dataset and optimizer\n")
    print("Suggested lr: geometric mean over seeds; val loss and regret: mean over seeds "
          "(regret per seed against that seed's best grid loss); in range: seeds whose "
          "suggestion lies in [min_lr, max_lr].\n")
    per_method = {name: [] for name in names}
    for (dataset, optimizer_name), runs in cases.items():
        mean_grid = [statistics.mean(r["grid_losses"][i] for r in runs) for i in range(len(grid))]
        best_index = int(np.argmin(mean_grid))
        untrained = statistics.mean(r["untrained"] for r in runs)
        print(f"### {dataset} / {optimizer_name}: best grid lr {fmt_lr(grid[best_index])} "
              f"(val loss {mean_grid[best_index]:.4f}; untrained {untrained:.4f})\n")
        print("| method | suggested lr | val loss | regret | worst seed | blow-ups | in range |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in names:
            lr_values = [r["lrs"][name] for r in runs]
            losses = [r["method_losses"][name] for r in runs]
            regrets = [regret(r["method_losses"][name], min(r["grid_losses"])) for r in runs]
            blowups = sum(blew_up(r["method_losses"][name], r["untrained"]) for r in runs)
            inside = sum(r["min_lr"] <= r["lrs"][name] <= r["max_lr"] for r in runs)
            per_method[name].extend(
                (regret_value, blew_up(r["method_losses"][name], r["untrained"]),
                 r["min_lr"] <= r["lrs"][name] <= r["max_lr"],
                 r["lrs"][name] > r["stop_lr"],
                 r["lrs"][name] >= lowest_blowup_lr(r, grid))
                for regret_value, r in zip(regrets, runs))
            loss_text = ("inf" if not all(map(math.isfinite, losses))
                         else f"{statistics.mean(losses):.4f}")
            mean_regret = (math.inf if not all(map(math.isfinite, regrets))
                           else statistics.mean(regrets))
            print(f"| {name} | {fmt_lr(geo_mean(lr_values))} | {loss_text} | "
                  f"{fmt_regret(mean_regret)} | {fmt_regret(max(regrets))} | "
                  f"{blowups}/{len(runs)} | {inside}/{len(runs)} |")
        print()

    print("## Summary over every dataset, optimizer and seed\n")
    print(f"{len(results)} range tests. Regret: validation loss / best grid loss - 1.\n")
    print("Blow-up: non-finite validation loss, or no better than the untrained model. "
          "Blow-up region: at or above the lowest grid lr whose training blew up. "
          "Beyond the stop lr: above the last lr the range test ran.\n")
    print(f"| method | median regret | mean regret | worst regret | regret > {MISS:.0%} | blow-ups | "
          "in [min_lr, max_lr] | in blow-up region | beyond the stop lr |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ranking = []
    for name in names:
        rows = per_method[name]
        regrets = [row[0] for row in rows]
        finite = [v for v in regrets if math.isfinite(v)]
        mean_text = fmt_regret(statistics.mean(finite)) if len(finite) == len(regrets) else "inf"
        blowups = sum(row[1] for row in rows)
        print(f"| {name} | {fmt_regret(statistics.median(regrets))} | {mean_text} | "
              f"{fmt_regret(max(regrets))} | {sum(v > 0.25 for v in regrets)}/{len(rows)} | "
              f"{blowups}/{len(rows)} | {sum(row[2] for row in rows)}/{len(rows)} | "
              f"{sum(row[4] for row in rows)}/{len(rows)} | "
              f"{sum(row[3] for row in rows)}/{len(rows)} |")
        if name in analysis.METHODS:
            misses = sum(v > MISS for v in regrets)
            ranking.append((blowups, misses, statistics.median(regrets), max(regrets), name))
    by_median = min(ranking, key=lambda row: row[2])
    print(f"\nLowest median regret: {by_median[4]} (median {fmt_regret(by_median[2])}, "
          f"worst {fmt_regret(by_median[3])}, {by_median[0]} blow-ups, "
          f"{by_median[1]} with regret > {MISS:.0%}).")
    ranking.sort()
    best = ranking[0]
    print(f"Default by the rule (fewest blow-ups, then fewest regrets > {MISS:.0%}, then lowest "
          f"median regret): {best[4]} (median {fmt_regret(best[2])}, worst "
          f"{fmt_regret(best[3])}); current DEFAULT_METHOD = {analysis.DEFAULT_METHOD!r}.")


def plot(results, grid, plot_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    for r in results:
        figure, ax = plt.subplots(figsize=(8, 4.5))
        lrs = np.asarray(r["history"]["lr"])
        loss = np.asarray(r["history"]["loss"])
        n = analysis.finite_prefix_length(loss)
        ax.plot(lrs, loss, color="0.8", lw=0.8, label="range test: batch loss")
        # The curve suggest() reads: cut at divergence, spikes capped (when
        # this version of the analysis does that), zero-lag smoothed.
        readable = getattr(analysis, "_without_divergence", lambda v, b: v)(loss[:n], 0.98)
        ax.plot(lrs[:len(readable)], analysis.zero_lag_ema(readable, 0.98), color="C0",
                label="range test: smoothed, as suggest() reads it")
        grid_losses = np.asarray(r["grid_losses"], dtype=float)
        ax.plot(grid, np.where(np.isfinite(grid_losses), grid_losses, np.nan), "ko-",
                label="grid: val loss after training")
        for i, name in enumerate(list(analysis.METHODS) + list(RANGE_ENDS)):
            ax.axvline(r["lrs"][name], color=f"C{i + 1}", ls="--", lw=1, label=name)
        ax.set_xscale("log")
        finite = np.concatenate([loss[:n], grid_losses[np.isfinite(grid_losses)]])
        ax.set_ylim(0, min(np.nanmax(finite), 3 * r["untrained"]) * 1.05)
        ax.set_xlabel("learning rate")
        ax.set_title(f"{r['dataset']} / {r['optimizer']} / seed {r['seed']}")
        ax.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(os.path.join(
            plot_dir, f"{r['dataset']}_{r['optimizer']}_seed{r['seed']}.png"), dpi=90)
        plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=list(OPTIMIZERS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case (default 3)")
    parser.add_argument("--epochs", type=int, default=15,
                        help="training budget per grid point (default 15)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64, help="units of the two hidden layers")
    parser.add_argument("--grid-min", type=float, default=1e-5)
    parser.add_argument("--grid-max", type=float, default=3.0)
    parser.add_argument("--grid-size", type=int, default=14)
    parser.add_argument("--min-lr", type=float, default=1e-6, help="range test start")
    parser.add_argument("--max-lr", type=float, default=10.0, help="range test end")
    parser.add_argument("--range-steps", type=int, default=300,
                        help="planned steps of the range test, rounded up to whole epochs")
    parser.add_argument("--plot-dir", default=None,
                        help="write one PNG per range test (curve, suggestions, grid)")
    parser.add_argument("--save", default=None, help="write the raw results to this JSON file")
    parser.add_argument("--report-from", default=None,
                        help="print the tables from a JSON file written by --save, without training")
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run: 1 seed, digits and diabetes, 6 grid points")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.grid_size, args.epochs = 1, 6, 5
        args.datasets = ["digits", "diabetes"]

    print(f"tb_lr_range analysis.py git blob {analysis_blob()}, DEFAULT_METHOD "
          f"{analysis.DEFAULT_METHOD!r}")
    print(f"keras {keras.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; epochs {args.epochs}, batch {args.batch_size}, "
          f"seeds {args.seeds}, grid {args.grid_size} lrs in [{args.grid_min:g}, "
          f"{args.grid_max:g}], range test {args.min_lr:g}..{args.max_lr:g} "
          f"(~{args.range_steps} steps)", flush=True)
    if args.report_from:
        with open(args.report_from) as f:
            saved = json.load(f)
        for key, value in saved["args"].items():
            setattr(args, key, value)
        results, grid = saved["results"], np.asarray(saved["grid"])
        report(results, grid, args)
        if args.plot_dir:
            plot(results, grid, args.plot_dir)
        return
    grid = np.geomspace(args.grid_min, args.grid_max, args.grid_size)
    results = []
    started = time.perf_counter()
    for dataset in args.datasets:
        for optimizer_name in args.optimizers:
            for seed in range(args.seeds):
                r = run_case(dataset, optimizer_name, seed, args, grid)
                results.append(r)
                print(f"  {dataset}/{optimizer_name}/seed {seed}: {r['steps']} range steps "
                      f"({r['stop_reason']}), "
                      + ", ".join(f"{m}={fmt_lr(r['lrs'][m])}" for m in analysis.METHODS)
                      + f"; best grid lr {fmt_lr(grid[int(np.argmin(r['grid_losses']))])}"
                      f" [{time.perf_counter() - started:.0f}s]", flush=True)
    report(results, grid, args)
    if args.save:
        kept = {k: v for k, v in vars(args).items() if k not in ("save", "report_from", "plot_dir")}
        with open(args.save, "w") as f:
            json.dump({"args": kept, "grid": grid.tolist(), "results": results}, f,
                      allow_nan=True)
    if args.plot_dir:
        plot(results, grid, args.plot_dir)
        print(f"\nPlots written to {args.plot_dir}")
    print(f"\nTotal time: {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
