// Unit tests of frontend/decimate.js: per-pixel-column decimation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { linePath, columnsPath, visibleWindow, columnMeans, meansPath } from "../../frontend/decimate.js";
import { makeScale } from "../../frontend/scale.js";

function vertices(d) {
  return [...d.matchAll(/([ML])(-?[\d.]+) (-?[\d.]+)/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
}

test("a short line keeps every point", () => {
  const sx = makeScale("linear", [0, 3], [0, 300]);
  const sy = makeScale("linear", [0, 10], [100, 0]);
  const { d, points } = linePath([0, 1, 2, 3], [0, 5, 10, 5], sx, sy);
  assert.equal(points, 4);
  assert.deepEqual(vertices(d), [["M", 0, 100], ["L", 100, 50], ["L", 200, 0], ["L", 300, 50]]);
});

test("non-finite values break the line", () => {
  const sx = makeScale("linear", [0, 4], [0, 400]);
  const sy = makeScale("linear", [0, 10], [100, 0]);
  const { d } = linePath([0, 1, 2, 3, 4], [1, 2, NaN, 3, Infinity], sx, sy);
  assert.deepEqual(vertices(d).map((v) => v[0]), ["M", "L", "M"]);
});

test("x <= 0 on a log axis is left out instead of drawn at -infinity", () => {
  const sx = makeScale("log", [1e-3, 1], [0, 300]);
  const sy = makeScale("linear", [0, 1], [100, 0]);
  const { d } = linePath([0, 1e-3, 1e-2, 1e-1], [0.5, 0.5, 0.5, 0.5], sx, sy);
  const v = vertices(d);
  assert.equal(v[0][0], "M");
  assert.ok(v.every(([, x]) => x >= 0 && x <= 300));
});

test("100,000 points become at most four vertices per pixel column", () => {
  const n = 100000;
  const xs = Float64Array.from({ length: n }, (_, i) => 1e-6 * 10 ** (7 * i / (n - 1)));
  const ys = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 50) + (i % 7) * 0.01);
  const width = 800;
  const sx = makeScale("log", [xs[0], xs[n - 1]], [0, width]);
  const sy = makeScale("linear", [-1.2, 1.2], [300, 0]);
  const start = performance.now();
  const { d, points } = linePath(xs, ys, sx, sy);
  const cols = columnsPath(xs, ys, sx, sy, 2);
  const elapsed = performance.now() - start;
  assert.ok(points <= 4 * (width + 1), `${points} vertices`);
  assert.ok(points >= width, `${points} vertices`);
  assert.ok(cols.columns <= width + 1 && cols.columns >= width - 1, `${cols.columns} columns`);
  assert.ok(d.length < 60 * points);
  assert.ok(elapsed < 500, `${elapsed} ms`);
});

test("M4 decimation keeps each column's extremes", () => {
  const n = 1000;
  const xs = Float64Array.from({ length: n }, (_, i) => i);
  const ys = Float64Array.from({ length: n }, (_, i) => (i === 500 ? 100 : i === 501 ? -100 : 0));
  const sx = makeScale("linear", [0, n - 1], [0, 10]);
  const sy = makeScale("linear", [-100, 100], [200, 0]);
  const yPixels = vertices(linePath(xs, ys, sx, sy).d).map((v) => v[2]);
  assert.ok(yPixels.includes(0), "the spike up survives");
  assert.ok(yPixels.includes(200), "the spike down survives");
});

test("columnsPath draws one rectangle per occupied column, spanning min to max", () => {
  const sx = makeScale("linear", [0, 10], [0, 10]);
  const sy = makeScale("linear", [0, 100], [100, 0]);
  const { d, columns } = columnsPath([0.1, 0.2, 0.3, 5.5, NaN], [10, 50, 30, 20, 5], sx, sy, 2);
  assert.equal(columns, 2);
  const first = d.split("z")[0];
  // column 0: from y=50 (value 50) to y=90 (value 10), padded by half a point.
  assert.equal(first, "M-0.5 49h2v42h-2");
});

test("visibleWindow keeps one point beyond each edge", () => {
  const xs = [1, 2, 3, 4, 5, 6];
  assert.deepEqual(visibleWindow(xs, 2.5, 4.5), [1, 5]);
  assert.deepEqual(visibleWindow(xs, 0, 100), [0, 6]);
  assert.deepEqual(visibleWindow(xs, 10, 20), [5, 6]);
});

test("only the zoomed window is walked", () => {
  const xs = Float64Array.from({ length: 1000 }, (_, i) => i);
  const ys = Float64Array.from({ length: 1000 }, () => 1);
  const sx = makeScale("linear", [100, 200], [0, 1000]);
  const sy = makeScale("linear", [0, 2], [100, 0]);
  const v = vertices(linePath(xs, ys, sx, sy).d);
  assert.ok(v.length <= 103 && v.length >= 100, String(v.length));
});

test("columnMeans averages each pixel column", () => {
  const n = 1000;
  const xs = Float64Array.from({ length: n }, (_, i) => i);
  const ys = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 3 : -1));
  const sx = makeScale("linear", [0, n], [0, 10]);
  const m = columnMeans(xs, ys, sx);
  assert.equal(m.length, 10);
  assert.ok(m.dense);
  for (let k = 0; k < m.length; k++) assert.equal(m.mean[k], 1);
  assert.equal(m.index[3], 300);
  const sy = makeScale("linear", [-1, 3], [40, 0]);
  const { d, points } = meansPath(m, sy);
  assert.equal(points, 10);
  assert.ok(d.startsWith("M") && !d.includes("NaN"));
});

test("columnMeans of a sparse curve is the curve itself", () => {
  const sx = makeScale("linear", [0, 3], [0, 300]);
  const m = columnMeans([0, 1, NaN, 3], [5, 6, 7, Infinity], sx);
  assert.equal(m.dense, false);
  assert.deepEqual(Array.from(m.mean), [5, 6]);
  assert.deepEqual(Array.from(m.px), [0, 100]);
});
