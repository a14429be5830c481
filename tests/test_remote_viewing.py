"""A TensorBoard on a remote machine, viewed through a real reverse proxy.

`tensorboard --path_prefix=/tb` runs on a free loopback port and Debian's
nginx, on another, forwards `/tb/` to it with the location block README's
"Viewing remote training logs" shows (`tb_harness.NGINX_CONF`). Through the
proxy only: the plugin's JSON is the same as TensorBoard's own, and headless
Chromium opens `http://127.0.0.1:PORT/tb/#lr_range` and sees the chart, no
request of the page bypassing the proxy. Both servers are started once for the
module and always stopped.

nginx is required: without it these tests fail (CI installs it, see .ci/run).
The browser test needs Debian's `chromium` and Python Playwright, and is
skipped without them, like test_e2e.py. The screenshot goes to
`artifacts/lr_range_tab_proxy.png`.
"""

import urllib.parse
import urllib.request

import pytest

import tb_harness
from tb_harness import ARTIFACTS, NO_NGINX, PLUGIN, XSS_RUN, get_json

PREFIX = "/tb"


@pytest.fixture(scope="module")
def servers(range_logdir):
    """`(direct, proxied)` base URLs of one TensorBoard; None without nginx."""
    if tb_harness.NGINX is None:
        yield None  # each test fails on it, with NO_NGINX
        return
    with tb_harness.tensorboard(range_logdir, f"--path_prefix={PREFIX}", prefix=PREFIX) as direct:
        with tb_harness.nginx_proxy(direct, PREFIX) as proxied:
            yield direct, proxied


def _require(servers):
    assert servers is not None, NO_NGINX
    return servers


def test_proxy_serves_the_plugin_under_the_prefix(servers):
    direct, proxied = _require(servers)
    assert proxied.startswith("http://127.0.0.1:") and proxied.endswith(PREFIX + "/")
    assert proxied != direct

    listing = get_json(proxied + "data/plugins_listing")
    assert listing["lr_range"]["enabled"] is True
    runs = get_json(proxied + PLUGIN + "runs")
    assert runs == get_json(direct + PLUGIN + "runs")
    names = [r["run"] for r in runs["runs"]]
    assert sorted(names) == sorted(["adam", "sgd", XSS_RUN])

    # Every step of every run, the hostile name URL-encoded, unchanged by the proxy.
    query = urllib.parse.urlencode([("run", n) for n in names] + [("series", "loss")])
    curves = get_json(proxied + PLUGIN + "curves?" + query)
    assert curves == get_json(direct + PLUGIN + "curves?" + query)
    assert [r["run"] for r in curves["runs"]] == names
    assert all(len(r["series"]["loss"]["step"]) == 40 for r in curves["runs"])

    # The UI page, relative to the prefix; the bare prefix redirects to it.
    with urllib.request.urlopen(proxied, timeout=30) as response:
        assert response.status == 200
        assert b'<meta name="tb-relative-root" content="./">' in response.read(4096)
    with urllib.request.urlopen(proxied.rstrip("/"), timeout=30) as response:
        assert response.status == 200 and response.url == proxied


def test_tab_through_the_proxy(browser, servers):
    direct, proxied = _require(servers)
    names = [r["run"] for r in get_json(proxied + PLUGIN + "runs")["runs"]]
    dialogs, requests = [], []
    page, frame, errors = tb_harness.open_tab(browser, proxied, dialogs, requests)
    try:
        # SVG paths drawn, the runs listed = the backend's, the suggested LRs
        # shown = the backend's, all fetched through the proxy.
        tb_harness.check_tab_matches_backend(frame, proxied, names)
        assert XSS_RUN in frame.locator(".lr-run-list").inner_text()
        assert page.locator("img[src='x']").count() == 0

        # Nothing bypassed the proxy: every HTTP request went to it, under the
        # prefix, except the Roboto font files TensorBoard's own index.html
        # names by absolute path (`url(/font-roboto/...)`), whatever
        # --path_prefix says; they miss and the page falls back to other fonts.
        fetched = [url for url in requests if url.startswith(("http:", "https:"))]
        assert any(PLUGIN + "curves?" in url for url in fetched)
        origin = proxied[:-len(PREFIX + "/")]
        outside = [url for url in fetched if not url.startswith(proxied)]
        assert [url for url in outside if not url.startswith(origin + "/font-roboto/")] == []

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lr_range_tab_proxy.png"))
        page.wait_for_timeout(200)
        assert dialogs == [], dialogs
        assert errors == [], errors
    finally:
        page.close()
