"""Times the LR Range `curves` request against TensorBoard's own Scalars plugin.

The same range-test values are written once into a temporary logdir, twice:

* `range/...`: range tests written with `tb_lr_range.summary.RangeTestWriter`
  (the format `LRFinder(log_dir=...)` writes: tags `lr`, `loss`, `result`);
* `scalars/...`: ordinary Scalars-plugin runs with the tags `lr` and `loss`
  (`tensorboard.plugins.scalar.metadata`, float32 rank-0 tensors, as
  `tf.summary.scalar` writes them), the same values at the same steps.

Two cases: one run of `--steps` steps (default 100,000) and `--runs` runs of
`--run-steps` steps (default 100 x 1,000). For each loader in `--loaders`, ONE
real `tensorboard` process serves the whole logdir (`--load_fast=true|false`,
`--samples_per_plugin scalars=10000000` so the Scalars plugin keeps every
sample; `scalars=0` would make TensorBoard 2.21's Scalars plugin answer empty
lists). The script waits, bounded by `--timeout`, until both plugins serve every
point, checks that both serve the same values, then times, alternating the
order of the variants from one repeat to the next:

* `ours`: one `data/plugin/lr_range/curves` GET for all the case's runs, as the
  panel sends it (`series=loss&smoothing=0.98&method=valley`): lr, raw loss,
  smoothed loss, derivative and suggestion of each run;
* `GET`: the Scalars plugin's `data/plugin/scalars/scalars?run=..&tag=..`,
  one request per run and tag (`lr`, `loss`), sent one after the other;
* `multirun`: the Scalars plugin's `data/plugin/scalars/scalars_multirun`
  POST, one per tag with every run of the case (what TensorBoard's own
  dashboard sends).

Every request asks for gzip (`Accept-Encoding`) as a browser does, on a new
loopback connection. A variant's time is the sum over its requests of the time
from sending the request to having read the whole (compressed) body;
decompression is not counted. The table gives the median over
`--repeats` (after one warm-up of each variant), the bytes on the wire, and
the ratios ours/GET and ours/multirun (target: <= 1.5).

Usage:

    python bench/plugin_requests.py                      # both loaders, defaults
    python bench/plugin_requests.py --loaders false --repeats 3
    python bench/plugin_requests.py --keep /tmp/lrdata   # keep (and reuse) the logdir

Needs TensorFlow (to write the event files) and the installed package.
"""

import argparse
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SAMPLES = 10_000_000  # --samples_per_plugin scalars=SAMPLES: keeps every point, unlike 0
MIN_LR, MAX_LR = 1e-5, 10.0
SMOOTHING, METHOD = 0.98, "valley"
TARGET = 1.5
VARIANTS = ("ours", "GET", "multirun")


# ---------------------------------------------------------------------- data


def curve(steps, seed):
    """Learning rates and a range-test-shaped loss (falls, flattens, explodes).

    Returns:
        `(lrs, loss)`: float64 arrays of length `steps`.
    """
    import numpy as np

    from tb_lr_range import analysis

    lrs = analysis.learning_rates(MIN_LR, MAX_LR, steps, "exponential")
    noise = np.random.default_rng(seed).normal(0, 0.02, steps)
    loss = 2.0 / (1 + 100 * lrs) + 0.2 + np.where(lrs > 0.5, 3 * (lrs - 0.5), 0) + noise
    return lrs, loss


def write_range_run(run_dir, lrs, loss):
    """Writes a finished range test with `RangeTestWriter`."""
    from tb_lr_range import analysis, summary

    steps = len(lrs)
    config = {"min_lr": MIN_LR, "max_lr": MAX_LR, "mode": "exponential", "planned_steps": steps,
              "smoothing": SMOOTHING, "stop_factor": 4.0, "method": METHOD, "optimizer": "SGD"}
    writer = summary.RangeTestWriter(run_dir, config)
    for step in range(steps):
        writer.add(step, {"lr": float(lrs[step]), "loss": float(loss[step])},
                   wall_time=1.0e9 + step)
        if step % 20_000 == 19_999:
            writer.flush()
    suggestion = analysis.suggest(lrs, loss, "exponential", SMOOTHING, METHOD)
    writer.close({"stop_reason": "completed", "steps": steps, "suggestion": suggestion.to_dict()},
                 suggested_lr=suggestion.lr, step=steps - 1)


def write_scalars_run(run_dir, lrs, loss):
    """Writes the same values as an ordinary Scalars-plugin run (tags lr, loss)."""
    import tensorflow as tf

    from tensorboard.compat.proto import event_pb2, types_pb2
    from tensorboard.plugins.scalar import metadata as scalar_metadata

    tf.io.gfile.makedirs(run_dir)
    path = os.path.join(run_dir, "events.out.tfevents.%010d.%s.%d.scalars"
                        % (time.time(), socket.gethostname(), os.getpid()))
    described = scalar_metadata.create_summary_metadata(display_name="", description="")
    with tf.io.TFRecordWriter(path) as records:
        records.write(event_pb2.Event(wall_time=time.time(),
                                      file_version="brain.Event:2").SerializeToString())
        for step in range(len(lrs)):
            event = event_pb2.Event(wall_time=1.0e9 + step, step=step)
            for tag, number in (("lr", lrs[step]), ("loss", loss[step])):
                value = event.summary.value.add(tag=tag)
                if step == 0:
                    value.metadata.CopyFrom(described)
                value.tensor.dtype = types_pb2.DT_FLOAT
                value.tensor.float_val.append(float(number))
            records.write(event.SerializeToString())


def cases_of(args):
    """The two cases: `(label, steps, [run suffixes])`."""
    return [
        ("1 run x %d steps" % args.steps, args.steps, ["big"]),
        ("%d runs x %d steps" % (args.runs, args.run_steps), args.run_steps,
         ["many/r%03d" % i for i in range(args.runs)]),
    ]


def write_data(root, cases):
    """Writes every case under `root` (or reuses what a previous call wrote there)."""
    marker = os.path.join(root, "complete.json")
    wanted = {"cases": [[steps, names] for _, steps, names in cases], "format": 1}
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f) == wanted:
                print("reusing the logdir in %s" % root)
                return
    for name in ("range", "scalars"):
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    started = time.monotonic()
    for _, steps, names in cases:
        for seed, name in enumerate(names):
            lrs, loss = curve(steps, seed)
            write_range_run(os.path.join(root, "range", name), lrs, loss)
            write_scalars_run(os.path.join(root, "scalars", name), lrs, loss)
    with open(marker, "w") as f:
        json.dump(wanted, f)
    print("wrote the logdir in %.1f s" % (time.monotonic() - started))


# ---------------------------------------------------------------------- HTTP


class Server:
    """One `tensorboard` process on a free loopback port; always stopped on exit."""

    def __init__(self, logdir, load_fast):
        self.logdir = logdir
        self.load_fast = load_fast
        self.port = None
        self.process = None
        self._log = None

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", self.logdir,
             "--host", "127.0.0.1", "--port", str(self.port), "--reload_interval", "0",
             "--load_fast=%s" % self.load_fast, "--samples_per_plugin", "scalars=%d" % SAMPLES],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: the Rust data server goes with it
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        try:  # a data server that outlived its parent
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()

    def log_tail(self, chars=3000):
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-chars:]

    def request(self, path, form=None):
        """One request; returns `(seconds, bytes on the wire, body as sent)`."""
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            started = time.perf_counter()
            connection.request("POST" if form is not None else "GET", "/data/plugin/" + path,
                               body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError("%s: HTTP %d %s" % (path.split("?")[0], response.status, raw[:300]))
        if response.getheader("Content-Encoding") == "gzip":
            raw = Gzipped(raw)
        return seconds, len(raw), raw


class Gzipped(bytes):
    """A gzipped body, decompressed only when read (not in the timed loop)."""


def decoded(body):
    return gzip.decompress(body) if isinstance(body, Gzipped) else body


def variant_requests(variant, steps, names):
    """The requests of one variant: a list of `(path, form or None)`."""
    if variant == "ours":
        query = [("run", "range/" + name) for name in names]
        query += [("series", "loss"), ("smoothing", str(SMOOTHING)), ("method", METHOD)]
        return [("lr_range/curves?" + urllib.parse.urlencode(query), None)]
    if variant == "GET":
        return [("scalars/scalars?" + urllib.parse.urlencode({"run": "scalars/" + name, "tag": tag}),
                 None) for name in names for tag in ("lr", "loss")]
    return [("scalars/scalars_multirun",
             {"tag": tag, "runs": ["scalars/" + name for name in names]}) for tag in ("lr", "loss")]


def run_variant(server, requests):
    """Sends the requests one after the other: `(seconds, wire bytes, bodies)`."""
    seconds, wire, bodies = 0.0, 0, []
    for path, form in requests:
        took, size, body = server.request(path, form)
        seconds += took
        wire += size
        bodies.append(body)
    return seconds, wire, bodies


def served_values(variant, names, bodies):
    """`{name: (lr list, loss list)}` from a variant's decoded responses."""
    out = {}
    if variant == "ours":
        for entry in json.loads(decoded(bodies[0]))["runs"]:
            loss = entry["series"]["loss"]
            out[entry["run"][len("range/"):]] = (loss["lr"], loss["value"])
    elif variant == "GET":
        for i, name in enumerate(names):
            lr, loss = (json.loads(decoded(bodies[2 * i + k])) for k in (0, 1))
            out[name] = ([p[2] for p in lr], [p[2] for p in loss])
    else:
        lr, loss = (json.loads(decoded(body)) for body in bodies)
        for name in names:
            run = "scalars/" + name
            if run in lr and run in loss:
                out[name] = ([p[2] for p in lr[run]], [p[2] for p in loss[run]])
    return out


def complete(variant, steps, names, bodies):
    """Whether a variant's responses hold every step of every run."""
    values = served_values(variant, names, bodies)
    return all(name in values and len(values[name][0]) == steps == len(values[name][1])
               for name in names)


def wait_ready(server, cases, timeout):
    """Polls (bounded) until both plugins serve every point; returns seconds waited."""
    started = time.monotonic()
    expected = {"range/" + name: steps - 1 for _, steps, names in cases for name in names}
    while True:
        if server.process.poll() is not None:
            sys.exit("tensorboard exited:\n" + server.log_tail())
        if time.monotonic() - started > timeout:
            sys.exit("tensorboard did not serve every point within %d s:\n%s"
                     % (timeout, server.log_tail()))
        try:
            listing = json.loads(decoded(server.request("lr_range/runs")[2]))["runs"]
            last = {run["run"]: run["last_step"] for run in listing if run["status"] == "finished"}
            if all(last.get(run) == step for run, step in expected.items()) and all(
                    complete(variant, steps, names,
                             run_variant(server, variant_requests(variant, steps, names))[2])
                    for _, steps, names in cases for variant in ("ours", "multirun")):
                return time.monotonic() - started
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, http.client.HTTPException):
            pass
        time.sleep(1.0)


def check_same(label, steps, names, outputs):
    """Exits unless every variant served every step with the same values."""
    reference = served_values("multirun", names, outputs["multirun"])
    for variant in ("ours", "GET"):
        values = served_values(variant, names, outputs[variant])
        for name in names:
            if values.get(name) != reference.get(name) or len(values[name][1]) != steps:
                sys.exit("%s: %s and multirun disagree on run %r" % (label, variant, name))


# ------------------------------------------------------------------ timing


def time_loader(root, load_fast, cases, repeats, timeout):
    """Starts one tensorboard and times every case; returns rows of the table."""
    rows = []
    with Server(root, load_fast) as server:
        waited = wait_ready(server, cases, timeout)
        print("load_fast=%s: every point served after %.1f s" % (load_fast, waited), flush=True)
        for label, steps, names in cases:
            requests = {v: variant_requests(v, steps, names) for v in VARIANTS}
            warm = {v: run_variant(server, requests[v]) for v in VARIANTS}
            check_same(label, steps, names, {v: warm[v][2] for v in VARIANTS})
            times = {v: [] for v in VARIANTS}
            for repeat in range(repeats):
                shift = repeat % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    times[variant].append(run_variant(server, requests[variant])[0])
            row = {"loader": load_fast, "case": label,
                   "requests": {v: len(requests[v]) for v in VARIANTS},
                   "wire": {v: warm[v][1] for v in VARIANTS},
                   "median": {v: statistics.median(times[v]) for v in VARIANTS},
                   "min": {v: min(times[v]) for v in VARIANTS},
                   "max": {v: max(times[v]) for v in VARIANTS}}
            rows.append(row)
            print("  %s: %s" % (label, ", ".join(
                "%s %.0f ms" % (v, 1000 * row["median"][v]) for v in VARIANTS)), flush=True)
    return rows


def print_table(rows, repeats):
    head = ("%-9s %-22s %20s %26s %22s %8s %8s"
            % ("load_fast", "case", "ours ms (MB)", "scalars GET ms (req, MB)",
               "multirun ms (req, MB)", "ours/GET", "ours/mr"))
    print()
    print("medians of %d alternated repeats; ms summed over a variant's requests (request sent"
          " -> gzipped body read); MB on the wire" % repeats)
    print(head)
    print("-" * len(head))
    verdicts = []
    for row in rows:
        med, req, wire = row["median"], row["requests"], row["wire"]
        ratios = (med["ours"] / med["GET"], med["ours"] / med["multirun"])
        verdicts += [r <= TARGET for r in ratios]
        print("%-9s %-22s %20s %26s %22s %8.2f %8.2f" % (
            row["loader"], row["case"],
            "%.0f (%.2f)" % (1000 * med["ours"], wire["ours"] / 1e6),
            "%.0f (%d, %.2f)" % (1000 * med["GET"], req["GET"], wire["GET"] / 1e6),
            "%.0f (%d, %.2f)" % (1000 * med["multirun"], req["multirun"], wire["multirun"] / 1e6),
            *ratios))
    print("\nrange (min-max, ms):")
    for row in rows:
        print("  %-5s %-22s %s" % (row["loader"], row["case"], "; ".join(
            "%s %.0f-%.0f" % (v, 1000 * row["min"][v], 1000 * row["max"][v]) for v in VARIANTS)))
    print("\ntarget ours/scalars <= %.1f: %s" % (
        TARGET, "met for every ratio" if all(verdicts) else
        "NOT met for %d of %d ratios" % (verdicts.count(False), len(verdicts))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000,
                        help="steps of the single-run case (default 100000)")
    parser.add_argument("--runs", type=int, default=100,
                        help="runs of the many-run case (default 100)")
    parser.add_argument("--run-steps", type=int, default=1_000,
                        help="steps of each run of the many-run case (default 1000)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed repeats of each variant, after one warm-up (default 7)")
    parser.add_argument("--loaders", nargs="+", default=["true", "false"],
                        choices=["true", "false"], help="--load_fast values (default: both)")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the logdir here and keep it; reused when it already holds "
                             "the same data (default: a temporary directory, removed)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds to wait for tensorboard to serve every point (default 600)")
    args = parser.parse_args()
    if min(args.steps, args.run_steps) < 10 or args.runs < 1 or args.repeats < 1:
        parser.error("need --steps, --run-steps >= 10 and --runs, --repeats >= 1")

    import tensorboard

    cases = cases_of(args)
    if args.keep:
        root = os.path.abspath(args.keep)
    else:
        root = tempfile.mkdtemp(prefix="lr_range_plugin_requests_")
    try:
        os.makedirs(root, exist_ok=True)
        print("tensorboard %s, python %s, %d CPUs, load average %s" % (
            tensorboard.__version__, sys.version.split()[0], os.cpu_count(),
            " ".join("%.2f" % x for x in os.getloadavg())))
        write_data(root, cases)
        rows = []
        for load_fast in args.loaders:
            rows += time_loader(root, load_fast, cases, args.repeats, args.timeout)
        print_table(rows, args.repeats)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
