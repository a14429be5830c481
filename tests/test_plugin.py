"""Tests of the LR Range TensorBoard plugin backend, on real logdirs.

Range tests are written by `LRFinder` training small Keras models on
scikit-learn's digits, or by `RangeTestWriter` for long synthetic runs, then
loaded the way TensorBoard loads them (`EventMultiplexer` ->
`MultiplexerDataProvider` -> `TBContext` -> `TensorBoardWSGI`) and queried
with werkzeug's test client. `test_real_tensorboard_server` starts real
`tensorboard` processes (Rust and Python loaders).
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from werkzeug import test as werkzeug_test

from tensorboard import default
from tensorboard import program
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_ingester
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from tensorboard.plugins.core import core_plugin

from tb_lr_range import analysis
from tb_lr_range import curves
from tb_lr_range import metadata
from tb_lr_range import plugin

import logdirs
from tb_harness import free_port

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BIG_STEPS = 100_000
ROUTE = "/data/plugin/lr_range/"


# ----------------------------------------------------------------- helpers


def serve(logdir, argv=(), provider_class=data_provider.MultiplexerDataProvider):
    """Loads `logdir` as `tensorboard --logdir logdir *argv` would (Python loader).

    Returns:
        `(client, multiplexer)`: a werkzeug test client of a TensorBoard app
        holding only the LR Range plugin, and the multiplexer to `Reload()`.
    """
    loader = plugin.LRRangeLoader()
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples_per_plugin", type=_samples, default="")
    flags = parser.parse_args(list(argv))
    loader.fix_flags(flags)
    guidance = dict(data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE)
    guidance.update(flags.samples_per_plugin)
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE, tensor_size_guidance=guidance)
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    context = base_plugin.TBContext(
        data_provider=provider_class(multiplexer, str(logdir)), flags=flags,
        logdir=str(logdir), sampling_hints=flags.samples_per_plugin)
    app = application.TensorBoardWSGI([loader.load(context)])
    return werkzeug_test.Client(app), multiplexer


def _samples(text):
    return {key: int(value) for key, value in (pair.split("=") for pair in text.split(",") if pair)}


def strict_json(body):
    """Parses JSON, failing on the bare NaN/Infinity tokens that JSON forbids."""
    def reject(token):
        raise AssertionError("invalid JSON token %s" % token)

    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body, parse_constant=reject)


def get_json(client, path, code=200):
    response = client.get(ROUTE + path)
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    return strict_json(response.data)


def error_text(client, path, code):
    response = client.get(ROUTE + path)
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def query(*pairs):
    return urllib.parse.urlencode(pairs)


def floats(values):
    """JSON float lists back to numpy, with the strings NaN/Infinity restored."""
    return np.array([float(v) for v in values], dtype=np.float64)


def as_float32(values):
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def write_plain_scalars(run_dir):
    """A run of ordinary `tf.summary.scalar` data: not a range test."""
    import tensorflow as tf

    with tf.summary.create_file_writer(str(run_dir)).as_default():
        for step in range(3):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)


def event_file(run_dir):
    (path,) = glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*"))
    return path


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Real range tests, written by `LRFinder`, plus damaged and partial runs.

    Runs: `adam_exp` (exponential, validation, smoothing 0.9), `sgd_linear`
    (linear), `sgd_nan` (its loss goes NaN), `short` (2 steps), `running`
    (unclosed), `garbage` (an event file with junk appended), `truncated`
    (an event file cut in half), `empty` (a result and no step) and `plain`
    (ordinary scalars only).
    """
    logdir = tmp_path_factory.mktemp("trained")
    x, y = logdirs.load_digits()
    finders = {
        "adam_exp": logdirs.train_range_test(logdir, "adam_exp", x, y, validation=True,
                                             smoothing=0.9),
        "sgd_linear": logdirs.train_range_test(logdir, "sgd_linear", x, y, mode="linear",
                                               optimizer="sgd", min_lr=1e-3, max_lr=2.0),
        "sgd_nan": logdirs.train_range_test(logdir, "sgd_nan", x, y, optimizer="sgd",
                                            min_lr=1.0, max_lr=1e38, stop_factor=None),
    }
    assert finders["sgd_nan"].stop_reason == "non_finite_loss"
    logdirs.write_synthetic(logdir, "short", 2)
    logdirs.write_synthetic(logdir, "empty", 0)  # closed before its first step
    running = logdirs.write_synthetic(logdir, "running", 50, finished=False)
    for name, source, damage in (("garbage", "adam_exp", "append"),
                                 ("truncated", "sgd_linear", "cut")):
        os.makedirs(logdir / name)
        target = os.path.join(logdir, name, os.path.basename(event_file(logdir / source)))
        shutil.copyfile(event_file(logdir / source), target)
        with open(target, "r+b") as handle:
            if damage == "append":
                handle.seek(0, os.SEEK_END)
                handle.write(b"\x13\x37garbage" * 97)
            else:
                handle.truncate(os.path.getsize(target) // 2 + 5)
    write_plain_scalars(logdir / "plain")
    client, multiplexer = serve(logdir)
    yield {"logdir": logdir, "client": client, "finders": finders}
    running.close({"stop_reason": "completed", "steps": 50, "suggestion": None})


@pytest.fixture(scope="module")
def client(trained):
    return trained["client"]


@pytest.fixture(scope="module")
def big_logdir(tmp_path_factory):
    """One finished 100,000-step synthetic run, a small one and a truncated one."""
    logdir = tmp_path_factory.mktemp("big")
    logdirs.write_synthetic(logdir, "big", BIG_STEPS, accuracy=False)
    logdirs.write_synthetic(logdir, "small", 100)
    logdirs.write_synthetic(logdir, "broken", 100)
    path = event_file(logdir / "broken")
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 3)
    return logdir


@pytest.fixture(scope="module")
def many_logdir(tmp_path_factory):
    """40 synthetic runs of 200 steps, with nested and odd names."""
    logdir = tmp_path_factory.mktemp("many")
    names = ["sweep/wd_%02d" % i for i in range(38)] + ["<img src=x onerror=alert(1)>", "a b&c"]
    for i, name in enumerate(names):
        logdirs.write_synthetic(logdir, name, 200, seed=i, val_every=10,
                                mode="linear" if i % 2 else "exponential")
    return logdir, names


# ------------------------------------------------------ loading and metadata


def test_entry_point_module_imports_neither_tensorflow_nor_keras():
    code = ("import sys, tb_lr_range.plugin; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith(('tensorflow', 'keras')))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_entry_point_is_registered():
    loaders = [spec for spec in default.get_dynamic_plugins()
               if getattr(spec, "__module__", "") == "tb_lr_range.plugin"]
    assert loaders == [plugin.LRRangeLoader]


def test_fix_flags_keeps_every_step_unless_told_otherwise():
    loader = plugin.LRRangeLoader()
    flags = argparse.Namespace(samples_per_plugin={"images": 3})
    loader.fix_flags(flags)
    assert flags.samples_per_plugin == {"images": 3, "lr_range": 0}
    assert loader.load(base_plugin.TBContext(sampling_hints=flags.samples_per_plugin)) \
        ._downsample == plugin._ALL_POINTS

    loader = plugin.LRRangeLoader()
    flags = argparse.Namespace(samples_per_plugin={"lr_range": 250})
    loader.fix_flags(flags)
    assert flags.samples_per_plugin == {"lr_range": 250}
    assert loader.load(base_plugin.TBContext(sampling_hints={}))._downsample == 250

    for given in (0, -1):
        loader = plugin.LRRangeLoader()
        loader.fix_flags(argparse.Namespace(samples_per_plugin={"lr_range": given}))
        assert loader.load(base_plugin.TBContext())._downsample == plugin._ALL_POINTS


def test_fix_flags_never_raises_on_odd_flags():
    flags = argparse.Namespace()
    plugin.LRRangeLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"lr_range": 0}
    flags = argparse.Namespace(samples_per_plugin="not parsed")
    plugin.LRRangeLoader().fix_flags(flags)
    assert flags.samples_per_plugin == "not parsed"
    plugin.LRRangeLoader().fix_flags(object())


def test_fix_flags_through_tensorboards_own_flag_parsing(tmp_path):
    for argv, expected in (([], 0), (["--samples_per_plugin", "scalars=5,lr_range=77"], 77)):
        loader = plugin.LRRangeLoader()
        board = program.TensorBoard(plugins=[core_plugin.CorePluginLoader(), loader])
        board.configure(argv=[None, "--logdir", str(tmp_path)] + argv)
        assert board.flags.samples_per_plugin["lr_range"] == expected
        assert loader._user_samples == (None if expected == 0 else 77)


def test_plugin_metadata():
    instance = plugin.LRRangePlugin(base_plugin.TBContext())
    assert instance.plugin_name == metadata.PLUGIN_NAME == "lr_range"
    assert instance.data_plugin_names() == ("lr_range",)
    frontend = instance.frontend_metadata()
    assert (frontend.es_module_path, frontend.tab_name) == ("/index.js", "LR Range")
    assert set(instance.get_plugin_apps()) == {"/index.js", "/static/*", "/runs", "/curves"}
    assert instance.is_active() is False


def test_plugins_listing_and_is_active(client, tmp_path):
    listing = strict_json(client.get("/data/plugins_listing").data)["lr_range"]
    assert listing["enabled"] is True
    assert listing["tab_name"] == "LR Range"
    assert listing["loading_mechanism"] == {"type": "IFRAME",
                                           "module_path": "/data/plugin/lr_range/index.js"}

    write_plain_scalars(tmp_path / "plain")
    other, _ = serve(tmp_path)
    assert strict_json(other.get("/data/plugins_listing").data)["lr_range"]["enabled"] is False


def test_is_active_reads_the_data_provider(trained, tmp_path):
    def active(logdir):
        multiplexer = plugin_event_multiplexer.EventMultiplexer()
        multiplexer.AddRunsFromDirectory(str(logdir))
        multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
        return plugin.LRRangePlugin(base_plugin.TBContext(data_provider=provider)).is_active()

    assert active(trained["logdir"]) is True
    assert active(tmp_path) is False


# ------------------------------------------------------------------- runs


def test_runs_lists_range_tests_with_config_and_result(trained, client):
    runs = get_json(client, "runs")["runs"]
    names = [run["run"] for run in runs]
    assert names == sorted(names)
    assert set(names) == {"adam_exp", "sgd_linear", "sgd_nan", "short", "running", "garbage",
                          "truncated", "empty"}  # not "plain"
    by_name = {run["run"]: run for run in runs}

    adam = by_name["adam_exp"]
    finder = trained["finders"]["adam_exp"]
    assert adam["status"] == "finished"
    assert adam["config"] == finder.config()
    assert adam["config"]["smoothing"] == 0.9
    assert adam["series"] == ["loss", "accuracy", "val_loss"]
    assert adam["last_step"] == len(finder.history["loss"]) - 1 == 39
    assert adam["result"]["stop_reason"] == "completed"
    assert adam["result"]["steps"] == 40
    assert adam["result"]["suggestion"]["lr"] == pytest.approx(finder.suggest().lr)

    assert by_name["sgd_linear"]["config"]["mode"] == "linear"
    assert by_name["sgd_nan"]["result"]["stop_reason"] == "non_finite_loss"
    assert by_name["sgd_nan"]["last_step"] == len(trained["finders"]["sgd_nan"].history["loss"]) - 1
    assert by_name["short"]["result"]["suggestion"] is None

    running = by_name["running"]
    assert running["status"] == "running"
    assert running["result"] is None
    assert running["last_step"] == 49
    assert by_name["truncated"]["status"] == "running"  # its result tag was cut off
    assert by_name["empty"]["series"] == [] and by_name["empty"]["status"] == "finished"


def test_runs_is_empty_without_range_tests(tmp_path):
    empty, _ = serve(tmp_path)
    assert get_json(empty, "runs") == {"runs": []}
    write_plain_scalars(tmp_path / "plain")
    plain, _ = serve(tmp_path)
    assert get_json(plain, "runs") == {"runs": []}


# ----------------------------------------------------------------- curves


def test_curves_match_the_callbacks_history(trained, client):
    finder = trained["finders"]["adam_exp"]
    document = get_json(client, "curves?run=adam_exp")
    assert document["smoothing"] == 0.9  # the run's own
    assert document["method"] == analysis.DEFAULT_METHOD == "minimum"
    (run,) = document["runs"]
    assert run["run"] == "adam_exp"
    assert (run["mode"], run["status"], run["stop_reason"]) == ("exponential", "finished",
                                                                "completed")
    assert list(run["series"]) == ["loss"]
    loss = run["series"]["loss"]
    n = len(finder.history["loss"])
    assert loss["step"] == list(range(n))
    lrs, values = floats(loss["lr"]), floats(loss["value"])
    np.testing.assert_array_equal(lrs, as_float32(finder.history["lr"]))
    np.testing.assert_array_equal(values, as_float32(finder.history["loss"]))
    np.testing.assert_allclose(floats(loss["smoothed"]), analysis.ema(values, 0.9))
    expected_slope = analysis.readable_derivative(lrs, values, "exponential", 0.9)
    np.testing.assert_allclose(floats(loss["derivative"]), expected_slope)
    assert loss["higher_is_better"] is False
    expected = analysis.suggest(lrs, values, "exponential", 0.9, "minimum").to_dict()
    assert loss["suggestion"] == expected
    assert loss["suggestion"]["lr"] == pytest.approx(finder.suggest().lr, rel=1e-3)


def test_curves_of_several_runs_and_series_in_one_request(trained, client):
    path = "curves?" + query(("run", "sgd_linear"), ("run", "adam_exp"), ("run", "adam_exp"),
                             ("series", "accuracy"), ("series", "loss"),
                             ("smoothing", "0.5"), ("method", "steep"))
    document = get_json(client, path)
    assert (document["smoothing"], document["method"]) == (0.5, "steep")
    assert [run["run"] for run in document["runs"]] == ["sgd_linear", "adam_exp"]
    linear, adam = document["runs"]
    assert linear["mode"] == "linear" and adam["mode"] == "exponential"
    assert adam["smoothing"] == linear["smoothing"] == 0.5
    assert list(adam["series"]) == list(linear["series"]) == ["accuracy", "loss"]

    accuracy = adam["series"]["accuracy"]
    assert accuracy["higher_is_better"] is True
    history = trained["finders"]["adam_exp"].history
    np.testing.assert_array_equal(floats(accuracy["value"]), as_float32(history["accuracy"]))
    expected = analysis.suggest(floats(accuracy["lr"]), floats(accuracy["value"]),
                                "exponential", 0.5, "steep", higher_is_better=True)
    assert accuracy["suggestion"] == expected.to_dict()
    assert accuracy["suggestion"]["method"] == "steep"

    validation = get_json(client, "curves?run=adam_exp&series=val_loss&series=loss")[
        "runs"][0]["series"]["val_loss"]
    recorded = [i for i, v in enumerate(history["val_loss"]) if not np.isnan(v)]
    assert validation["step"] == recorded and len(recorded) < len(history["loss"])
    np.testing.assert_array_equal(floats(validation["lr"]),
                                  as_float32(np.array(history["lr"])[recorded]))

    lrs = floats(linear["series"]["loss"]["lr"])
    values = floats(linear["series"]["loss"]["value"])
    np.testing.assert_allclose(np.diff(lrs), np.diff(lrs)[0], rtol=1e-3)  # a linear sweep
    np.testing.assert_allclose(
        floats(linear["series"]["loss"]["derivative"]),
        analysis.readable_derivative(lrs, values, "linear", 0.5))


@pytest.mark.parametrize("method", analysis.METHODS)
def test_every_method(client, method):
    document = get_json(client, "curves?run=adam_exp&method=" + method)
    suggestion = document["runs"][0]["series"]["loss"]["suggestion"]
    assert suggestion["method"] == method
    assert suggestion["lr"] == suggestion["methods"][method]


def test_smoothing_zero_returns_the_raw_values(client):
    loss = get_json(client, "curves?run=sgd_linear&smoothing=0")["runs"][0]["series"]["loss"]
    assert loss["smoothed"] == loss["value"]


def test_nan_loss_comes_through_as_valid_json(trained, client):
    body = client.get(ROUTE + "curves?run=sgd_nan").data
    run = strict_json(body)["runs"][0]
    assert (run["status"], run["stop_reason"]) == ("finished", "non_finite_loss")
    loss = run["series"]["loss"]
    history = trained["finders"]["sgd_nan"].history["loss"]
    assert len(loss["value"]) == len(history) and np.isnan(history[-1])
    assert loss["value"][-1] == "NaN" and loss["smoothed"][-1] == "NaN"
    assert loss["derivative"][-1] == "NaN"
    assert all(isinstance(v, float) for v in loss["value"][:-1])
    # The derivative covers the curve up to where it diverged, NaN after.
    readable = [v for v in loss["derivative"] if v != "NaN"]
    assert len(readable) >= 3 and all(isinstance(v, float) for v in readable)
    assert loss["derivative"][:len(readable)] == readable
    assert loss["suggestion"] is not None
    assert loss["suggestion"]["index"] < len(history) - 1


def test_too_short_a_run_has_no_suggestion(client):
    loss = get_json(client, "curves?run=short")["runs"][0]["series"]["loss"]
    assert loss["step"] == [0, 1]
    assert loss["suggestion"] is None
    assert loss["derivative"] != []


def test_running_run_returns_what_exists_and_grows(tmp_path):
    writer = logdirs.write_synthetic(tmp_path, "live", 30, finished=False)
    live, multiplexer = serve(tmp_path)
    first = get_json(live, "curves?run=live")["runs"][0]
    assert (first["status"], first["stop_reason"]) == ("running", None)
    assert first["series"]["loss"]["step"] == list(range(30))
    assert get_json(live, "runs")["runs"][0]["status"] == "running"

    lrs, loss, _ = logdirs.synthetic_curve(60)
    for step in range(30, 60):
        writer.add(step, {"lr": float(lrs[step]), "loss": float(loss[step])})
    writer.flush()
    multiplexer.Reload()
    grown = get_json(live, "curves?run=live")["runs"][0]
    assert grown["series"]["loss"]["step"] == list(range(60))
    assert grown["status"] == "running"

    writer.close({"stop_reason": "completed", "steps": 60, "suggestion": None}, step=59)
    multiplexer.Reload()
    done = get_json(live, "runs")["runs"][0]
    assert (done["status"], done["result"]["stop_reason"]) == ("finished", "completed")


def test_corrupt_event_files_do_not_break_other_runs(trained, client):
    runs = {run["run"]: run for run in get_json(client, "runs")["runs"]}
    assert runs["garbage"]["last_step"] == runs["adam_exp"]["last_step"]
    assert runs["truncated"]["last_step"] < runs["sgd_linear"]["last_step"]
    document = get_json(client, "curves?" + query(
        ("run", "garbage"), ("run", "truncated"), ("run", "adam_exp"), ("run", "sgd_linear")))
    garbage, truncated, adam, linear = (run["series"]["loss"] for run in document["runs"])
    assert garbage == adam
    assert 0 < len(truncated["step"]) < len(linear["step"])
    assert truncated["value"] == linear["value"][:len(truncated["value"])]


def test_many_runs_in_one_request_with_one_read(many_logdir):
    logdir, names = many_logdir
    calls = []

    class CountingProvider(data_provider.MultiplexerDataProvider):
        def read_scalars(self, *args, **kwargs):
            calls.append("read_scalars")
            return super().read_scalars(*args, **kwargs)

        def list_scalars(self, *args, **kwargs):
            calls.append("list_scalars")
            return super().list_scalars(*args, **kwargs)

    many, _ = serve(logdir, provider_class=CountingProvider)
    listed = get_json(many, "runs")["runs"]
    assert [run["run"] for run in listed] == sorted(names)
    assert all(run["series"] == ["loss", "accuracy", "val_loss"] for run in listed)

    calls.clear()
    order = names[::-1]
    path = "curves?" + query(*[("run", name) for name in order],
                             ("series", "loss"), ("series", "val_loss"))
    document = get_json(many, path)
    assert calls == ["list_scalars", "read_scalars"]
    assert [run["run"] for run in document["runs"]] == order
    for i, run in enumerate(document["runs"]):
        assert run["mode"] == ("linear" if names.index(run["run"]) % 2 else "exponential")
        assert len(run["series"]["loss"]["step"]) == 200
        assert run["series"]["val_loss"]["step"] == list(range(0, 200, 10))
        assert run["series"]["loss"]["suggestion"] is not None


def test_every_one_of_100000_steps_is_served(big_logdir):
    big, _ = serve(big_logdir)
    loss = get_json(big, "curves?run=big")["runs"][0]["series"]["loss"]
    assert loss["step"] == list(range(BIG_STEPS))
    expected_lrs, _, _ = logdirs.synthetic_curve(BIG_STEPS)
    np.testing.assert_array_equal(floats(loss["lr"]), as_float32(expected_lrs))
    assert loss["suggestion"] is not None
    runs = {run["run"]: run for run in get_json(big, "runs")["runs"]}
    assert runs["big"]["last_step"] == BIG_STEPS - 1
    assert runs["broken"]["status"] == "running" and runs["small"]["status"] == "finished"


def test_user_samples_per_plugin_is_honoured(big_logdir):
    sampled, _ = serve(big_logdir, ["--samples_per_plugin", "lr_range=500"])
    loss = get_json(sampled, "curves?run=big")["runs"][0]["series"]["loss"]
    steps = np.array(loss["step"])
    assert len(steps) == 500 and steps[-1] == BIG_STEPS - 1 and np.all(np.diff(steps) > 0)
    expected_lrs, _, _ = logdirs.synthetic_curve(BIG_STEPS)
    np.testing.assert_allclose(floats(loss["lr"]), expected_lrs[steps], rtol=1e-6)


# ----------------------------------------------------------------- errors


def test_missing_run_is_a_400_naming_it(client):
    for path in ("curves", "curves?series=loss", "curves?run="):
        assert "`run`" in error_text(client, path, 400)


@pytest.mark.parametrize("value", ["abc", "1", "1.5", "-0.1", "nan", "inf", ""])
def test_malformed_smoothing_is_a_400(client, value):
    text = error_text(client, "curves?run=adam_exp&smoothing=" + value, 400)
    assert "`smoothing`" in text and "[0, 1)" in text


def test_malformed_method_is_a_400_listing_the_methods(client):
    text = error_text(client, "curves?run=adam_exp&method=fastest", 400)
    assert "`method`" in text and "'fastest'" in text
    assert all(method in text for method in analysis.METHODS)


def test_empty_series_is_a_400(client):
    assert "`series`" in error_text(client, "curves?run=adam_exp&series=", 400)


def test_unknown_runs_are_a_404_naming_them(client):
    assert "'nope'" in error_text(client, "curves?run=nope", 404)
    text = error_text(client, "curves?run=adam_exp&run=nope&run=plain", 404)
    assert "'nope'" in text and "'plain'" in text and "adam_exp" not in text


def test_unrecorded_series_is_a_404_listing_the_recorded_ones(client):
    text = error_text(client, "curves?run=sgd_linear&series=val_loss&series=auc", 404)
    assert "'sgd_linear'" in text and "'val_loss'" in text and "'auc'" in text
    assert "loss, accuracy" in text


def test_run_without_steps_is_a_404_for_its_series(client):
    text = error_text(client, "curves?run=empty", 404)
    assert "'empty'" in text and "'loss'" in text and "nothing yet" in text


def test_no_request_gives_a_500(client):
    paths = ["runs?run=x", "curves?run=short&series=accuracy&smoothing=0.999999",
             "curves?run=sgd_nan&series=accuracy&method=range&smoothing=0",
             "curves?run=running&run=truncated&run=garbage", "curves?run=%FF%FE",
             "curves?run=adam_exp&smoothing=1e309", "static/", "static//", "static/%00.js",
             "curves?run=adam_exp&method="]
    for path in paths:
        response = client.get(ROUTE + path)
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        if response.mimetype == "application/json":
            strict_json(response.data)


# ----------------------------------------------------------------- static


def frontend_dir():
    from tb_lr_range import frontend

    return os.path.dirname(frontend.__file__)


def test_index_js_is_served_as_javascript(client):
    path = os.path.join(frontend_dir(), "index.js")
    if not os.path.exists(path):
        pytest.skip("the panel's index.js is not written yet")
    response = client.get(ROUTE + "index.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with open(path, "rb") as source:
        assert response.data == source.read()


def test_static_files_are_served_with_their_types(client):
    served = 0
    for path in sorted(glob.glob(os.path.join(frontend_dir(), "**", "*"), recursive=True)):
        name = os.path.relpath(path, frontend_dir()).replace(os.sep, "/")
        extension = os.path.splitext(name)[1]
        if extension not in plugin._STATIC_TYPES or name.startswith((".", "_")):
            continue
        response = client.get(ROUTE + "static/" + name)
        assert response.status_code == 200, name
        assert response.mimetype == plugin._STATIC_TYPES[extension]
        with open(path, "rb") as source:
            assert response.data == source.read()
        served += 1
    if not served:
        pytest.skip("the panel has no files yet")


@pytest.mark.parametrize("name", [
    "__init__.py", "../plugin.py", "..%2Fplugin.py", "%2e%2e/curves.py", "../../setup.py",
    "/etc/passwd", ".hidden.js", "nope.js", "index.exe", "..", "sub/../index.js",
    "%2Fetc%2Fpasswd.js",
])
def test_static_refuses_anything_else(client, name):
    response = client.get(ROUTE + "static/" + name)
    assert response.status_code == 404, name


# --------------------------------------------------- real tensorboard process


def _fetch(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return strict_json(response.read())


@pytest.mark.parametrize("load_fast, argv, expected_points", [
    ("true", [], BIG_STEPS),
    ("false", [], BIG_STEPS),
    ("true", ["--samples_per_plugin", "lr_range=1000"], 1000),
])
def test_real_tensorboard_server(big_logdir, tmp_path, load_fast, argv, expected_points):
    """Starts `tensorboard` (subprocess, loopback, free port) and reads the tab's data.

    With default flags both loaders keep every step of a 100,000-step test;
    a user's `--samples_per_plugin lr_range=N` is honoured; a truncated
    event file does not hide the other runs.
    """
    port = free_port()
    log = open(tmp_path / "tensorboard.log", "w+")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(big_logdir),
         "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "0",
         "--load_fast", load_fast] + argv,
        stdout=log, stderr=subprocess.STDOUT, env=env)
    base = "http://127.0.0.1:%d/data/" % port
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "tensorboard exited"
            assert time.monotonic() < deadline, "tensorboard did not load the logdir in time"
            try:
                runs = {run["run"]: run for run in _fetch(base + "plugin/lr_range/runs")["runs"]}
                if runs.get("big", {}).get("status") == "finished" and "small" in runs:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.3)
        assert _fetch(base + "plugins_listing")["lr_range"]["enabled"] is True
        assert runs["small"]["status"] == "finished" and runs["broken"]["status"] == "running"
        document = _fetch(base + "plugin/lr_range/curves?run=big&run=small")
        big, small = (run["series"]["loss"] for run in document["runs"])
        assert len(big["step"]) == expected_points and big["step"][-1] == BIG_STEPS - 1
        if expected_points == BIG_STEPS:
            assert big["step"] == list(range(BIG_STEPS))
        assert small["step"] == list(range(100))
    except BaseException:
        log.seek(0)
        print(log.read()[-4000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# ------------------------------------------------- curves, without a server


def test_to_arrays_sorts_steps_and_keeps_the_last_duplicate():
    data = [provider.ScalarDatum(step, 0.0, value)
            for step, value in ((2, 0.2), (0, 0.0), (1, 0.1), (1, 0.15))]
    steps, values = curves.to_arrays(data)
    assert steps.tolist() == [0, 1, 2] and values.tolist() == [0.0, 0.15, 0.2]
    steps, values = curves.to_arrays([])
    assert steps.dtype == np.int64 and len(values) == 0


def test_align_lr_matches_steps_and_interpolates_between_them():
    lr_steps = np.array([0, 2, 4])
    lr_values = np.array([1e-3, 1e-2, 1e-1])
    aligned = curves.align_lr(lr_steps, lr_values, np.array([0, 1, 2, 4, 5]), "exponential")
    np.testing.assert_allclose(aligned[:4], [1e-3, 10 ** -2.5, 1e-2, 1e-1])
    assert np.isnan(aligned[4])
    linear = curves.align_lr(lr_steps, lr_values, np.array([1, 3]), "linear")
    np.testing.assert_allclose(linear, [0.0055, 0.055])
    assert np.isnan(curves.align_lr(lr_steps[:0], lr_values[:0], np.array([0]))).all()


def test_dumps_writes_valid_json_for_every_float():
    document = {"a": np.array([1.5, np.nan, np.inf, -np.inf]), "b": [np.float32(2.0), np.nan],
                "c": np.arange(3), "d": {"e": float("-inf"), "f": None, "g": np.bool_(True)}}
    assert strict_json(curves.dumps(document)) == {
        "a": [1.5, "NaN", "Infinity", "-Infinity"], "b": [2.0, "NaN"], "c": [0, 1, 2],
        "d": {"e": "-Infinity", "f": None, "g": True}}
