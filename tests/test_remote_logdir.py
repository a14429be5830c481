"""Remote log directories: `LRFinder(log_dir="s3://...")` and TensorBoard reading it.

Everything here is real: an S3-compatible server (moto's standalone server,
a subprocess on 127.0.0.1 that the tests start and stop), boto3 clients,
Keras training with `LRFinder`, and `tensorboard` processes reading
`s3://` logdirs and serving the LR Range tab's routes.

Facts these tests pin down (TensorFlow 2.21, TensorBoard 2.21):

* TensorFlow's `tf.io.gfile` has no `s3` scheme, so a `tensorboard` in an
  environment with TensorFlow refuses an `s3://` logdir.
* TensorBoard without TensorFlow reads `s3://` through its own filesystem
  layer (boto3, `S3_ENDPOINT` or `AWS_ENDPOINT_URL`): the viewer environment,
  built here as a fresh venv (`tensorboard`, `boto3`, this package with
  `--no-deps`), shows every step.
* The same TensorFlow-free layer can be forced in the training environment
  (`tensorboard.compat.notf`), which also shows every step.

`gs://` needs Google's servers, which these tests cannot reach: it is
covered by TensorFlow's own `ram://` filesystem, which takes the same
`tf.io.gfile` path through `RangeTestWriter`, and by checking that a `gs://`
log_dir reaches TensorFlow's GCS filesystem and fails clearly when it cannot
be written.
"""

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import warnings

import numpy as np
import pytest

import logdirs
from tb_harness import free_port
from tb_lr_range import summary

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Runs TensorBoard with its TensorFlow-free filesystem layer, in an environment
# where TensorFlow is installed: the `notf` module is TensorBoard's own switch.
FORCE_STUB = (
    "import sys, types; "
    "sys.modules['tensorboard.compat.notf'] = types.ModuleType('tensorboard.compat.notf'); "
    "from tensorboard.main import run_main; sys.argv[0] = 'tensorboard'; sys.exit(run_main())"
)


# ----------------------------------------------------------------- helpers


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def moto_server(log_path):
    """Runs moto's standalone S3 server on a free port of 127.0.0.1.

    Yields:
        `(endpoint_url, process)`.
    """
    port = free_port()
    with open(log_path, "w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT)
        endpoint = "http://127.0.0.1:%d" % port
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "moto server exited: " + _tail(log)
                assert time.monotonic() < deadline, "moto server did not start: " + _tail(log)
                try:
                    with urllib.request.urlopen(endpoint + "/moto-api/", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.2)
            yield endpoint, process
        finally:
            _stop(process)


def _tail(log, size=4000):
    log.flush()
    log.seek(0)
    return log.read()[-size:]


def _s3_environment(monkeypatch, tmp_path, endpoint, *, s3_endpoint=True, attempts=None):
    """Points boto3 (and TensorBoard's S3 reader) at `endpoint` with dummy credentials.

    `attempts` sets boto3's AWS_MAX_ATTEMPTS (default: boto3's own, 5 attempts).
    """
    if attempts is None:
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    else:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", str(attempts))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    if s3_endpoint:
        monkeypatch.setenv("S3_ENDPOINT", endpoint)
    else:
        monkeypatch.delenv("S3_ENDPOINT", raising=False)


def _new_bucket(endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    name = "lr-range-" + uuid.uuid4().hex[:12]
    client.create_bucket(Bucket=name)
    return client, name


def _keys(client, bucket, prefix=""):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(digits, log_dir, *, steps=40, callbacks=(), **finder_kwargs):
    """Runs a range test of `steps` steps; returns `(finder, model, weights_before)`."""
    from tb_lr_range import LRFinder

    x, y = digits
    model = _model()
    before = [np.array(v) for v in model.get_weights()]
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, steps_per_epoch=steps, epochs=1,
                      log_dir=log_dir, run_name="digits", **finder_kwargs)
    model.fit(x[:steps * 16], y[:steps * 16], batch_size=16, epochs=1, verbose=0,
              callbacks=[finder, *callbacks])
    return finder, model, before


class TensorBoard:
    """A real `tensorboard` process on a free port of 127.0.0.1."""

    def __init__(self, command, logdir, env, log_path, reload_interval=1):
        self.port = free_port()
        self.log = open(log_path, "w+")
        self.process = subprocess.Popen(
            list(command) + ["--logdir", logdir, "--host", "127.0.0.1", "--port",
                             str(self.port), "--reload_interval", str(reload_interval)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.base = "http://127.0.0.1:%d/data/" % self.port

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return json.loads(response.read())

    def wait_for_runs(self, ready, timeout=120):
        """Polls `plugin/lr_range/runs` until `ready(runs_by_name)`; returns them."""
        deadline = time.monotonic() + timeout
        runs = None
        while True:
            assert self.process.poll() is None, "tensorboard exited:\n" + _tail(self.log)
            try:
                runs = {run["run"]: run for run in self.get("plugin/lr_range/runs")["runs"]}
                if ready(runs):
                    return runs
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, (
                "tensorboard did not show the runs in time; last seen: %r\n%s"
                % (runs, _tail(self.log)))
            time.sleep(0.3)

    def curves(self, run, *series):
        query = "run=%s" % run + "".join("&series=%s" % name for name in series)
        (document,) = self.get("plugin/lr_range/curves?" + query)["runs"]
        return document

    def close(self):
        _stop(self.process)
        self.log.close()


@contextlib.contextmanager
def tensorboard(*args, **kwargs):
    server = TensorBoard(*args, **kwargs)
    try:
        yield server
    except BaseException:
        print(_tail(server.log))
        raise
    finally:
        server.close()


def _assert_every_step(curve, history, name="loss"):
    count = len(history[name])
    assert count > 10  # more than the 10 points TensorBoard keeps by default
    assert curve["series"][name]["step"] == list(range(count))
    np.testing.assert_allclose(curve["series"][name]["value"],
                               np.float32(history[name]), rtol=1e-6)
    np.testing.assert_allclose(curve["series"][name]["lr"], np.float32(history["lr"]),
                               rtol=1e-6)


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """The URL of a moto S3 server that lives as long as the test session."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as (endpoint, _):
        yield endpoint


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    """Environment pointed at the moto server, and a fresh bucket: `(client, bucket)`."""
    _s3_environment(monkeypatch, tmp_path, s3_endpoint)
    return _new_bucket(s3_endpoint)


@pytest.fixture(scope="session")
def viewer_python(tmp_path_factory):
    """A fresh venv without TensorFlow: `tensorboard`, `boto3`, this package (`--no-deps`).

    The way README tells users to view s3:// logs. Fails (never skips) when it
    cannot be built.
    """
    root = tmp_path_factory.mktemp("viewer")
    env_dir = root / "venv"
    python = str(env_dir / "bin" / "python")
    source = root / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), source / name)
    for name in ("tb_lr_range", "frontend"):
        shutil.copytree(os.path.join(REPO, name), source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    steps = [
        [sys.executable, "-m", "venv", str(env_dir)],
        pip + ["tensorboard==" + importlib.metadata.version("tensorboard"), "boto3"],
        pip + ["--no-deps", str(source)],
        [python, "-c", "import importlib.util, tb_lr_range.plugin; "
                       "assert importlib.util.find_spec('tensorflow') is None, 'TensorFlow'"],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode:
            pytest.fail("could not build the viewer venv: %s\n%s\n%s" % (
                " ".join(command), done.stdout[-3000:], done.stderr[-3000:]))
    return python


# ----------------------------------------------------------------- s3:// end to end


def test_s3_run_is_shown_by_tensorboard_without_tensorflow(
        s3, digits, viewer_python, tmp_path):
    """LRFinder writes s3://; the viewer venv's `tensorboard` serves every step, live too."""
    client, bucket = s3
    logdir = "s3://%s/logs" % bucket
    finder, _, _ = _fit(digits, logdir, steps=60, on_write_error="raise")
    assert finder.run_dir == logdir + "/digits"
    keys = _keys(client, bucket, "logs/digits/")
    assert len(keys) >= 2 and all(".lr_range." in key for key in keys), keys

    # A run still being written: 30 steps now, more while TensorBoard watches.
    live = logdirs.write_synthetic(logdir, "live", 30, finished=False)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [os.path.join(os.path.dirname(viewer_python), "tensorboard")]
    with tensorboard(command, logdir, env, tmp_path / "tensorboard.log") as server:
        runs = server.wait_for_runs(
            lambda runs: runs.get("digits", {}).get("status") == "finished"
            and runs.get("live", {}).get("last_step") == 29)
        assert server.get("plugins_listing")["lr_range"]["enabled"] is True
        assert runs["digits"]["result"]["stop_reason"] == finder.stop_reason
        assert runs["digits"]["config"]["planned_steps"] == 60
        curve = server.curves("digits", "loss", "accuracy")
        _assert_every_step(curve, finder.history)
        _assert_every_step(curve, finder.history, "accuracy")
        assert curve["series"]["loss"]["suggestion"]["lr"] == pytest.approx(
            finder.suggest().lr, rel=1e-5)

        lrs, loss, _ = logdirs.synthetic_curve(60)
        for step in range(30, 60):
            live.add(step, {"lr": float(lrs[step]), "loss": float(loss[step])})
        live.flush(wait=True)
        server.wait_for_runs(lambda runs: runs["live"]["last_step"] == 59)
        assert server.curves("live")["series"]["loss"]["step"] == list(range(60))
        live.close({"stop_reason": "completed", "steps": 60, "suggestion": None}, step=59)
        runs = server.wait_for_runs(lambda runs: runs["live"]["status"] == "finished")
        assert runs["live"]["result"]["stop_reason"] == "completed"
    assert len(_keys(client, bucket, "logs/live/")) == 4  # header, 2 flushes, close


def test_tensorboard_with_tensorflow_reads_s3_only_with_its_own_layer_forced(
        s3_endpoint, monkeypatch, tmp_path):
    """In the training environment: plain `tensorboard` refuses s3://; forcing its
    TensorFlow-free filesystem layer serves every step. Only AWS_ENDPOINT_URL is set."""
    _s3_environment(monkeypatch, tmp_path, s3_endpoint, s3_endpoint=False)
    client, bucket = _new_bucket(s3_endpoint)
    logdir = "s3://%s/logs" % bucket
    writer = logdirs.write_synthetic(logdir, "long", 1500, finished=False)
    writer.close({"stop_reason": "completed", "steps": 1500, "suggestion": None}, step=1499)
    assert len(_keys(client, bucket)) == 3
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    plain = subprocess.run(
        [sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=180, env=env)
    assert plain.returncode != 0
    assert "Unsupported filename scheme 's3'" in plain.stderr + plain.stdout

    with tensorboard([sys.executable, "-c", FORCE_STUB], logdir, env,
                     tmp_path / "tensorboard.log") as server:
        server.wait_for_runs(lambda runs: runs.get("long", {}).get("status") == "finished")
        assert server.get("plugins_listing")["lr_range"]["enabled"] is True
        assert server.curves("long")["series"]["loss"]["step"] == list(range(1500))


# ----------------------------------------------------------------- failures


def _closed_port_endpoint():
    return "http://127.0.0.1:%d" % free_port()  # nothing listens there


@pytest.mark.parametrize("problem", ["unreachable", "missing bucket", "malformed endpoint"])
def test_raise_fails_before_training_with_a_clear_error(
        problem, s3_endpoint, digits, monkeypatch, tmp_path):
    endpoint = {"unreachable": _closed_port_endpoint(), "missing bucket": s3_endpoint,
                "malformed endpoint": s3_endpoint[len("http://"):]}[problem]
    _s3_environment(monkeypatch, tmp_path, endpoint)
    if problem == "malformed endpoint":
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    log_dir = "s3://no-such-bucket-%s/logs" % uuid.uuid4().hex[:8]
    from tb_lr_range import LRFinder

    x, y = digits
    model = _model()
    before = [np.array(v) for v in model.get_weights()]
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, steps_per_epoch=20, epochs=1,
                      log_dir=log_dir, on_write_error="raise")
    with pytest.raises(summary.LogDirError) as raised:
        model.fit(x[:320], y[:320], batch_size=16, epochs=1, verbose=0, callbacks=[finder])
    message = str(raised.value)
    assert isinstance(raised.value, OSError)
    assert "log_dir=%r" % log_dir in message and "No training step was run" in message
    expected = {"unreachable": "Could not connect to the endpoint URL",
                "missing bucket": "NoSuchBucket",
                "malformed endpoint": "S3_ENDPOINT"}[problem]
    assert expected in message
    assert int(model.optimizer.iterations) == 0 and finder.history == {}
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
    for after, initial in zip(model.get_weights(), before):
        np.testing.assert_array_equal(after, initial)


def test_warn_trains_anyway_and_keeps_the_result(digits, monkeypatch, tmp_path):
    _s3_environment(monkeypatch, tmp_path, _closed_port_endpoint(), attempts=1)
    log_dir = "s3://bucket/logs"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finder, model, _ = _fit(digits, log_dir, steps=30)
    messages = [str(w.message) for w in caught if "LRFinder cannot write" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    assert log_dir in messages[0] and "Could not connect to the endpoint URL" in messages[0]
    assert len(finder.history["loss"]) == 30 and finder.stop_reason == "completed"
    assert finder.suggest().lr > 0
    assert finder.plot() is not None and finder.plot_lr() is not None
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)


def test_server_lost_during_training_only_warns(digits, monkeypatch, tmp_path):
    """The endpoint goes away mid-test: training finishes and the result stays in memory,
    even with on_write_error='raise' (which only checks before training)."""
    import keras

    with moto_server(tmp_path / "moto.log") as (endpoint, process):
        _s3_environment(monkeypatch, tmp_path, endpoint, attempts=1)
        client, bucket = _new_bucket(endpoint)

        class StopServer(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch == 10:
                    _stop(process)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            finder, _, _ = _fit(digits, "s3://%s/logs" % bucket, steps=30,
                                callbacks=[StopServer()], on_write_error="raise")
    messages = [str(w.message) for w in caught if "LRFinder stopped writing" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    assert "s3://%s/logs" % bucket in messages[0]
    assert len(finder.history["loss"]) == 30 and finder.stop_reason == "completed"
    assert finder.suggest().lr > 0


def test_remote_flush_runs_in_the_background_and_reports_its_error_later(tmp_path, monkeypatch):
    """`flush` on s3:// returns at once even when the upload is failing; the error
    comes out of the next `flush` or `close`, naming the object and the endpoint."""
    with moto_server(tmp_path / "moto.log") as (endpoint, process):
        _s3_environment(monkeypatch, tmp_path, endpoint, attempts=3)
        client, bucket = _new_bucket(endpoint)
        writer = summary.RangeTestWriter("s3://%s/logs/run" % bucket, {"min_lr": 1e-4})
        writer.add(0, {"lr": 1e-4, "loss": 2.0})
        writer.flush(wait=True)
        assert len(_keys(client, bucket)) == 2
        _stop(process)
    for step in range(1, 1000):
        writer.add(step, {"lr": 1e-4, "loss": 2.0})
    started = time.monotonic()
    writer.flush()
    assert time.monotonic() - started < 0.5
    with pytest.raises(summary.LogDirError, match="Could not connect to the endpoint URL") as raised:
        writer.close({"stop_reason": "completed"})
    assert endpoint in str(raised.value) and ".lr_range.00000002" in str(raised.value)


def test_on_write_error_is_validated():
    from tb_lr_range import LRFinder

    with pytest.raises(ValueError, match="`on_write_error` must be 'warn' or 'raise', got 'ignore'"):
        LRFinder(on_write_error="ignore")
    assert LRFinder().on_write_error == "warn"


def test_unsupported_scheme_names_the_supported_ones(digits):
    from tb_lr_range import LRFinder

    finder = LRFinder(min_lr=1e-4, max_lr=1.0, steps_per_epoch=5, epochs=1,
                      log_dir="hdfs://namenode/logs", on_write_error="raise")
    x, y = digits
    with pytest.raises(summary.LogDirError, match=r"cannot write hdfs:// paths.*gs://.*s3://"):
        _model().fit(x[:80], y[:80], batch_size=16, verbose=0, callbacks=[finder])


# ----------------------------------------------------------------- gs:// and TensorFlow's layer


def test_tensorflow_filesystems_are_written_through_tf_io_gfile():
    """gs:// (built into TensorFlow 2.21) and ram:// go through tf.io.gfile; s3:// through boto3."""
    assert {"gs", "ram", "file"} <= set(summary.tensorflow_schemes())
    assert "s3" not in summary.tensorflow_schemes()
    assert summary.filesystem_for("gs://bucket/logs") == "tensorflow"
    assert summary.filesystem_for("ram://logs") == "tensorflow"
    assert summary.filesystem_for("/tmp/logs") == "tensorflow"
    assert summary.filesystem_for("s3://bucket/logs") == "boto3"


def test_tensorflow_remote_filesystem_run_is_read_back_with_every_step(digits):
    """ram:// stands in for gs://: same writer path (tf.io.gfile, background writes).
    Read back by TensorBoard's loader in this process (TensorFlow's gfile)."""
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test
    from tb_lr_range import plugin

    logdir = "ram://tb_lr_range_%s/logs" % uuid.uuid4().hex[:8]
    finder, _, _ = _fit(digits, logdir, steps=40, on_write_error="raise")
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={"lr_range": 0})
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    context = base_plugin.TBContext(
        data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir),
        logdir=logdir)
    client = werkzeug_test.Client(application.TensorBoardWSGI([plugin.LRRangePlugin(context)]))
    response = client.get("/data/plugin/lr_range/curves?run=digits")
    assert response.status_code == 200, response.data
    (curve,) = json.loads(response.data)["runs"]
    _assert_every_step(curve, finder.history)
    assert curve["status"] == "finished"


def test_gs_reaches_tensorflows_gcs_filesystem_and_fails_clearly(digits, monkeypatch):
    """Without Google's servers (or credentials) a gs:// log_dir cannot be written: with
    'raise' the error comes from TensorFlow's GCS filesystem, before training."""
    from tb_lr_range import LRFinder

    monkeypatch.setenv("GOOGLE_AUTH_TOKEN_FOR_TESTING", "not-a-token")  # no metadata probe
    log_dir = "gs://tb-lr-range-no-such-bucket-%s/logs" % uuid.uuid4().hex[:12]
    finder = LRFinder(min_lr=1e-4, max_lr=1.0, steps_per_epoch=5, epochs=1,
                      log_dir=log_dir, on_write_error="raise")
    x, y = digits
    model = _model()
    with pytest.raises(summary.LogDirError) as raised:
        model.fit(x[:80], y[:80], batch_size=16, verbose=0, callbacks=[finder])
    message = str(raised.value)
    assert "log_dir=%r" % log_dir in message and "gs://" in message
    assert "not implemented" not in message and "cannot write gs://" not in message
    assert int(model.optimizer.iterations) == 0
