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

The servers, the browser and the tab come from `tb_harness.py`; the logdir
(`range_logdir`) and `browser` fixtures from `conftest.py`, shared with
`test_remote_viewing.py`.

Needs Debian's `chromium` (never a downloaded browser) and Python Playwright;
skipped without them. The screenshot of the tab goes to
`artifacts/lr_range_tab.png`.
"""

import os
import pathlib

import pytest

from tb_harness import (ARTIFACTS, CHROMIUM, PLUGIN, XSS_RUN, check_tab_matches_backend,
                        get_json, js_format, open_tab, tensorboard)

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def test_js_format_mirror():
    assert js_format(0.0031622776) == "0.00316"
    assert js_format(3.16227e-5) == "3.16e-5"
    assert js_format(1e-7) == "1e-7"
    assert js_format(0.5518367) == "0.552"
    assert js_format(12345) == "1.23e4"
    assert js_format(0.00099951) == "0.001"


# --------------------------------------------------------------------- tests

MODES = [
    pytest.param(["--load_fast=true"], "", id="load_fast_true"),
    pytest.param(["--load_fast=false", "--reload_task=blocking"], "", id="load_fast_false"),
    pytest.param(["--path_prefix=/some/prefix"], "/some/prefix", id="path_prefix"),
]


@pytest.mark.parametrize("flags,prefix", MODES)
def test_tab_matches_backend(browser, range_logdir, flags, prefix):
    with tensorboard(range_logdir, *flags, prefix=prefix) as base:
        runs = get_json(base + PLUGIN + "runs")["runs"]
        names = [r["run"] for r in runs]
        assert sorted(names) == sorted(["adam", "sgd", XSS_RUN])

        dialogs = []
        page, frame, errors = open_tab(browser, base, dialogs)
        try:
            check_tab_matches_backend(frame, base, names)

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
        listing = get_json(base + "data/plugins_listing")
        assert listing["lr_range"]["enabled"] is False
        assert get_json(base + PLUGIN + "runs") == {"runs": []}
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
