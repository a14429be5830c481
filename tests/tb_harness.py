"""Real servers and a real browser for the end-to-end tests of the LR Range tab.

`tensorboard` runs a `tensorboard` subprocess on a free loopback port,
`nginx_proxy` runs Debian's nginx in front of it as a reverse proxy,
`launch_chromium` starts headless Debian `chromium` through Python
Playwright (never a downloaded browser), and `open_tab` opens the tab in it.
`write_range_logdir` writes the logdir of real range tests the e2e tests
share. Every server is stopped when its context exits, whatever happened.
"""

import contextlib
import json
import math
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import logdirs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# nginx lives in /usr/sbin, which is not on every user's PATH.
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
NO_NGINX = ("nginx is not installed: the reverse-proxy tests need Debian's nginx "
            "(`apt-get install nginx`, as .ci/run does)")
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "artifacts"
XSS_RUN = "<img src=x onerror=alert(1)>"
PLUGIN = "data/plugin/lr_range/"


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


def write_range_logdir(root):
    """Writes three real range tests into `root`: Adam (with validation), SGD, a hostile name.

    Each is a real `LRFinder` run of 40 steps on scikit-learn's digits.

    Returns:
        `root`.
    """
    x, y = logdirs.load_digits()
    logdirs.train_range_test(str(root), "adam", x, y, validation=True)
    logdirs.train_range_test(str(root), "sgd", x, y, optimizer="sgd")
    logdirs.train_range_test(str(root), XSS_RUN, x, y, mode="linear", min_lr=1e-3, max_lr=2.0)
    return root


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=30):
    """GETs `url` and decodes its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@contextlib.contextmanager
def tensorboard(logdir, *flags, prefix="", expect_runs=True):
    """Runs `tensorboard` on a free loopback port; yields its base URL (ending in /).

    Args:
        logdir: The `--logdir`.
        *flags: More `tensorboard` flags, e.g. `"--path_prefix=/tb"`.
        prefix: The path prefix those flags set ("" for none).
        expect_runs: Wait until the plugin lists at least one run.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for attempt in range(2):
        port = free_port()
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
                    listing = get_json(base + "data/plugins_listing", timeout=5)
                    if "lr_range" in listing:
                        if not expect_runs or get_json(base + PLUGIN + "runs", timeout=10)["runs"]:
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


# The location block is the one README's "Viewing remote training logs" shows.
# TensorBoard needs no special header (no WebSockets; it does not read
# X-Forwarded-*): Host is passed on so that anything it writes with the host
# names the proxy. Buffering is off so responses go straight through, never
# through temporary files.
NGINX_CONF = """\
worker_processes 1;
pid "{tmp}/nginx.pid";
error_log "{tmp}/error.log" info;
events {{
    worker_connections 64;
}}
http {{
    access_log "{tmp}/access.log";
    client_body_temp_path "{tmp}/client_body";
    proxy_temp_path "{tmp}/proxy";
    fastcgi_temp_path "{tmp}/fastcgi";
    uwsgi_temp_path "{tmp}/uwsgi";
    scgi_temp_path "{tmp}/scgi";
    server {{
        listen 127.0.0.1:{port};
        location {prefix}/ {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
        }}
    }}
}}
"""


def _nginx_stop(process):
    """Fast shutdown (SIGTERM); the whole process group is killed if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # start_new_session=True: the group is nginx's master and workers only.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def nginx_proxy(upstream, prefix):
    """Runs Debian's nginx on a free loopback port, forwarding `prefix/` to `upstream`.

    nginx runs in the foreground (`-g "daemon off;"`) from a config, pid file,
    logs and temporary paths all in a fresh temporary directory, so it needs
    no root-owned path.

    Args:
        upstream: The base URL of the server behind it, e.g.
            `http://127.0.0.1:6006/tb/`; its path must be `prefix/` (the
            request path is passed on unchanged).
        prefix: The path prefix, e.g. "/tb".

    Yields:
        The proxy's base URL for the prefix (ending in /).

    Raises:
        AssertionError: nginx is not installed, or did not start.
    """
    assert NGINX, NO_NGINX
    parsed = urllib.parse.urlsplit(upstream)
    assert parsed.hostname == "127.0.0.1" and parsed.path == prefix + "/", upstream
    tmp = tempfile.mkdtemp(prefix="nginx-")
    # Workers run as an unprivileged user when nginx starts as root: let them
    # reach their temporary directories, which the master creates for them.
    os.chmod(tmp, 0o755)
    try:
        for attempt in range(2):
            port = free_port()
            conf = os.path.join(tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(tmp=tmp, port=port, prefix=prefix,
                                          upstream_port=parsed.port))
            log = tempfile.TemporaryFile()
            process = subprocess.Popen([NGINX, "-c", conf, "-p", tmp, "-g", "daemon off;"],
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            base = f"http://127.0.0.1:{port}{prefix}/"
            try:
                deadline = time.monotonic() + 30
                ready = False
                while time.monotonic() < deadline and process.poll() is None:
                    try:
                        get_json(base + "data/plugins_listing", timeout=5)
                        ready = True
                        break
                    except (OSError, ValueError):
                        time.sleep(0.2)
                if ready:
                    yield base
                    return
                if process.poll() is None or attempt == 1:
                    _nginx_stop(process)
                    log.seek(0)
                    output = log.read().decode("utf-8", "replace")
                    with contextlib.suppress(OSError):
                        output += pathlib.Path(tmp, "error.log").read_text()
                    raise AssertionError(f"nginx did not start proxying:\n{output[-3000:]}")
            finally:
                _nginx_stop(process)
                log.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def launch_chromium():
    """Headless Debian `chromium` through Playwright; yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_tab(browser, base, dialogs, requests=None):
    """Opens `base#lr_range`; returns (page, plugin frame, list of page errors).

    Messages of dialogs go to `dialogs`; with a list as `requests`, the URL of
    every request the page or its frames make goes there too.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    if requests is not None:
        page.on("request", lambda request: requests.append(request.url))
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


def check_tab_matches_backend(frame, base, names):
    """The tab open in `frame` shows what the backend at `base` serves.

    Waits until the panel has drawn, then checks: the iframe was loaded from
    under `base`; the runs listed are `names`, in order, as literal text; each
    chart has one path per run with real path data; the suggested LR of each
    run is the backend's for the panel's default request.
    """
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

    # Suggested LR shown = the backend's for the same request (its default method).
    query = urllib.parse.urlencode(
        [("run", n) for n in names] + [("series", "loss"), ("smoothing", "0.98")])
    curves = get_json(base + PLUGIN + "curves?" + query)
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
