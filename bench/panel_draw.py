"""Times how long the LR Range panel takes to draw a 100,000-step range test.

Writes one synthetic range test of `--steps` steps with
`tb_lr_range.summary.RangeTestWriter` (the format `LRFinder` writes), starts a
real `tensorboard` on it, opens the LR Range tab in headless Chromium and
reloads the curves `--repeats` times. For each load the panel records, with
`performance.measure`:

* `lr-range-draw`: from the parsed `curves` response to the three charts,
  legend and suggestion table being in the DOM (NaN-string conversion to
  typed arrays, decimation, path building, DOM updates);
* `lr-range-load` (for context): from sending the `curves` request to its
  JSON being parsed;
* `lr-range-paint`: the same start as `lr-range-draw`, up to the task after the next animation
  frame, which includes style, layout and paint of the new SVG.

Prints the median and range of both, plus the request time seen by the
browser. Needs Debian's chromium and Python Playwright.

Usage:

    python bench/panel_draw.py [--steps 100000] [--repeats 7] [--load-fast true] [--screenshot F]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def write_run(log_dir, steps, seed=0):
    """Writes a range-test-shaped run of `steps` steps; returns its name."""
    import numpy as np

    from tb_lr_range import analysis, summary

    name = f"synthetic_{steps}"
    min_lr, max_lr = 1e-6, 10.0
    lrs = analysis.learning_rates(min_lr, max_lr, steps, "exponential")
    x = np.log10(lrs)
    rng = np.random.default_rng(seed)
    loss = 2.3 - 1.9 / (1 + np.exp(-(x + 3.5) * 2.5)) + np.exp(np.clip((x + 0.5) * 3, -50, 50)) * 0.05
    loss = loss + rng.normal(0, 0.08, steps)
    accuracy = np.clip(1 - loss / 2.4 + rng.normal(0, 0.03, steps), 0, 1)
    config = {"min_lr": min_lr, "max_lr": max_lr, "mode": "exponential", "planned_steps": steps,
              "smoothing": 0.98, "stop_factor": 4.0, "method": "valley", "optimizer": "SGD"}
    writer = summary.RangeTestWriter(os.path.join(log_dir, name), config)
    for i in range(steps):
        writer.add(i, {"lr": float(lrs[i]), "loss": float(loss[i]),
                       "metric/accuracy": float(accuracy[i])}, wall_time=1.0e9 + i)
        if i % 20000 == 19999:
            writer.flush()
    suggestion = analysis.suggest(lrs, loss)
    writer.close({"stop_reason": "completed", "steps": steps, "suggestion": suggestion.to_dict()},
                 suggested_lr=suggestion.lr, step=steps - 1)
    return name


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def summarize(name, values):
    values = sorted(values)
    return (f"{name}: median {statistics.median(values):.1f} ms "
            f"(min {values[0]:.1f}, max {values[-1]:.1f}, n={len(values)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--load-fast", default="true", choices=["true", "false"])
    parser.add_argument("--width", type=int, default=1400, help="browser viewport width")
    parser.add_argument("--screenshot", help="also save a PNG of the tab here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as log_dir:
        started = time.monotonic()
        run = write_run(log_dir, args.steps)
        print(f"wrote {args.steps} steps in {time.monotonic() - started:.1f} s")
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tensorboard.main", "--logdir", log_dir, "--host", "127.0.0.1",
                 "--port", str(port), "--reload_interval", "0", f"--load_fast={args.load_fast}"],
                stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 180
                while True:
                    try:
                        runs = get_json(base + "data/plugin/lr_range/runs")["runs"]
                        if runs and runs[0].get("last_step") == args.steps - 1:
                            break
                    except (OSError, ValueError, KeyError):
                        pass
                    if time.monotonic() > deadline or process.poll() is not None:
                        log.seek(0)
                        sys.exit("tensorboard did not serve the run:\n" + log.read().decode()[-2000:])
                    time.sleep(0.5)
                run_browser(sync_playwright, base, run, args)
            finally:
                process.kill()
                process.wait(timeout=10)


def run_browser(sync_playwright, base, run, args):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 1100})
            page.goto(base + "#lr_range")
            frame = None
            deadline = time.monotonic() + 60
            while frame is None and time.monotonic() < deadline:
                frame = next((f for f in page.frames if "plugin_entry.html?name=lr_range" in f.url), None)
                page.wait_for_timeout(100)
            if frame is None:
                sys.exit("the LR Range iframe did not load")
            frame.wait_for_selector("#lr-range-root[data-drawn]", timeout=120_000)
            points = frame.evaluate(
                "() => document.querySelectorAll('svg.lr-main-chart path.lr-line').length")
            path_chars = frame.evaluate(
                "() => [...document.querySelectorAll('svg path')].reduce((n, p) => n + (p.getAttribute('d') || '').length, 0)")
            for _ in range(args.repeats):
                drawn = frame.evaluate("() => document.querySelector('#lr-range-root').getAttribute('data-drawn')")
                frame.locator("button.lr-reload").click()
                frame.wait_for_function(
                    f"() => document.querySelector('#lr-range-root').getAttribute('data-drawn') !== '{drawn}'",
                    timeout=120_000)
                page.wait_for_timeout(300)
            if args.screenshot:
                page.screenshot(path=args.screenshot)
            load = frame.evaluate("() => performance.getEntriesByName('lr-range-load').map(e => e.duration)")
            draw = frame.evaluate("() => performance.getEntriesByName('lr-range-draw').map(e => e.duration)")
            paint = frame.evaluate("() => performance.getEntriesByName('lr-range-paint').map(e => e.duration)")
            fetches = frame.evaluate(
                "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/curves?'))"
                ".map(e => [e.duration, e.encodedBodySize, e.decodedBodySize])")
            # The first load happens while the page itself is still starting: leave it out.
            load, draw, paint, fetches = load[1:], draw[1:], paint[1:], fetches[1:]
            print(f"run {run!r}: {args.steps} steps, {points} smoothed line(s), "
                  f"{path_chars} characters of SVG path data in total")
            print(summarize("curves request (browser)", [f[0] for f in fetches]))
            print(summarize("lr-range-load (request sent -> JSON parsed)", load))
            if fetches:
                print(f"curves response: {fetches[-1][1] / 1e6:.2f} MB on the wire, "
                      f"{fetches[-1][2] / 1e6:.2f} MB decoded")
            print(summarize("lr-range-draw (data arrived -> charts in the DOM)", draw))
            print(summarize("lr-range-paint (data arrived -> next frame painted)", paint))
            target = statistics.median(draw)
            print(f"target < 100 ms after the data arrives: {'met' if target < 100 else 'NOT met'}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
