"""End to end: the LR Range tab in a real TensorBoard, driven in headless Chromium.

One logdir of real range tests (tiny Keras models on scikit-learn's digits,
written by `LRFinder`) is shared by every TensorBoard mode: `--load_fast=true`
(Rust data server), `--load_fast=false` (Python loader) and
`--path_prefix=/some/prefix`. Each test starts its own `tensorboard`
subprocess on a free loopback port and always kills it.

TensorBoard lists a plugin without data as "inactive" but still shows it when
the URL selects it (`/#lr_range`), so the empty state is checked through the
normal UI too, after checking that `data/plugins_listing` reports the plugin
disabled.

Needs Debian's `chromium` (never a downloaded browser) and Python Playwright;
skipped without them. The screenshot of the tab goes to
`artifacts/lr_range_tab.png`.
"""

import contextlib
import json
import math
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "artifacts"
XSS_RUN = "<img src=x onerror=alert(1)>"
PLUGIN = "data/plugin/lr_range/"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def js_format(x, digits=3):
    """The panel's `formatNumber` (frontend/format.js), in Python."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    if 1e-3 <= abs(float(f"{x:.{digits}g}")) < 1e4:
        text = f"{x:.{digits}g}"
        if "e" not in text:
            return text
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def test_js_format_mirror():
    assert js_format(0.0031622776) == "0.00316"
    assert js_format(3.16227e-5) == "3.16e-5"
    assert js_format(1e-7) == "1e-7"
    assert js_format(0.5518367) == "0.552"
    assert js_format(12345) == "1.23e4"
    assert js_format(0.00099951) == "0.001"


# ----------------------------------------------------------------- fixtures


def _train(log_dir, run_name, x, y, optimizer, mode, validation=False):
    import keras

    from tb_lr_range import LRFinder

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    steps = 40
    extra = {}
    if validation:
        extra = dict(validation_data=(x[-256:], y[-256:]), validation_every=5)
    finder = LRFinder(min_lr=1e-4 if mode == "exponential" else 1e-3,
                      max_lr=10.0 if mode == "exponential" else 2.0,
                      steps_per_epoch=steps, epochs=1, mode=mode, log_dir=str(log_dir),
                      run_name=run_name, **extra)
    model.fit(x[:steps * 32], y[:steps * 32], batch_size=32, epochs=1, callbacks=[finder], verbose=0)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Three real range tests: Adam (with validation), SGD, and a hostile run name."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    root = tmp_path_factory.mktemp("lr_range_e2e")
    _train(root, "adam", x, y, "adam", "exponential", validation=True)
    _train(root, "sgd", x, y, "sgd", "exponential")
    _train(root, XSS_RUN, x, y, "adam", "linear")
    return root


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@contextlib.contextmanager
def tensorboard(logdir, *flags, prefix="", expect_runs=True):
    """Runs `tensorboard` on a free loopback port; yields its base URL (ending in /)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for attempt in range(2):
        port = _free_port()
        command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                   "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "0", *flags]
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}{prefix}/"
        try:
            deadline = time.monotonic() + 90
            ready = False
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    listing = _get(base + "data/plugins_listing", timeout=5)
                    if "lr_range" in listing:
                        if not expect_runs or _get(base + PLUGIN + "runs", timeout=10)["runs"]:
                            ready = True
                            break
                except (OSError, ValueError):
                    pass
                time.sleep(0.5)
            if ready:
                yield base
                return
            if process.poll() is None or attempt == 1:
                process.kill()
                process.wait(timeout=10)
                log.seek(0)
                output = log.read().decode("utf-8", "replace")
                raise AssertionError(f"tensorboard did not become ready:\n{output[-3000:]}")
        finally:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(Exception):
                process.wait(timeout=10)
            log.close()


def open_tab(browser, base, dialogs):
    """Opens `base#lr_range`; returns (page, plugin frame, list of page errors)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "#lr_range")
    frame = None
    deadline = time.monotonic() + 30
    while frame is None and time.monotonic() < deadline:
        frame = next((f for f in page.frames if "plugin_entry.html?name=lr_range" in f.url), None)
        if frame is None:
            page.wait_for_timeout(100)
    assert frame is not None, "TensorBoard did not load the LR Range iframe"
    return page, frame, errors


# --------------------------------------------------------------------- tests

MODES = [
    pytest.param(["--load_fast=true"], "", id="load_fast_true"),
    pytest.param(["--load_fast=false", "--reload_task=blocking"], "", id="load_fast_false"),
    pytest.param(["--path_prefix=/some/prefix"], "/some/prefix", id="path_prefix"),
]


@pytest.mark.parametrize("flags,prefix", MODES)
def test_tab_matches_backend(browser, logdir, flags, prefix):
    with tensorboard(logdir, *flags, prefix=prefix) as base:
        runs = _get(base + PLUGIN + "runs")["runs"]
        names = [r["run"] for r in runs]
        assert sorted(names) == sorted(["adam", "sgd", XSS_RUN])

        dialogs = []
        page, frame, errors = open_tab(browser, base, dialogs)
        try:
            frame.wait_for_selector("#lr-range-root[data-drawn]", timeout=30000)
            # The iframe resolved everything relative to the plugin route.
            assert frame.url.startswith(base + "data/plugin_entry.html")

            # Runs listed = the backend's runs, in order, as literal text.
            assert frame.locator(".lr-run-name").all_text_contents() == names

            # Charts drawn: one smoothed path per run, with real path data.
            lines = frame.locator("svg.lr-main-chart path.lr-line")
            assert lines.count() == len(names)
            for d in lines.evaluate_all("els => els.map(e => e.getAttribute('d'))"):
                assert d.startswith("M") and d.count("L") >= 10, d[:80]
            assert frame.locator("svg.lr-main-chart path.lr-raw").count() == len(names)
            assert frame.locator("svg.lr-deriv-chart path.lr-line").count() == len(names)
            assert frame.locator("svg.lr-step-chart path.lr-line").count() == len(names)

            # Suggested LR shown = the backend's for the same request.
            query = urllib.parse.urlencode(
                [("run", n) for n in names] + [("series", "loss"), ("smoothing", "0.98"),
                                                ("method", "valley")])
            curves = _get(base + PLUGIN + "curves?" + query)
            expected = {r["run"]: r["series"]["loss"]["suggestion"] for r in curves["runs"]}
            rows = frame.locator("tr.lr-suggestion-row")
            assert rows.count() == len(names)
            for k in range(rows.count()):
                row = rows.nth(k)
                run = row.locator(".lr-sugg-run").text_content()
                suggestion = expected[run]
                assert suggestion is not None, run
                shown = row.locator(".lr-suggested")
                assert shown.text_content() == js_format(suggestion["lr"])
                assert float(shown.get_attribute("data-value")) == suggestion["lr"]
                assert row.locator(".lr-range-text").text_content() == (
                    f"{js_format(suggestion['min_lr'])} – {js_format(suggestion['max_lr'])}")

            # The hostile run name is text, not markup, and ran nothing.
            assert XSS_RUN in frame.locator(".lr-run-list").inner_text()
            assert XSS_RUN in frame.locator(".lr-legend").inner_text()
            assert frame.locator("img").count() == 0
            assert page.locator("img[src='x']").count() == 0

            if prefix == "":
                if "--load_fast=true" in flags:
                    _check_interactions(page, frame, names)
                    ARTIFACTS.mkdir(exist_ok=True)
                    frame.locator("#lr-range-root").evaluate("el => el.querySelector('.lr-main').scrollTo(0, 0)")
                    page.screenshot(path=str(ARTIFACTS / "lr_range_tab.png"))
            else:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "lr_range_tab_path_prefix.png"))
            page.wait_for_timeout(200)
            assert dialogs == [], dialogs
            assert errors == [], errors
        finally:
            page.close()


def _check_interactions(page, frame, names):
    """Hover read-out, zoom, metric and smoothing changes, export, errors."""
    chart = frame.locator("svg.lr-main-chart")
    box = chart.bounding_box()
    # Hover: a read-out naming the runs at the nearest points.
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.4)
    tooltip = frame.locator(".lr-tooltip")
    tooltip.wait_for(state="visible", timeout=5000)
    text = tooltip.inner_text()
    assert "Step" in text and "LR" in text and "derivative" in text
    assert any(name in text for name in names)

    # Zoom by dragging across the LR axis, reset by double-click.
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    assert "zoom" in frame.locator(".lr-zoom-note").text_content()
    assert frame.locator(".lr-zoom-note").text_content().startswith("zoom ")
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, y)
    assert frame.locator(".lr-zoom-note").text_content().startswith("drag")

    # Export: CSV download of the data shown.
    with page.expect_download() as info:
        frame.locator("button[data-export='csv']").click()
    path = info.value.path()
    lines = pathlib.Path(path).read_text().splitlines()
    assert lines[0] == "run,series,step,lr,value,smoothed,derivative"
    assert len(lines) > 3 * 30
    with page.expect_download() as info:
        frame.locator("button[data-export='svg']").click()
    svg_text = pathlib.Path(info.value.path()).read_text()
    assert svg_text.startswith("<svg") and "&lt;img src=x onerror=alert(1)&gt;" in svg_text

    # Metric selector: every series of the selected runs; switching redraws.
    options = frame.locator("select.lr-series option").all_text_contents()
    assert options[0] == "loss" and "accuracy" in options and "val_loss" in options
    drawn = frame.locator("#lr-range-root").get_attribute("data-drawn")
    frame.locator("select.lr-series").select_option("accuracy")
    frame.wait_for_function(
        f"() => document.querySelector('#lr-range-root').getAttribute('data-drawn') !== '{drawn}'")
    assert frame.locator("h2.lr-main-title").text_content() == "accuracy against learning rate"

    # Smoothing change re-requests the curves with smoothing=.
    with page.expect_request(lambda r: "curves?" in r.url and "smoothing=0.5" in r.url):
        frame.locator("input.lr-smoothing-number").fill("0.5")
        frame.locator("input.lr-smoothing-number").dispatch_event("change")

    # A backend error is shown in the panel.
    def is_curves(url):
        return "/curves?" in url

    page.route(is_curves, lambda route: route.fulfill(
        status=400, content_type="text/plain", body="Parameter `smoothing` must be a number"))
    frame.locator("button.lr-reload").click()
    error = frame.locator(".lr-error")
    error.wait_for(state="visible", timeout=5000)
    assert "Parameter `smoothing` must be a number" in error.inner_text()
    page.unroute(is_curves)
    frame.locator("select.lr-series").select_option("loss")
    frame.locator("input.lr-smoothing-number").fill("0.98")
    frame.locator("input.lr-smoothing-number").dispatch_event("change")
    error.wait_for(state="hidden", timeout=10000)
    frame.wait_for_function(
        "() => !document.querySelector('#lr-range-root').hasAttribute('data-busy')"
        " && document.querySelector('h2.lr-main-title').textContent.startsWith('loss ')")
    page.mouse.move(5, 300)
    frame.evaluate("() => document.activeElement && document.activeElement.blur()")


def test_empty_state(browser, tmp_path):
    """Without range tests the plugin is inactive, yet its tab opens on a helpful page."""
    (tmp_path / "not_a_range_test").mkdir()
    with tensorboard(tmp_path, prefix="", expect_runs=False) as base:
        listing = _get(base + "data/plugins_listing")
        assert listing["lr_range"]["enabled"] is False
        assert _get(base + PLUGIN + "runs") == {"runs": []}
        dialogs = []
        page, frame, errors = open_tab(browser, base, dialogs)
        try:
            empty = frame.locator(".lr-empty")
            empty.wait_for(state="visible", timeout=30000)
            text = empty.inner_text()
            assert "from tb_lr_range import LRFinder" in text
            assert 'model.fit(x, y, callbacks=[LRFinder(log_dir="logs/lr_range")])' in text
            assert frame.locator(".lr-content").is_hidden()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "lr_range_empty.png"))
            assert errors == [] and dialogs == []
        finally:
            page.close()
