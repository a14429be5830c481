// The panel's modules load in Node (no DOM needed at import), and its pure
// axis-range helpers behave.
import { test } from "node:test";
import assert from "node:assert/strict";
import { valueExtent, derivativeExtent, PALETTE } from "../../frontend/panel.js";
import { render } from "../../frontend/index.js";
import { columnMeans } from "../../frontend/decimate.js";
import { makeScale } from "../../frontend/scale.js";
import { curvesQuery } from "../../frontend/api.js";

function rangeTest(n, { blowUp = true, higherIsBetter = false } = {}) {
  const lr = Float64Array.from({ length: n }, (_, i) => 1e-5 * 10 ** (6 * i / (n - 1)));
  const smoothed = Float64Array.from(lr, (v) => {
    const x = Math.log10(v);
    const base = 2.3 - 1.9 / (1 + Math.exp(-(x + 3) * 2.5));
    return base + (blowUp ? Math.exp(Math.min(50, (x + 0.5) * 4)) : 0);
  });
  const value = Float64Array.from(smoothed, (v, i) => v + (i % 2 ? 0.05 : -0.05));
  const derivative = Float64Array.from(smoothed, (v, i) => (i ? (v - smoothed[i - 1]) * n / (6 * Math.LN10) : 0));
  const sign = higherIsBetter ? -1 : 1;
  return {
    curve: {
      lr, step: Float64Array.from(lr, (_, i) => i),
      value: value.map((v) => sign * v), smoothed: smoothed.map((v) => sign * v),
      derivative: derivative.map((v) => sign * v), higher_is_better: higherIsBetter,
    },
  };
}

test("index.js exports render()", () => {
  assert.equal(typeof render, "function");
});

test("the palette holds distinct colours", () => {
  assert.equal(new Set(PALETTE).size, PALETTE.length);
  assert.ok(PALETTE.every((c) => /^#[0-9a-f]{6}$/.test(c)));
});

test("valueExtent keeps the start and the dip and cuts the blow-up", () => {
  const run = rangeTest(2000);
  const [lo, hi] = valueExtent([run], 0, Infinity);
  const max = Math.max(...run.curve.smoothed);
  assert.ok(lo <= 0.45, `lo=${lo}`);
  assert.ok(hi >= 2.3, `hi=${hi}`);
  assert.ok(hi < max / 10, `hi=${hi} max=${max}`);
});

test("valueExtent of a rising metric keeps its top", () => {
  const run = rangeTest(500, { higherIsBetter: true });
  const [lo, hi] = valueExtent([run], 0, Infinity);
  assert.ok(hi >= -0.45 && lo <= -2.3, `${lo} ${hi}`);
});

test("valueExtent follows the zoom window", () => {
  const run = rangeTest(2000, { blowUp: false });
  const [lo, hi] = valueExtent([run], 1e-5, 2e-5);
  assert.ok(lo > 2 && hi < 2.5, `${lo} ${hi}`);
});

test("valueExtent of nothing is empty", () => {
  assert.deepEqual(valueExtent([], 0, 1), [Infinity, -Infinity]);
});

test("derivativeExtent ignores the blow-up's slope", () => {
  const run = rangeTest(20000);
  const sx = makeScale("log", [1e-5, 10], [0, 800]);
  const means = [columnMeans(run.curve.lr, run.curve.derivative, sx)];
  const [yLo, yHi] = valueExtent([run], 0, Infinity);
  const [lo, hi] = derivativeExtent([run], means, yLo, yHi);
  const steepest = Math.max(...run.curve.derivative);
  assert.ok(lo < -0.5, `lo=${lo}`);
  assert.ok(hi < steepest / 10, `hi=${hi} steepest=${steepest}`);
});

test("curvesQuery repeats run and series and escapes names", () => {
  const q = curvesQuery({ runs: ["a b", "<img src=x onerror=alert(1)>", "c&d"], series: ["loss", "val_loss"],
    smoothing: 0.98, method: "valley" });
  const params = new URLSearchParams(q);
  assert.deepEqual(params.getAll("run"), ["a b", "<img src=x onerror=alert(1)>", "c&d"]);
  assert.deepEqual(params.getAll("series"), ["loss", "val_loss"]);
  assert.equal(params.get("smoothing"), "0.98");
  assert.equal(params.get("method"), "valley");
  assert.ok(!q.includes("<") && !q.includes("&d"));
});

test("curvesQuery leaves the method to the server until one is chosen", () => {
  const params = new URLSearchParams(curvesQuery({ runs: ["a"], series: ["loss"], smoothing: 0.5,
    method: null }));
  assert.equal(params.has("method"), false);
});
