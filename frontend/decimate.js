// Turns long curves into short SVG path strings, one pixel column at a time,
// so that 100,000 points become at most a few points per pixel of width.
// Pure functions: the scales are plain {map(v)} objects (see scale.js).

import { lowerBound, upperBound } from "./format.js";

const LIMIT = 1e5; // pixel coordinates are clamped to +-LIMIT

function round1(v) {
  return Math.round(v * 10) / 10;
}

function clampPx(v) {
  return v < -LIMIT ? -LIMIT : v > LIMIT ? LIMIT : v;
}

/**
 * Index window [first, last) of increasing `xs` covering [x0, x1], widened by
 * one point on each side so that lines run on to the plot's edges.
 * @param {ArrayLike<number>} xs
 * @param {number} x0
 * @param {number} x1
 * @returns {[number, number]}
 */
export function visibleWindow(xs, x0, x1) {
  const first = Math.max(0, lowerBound(xs, x0) - 1);
  const last = Math.min(xs.length, upperBound(xs, x1) + 1);
  return [first, Math.max(first, last)];
}

/**
 * SVG path data of a polyline through (xs[i], ys[i]), decimated per pixel
 * column with the M4 rule: in each column it keeps the first, lowest,
 * highest and last point, in order, which draws the same picture as every
 * point. Non-finite values break the line.
 * @param {ArrayLike<number>} xs Increasing x data values.
 * @param {ArrayLike<number>} ys y data values.
 * @param {{map: function(number): number, domain: number[]}} sx
 * @param {{map: function(number): number}} sy
 * @returns {{d: string, points: number}} Path data and the number of
 *   vertices written.
 */
export function linePath(xs, ys, sx, sy) {
  const [dLo, dHi] = sx.domain[0] <= sx.domain[1] ? sx.domain : [sx.domain[1], sx.domain[0]];
  const [first, last] = visibleWindow(xs, dLo, dHi);
  const parts = [];
  let points = 0;
  let penDown = false;
  let column = NaN;
  // Column state: first, min, max, last points (px, py, index).
  let fx = 0, fy = 0, mnx = 0, mny = 0, mni = 0, mxx = 0, mxy = 0, mxi = 0, lx = 0, ly = 0, li = 0, fi = 0;

  const emit = (x, y) => {
    parts.push((penDown ? "L" : "M") + round1(x) + " " + round1(y));
    penDown = true;
    points++;
  };
  const flush = () => {
    if (Number.isNaN(column)) return;
    emit(fx, fy);
    const a = mni < mxi ? [mnx, mny, mni] : [mxx, mxy, mxi];
    const b = mni < mxi ? [mxx, mxy, mxi] : [mnx, mny, mni];
    if (a[2] !== fi) emit(a[0], a[1]);
    if (b[2] !== fi && b[2] !== a[2]) emit(b[0], b[1]);
    if (li !== fi && li !== a[2] && li !== b[2]) emit(lx, ly);
    column = NaN;
  };

  for (let i = first; i < last; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      flush();
      penDown = false;
      continue;
    }
    let px = sx.map(x);
    let py = sy.map(y);
    if (!Number.isFinite(px) || !Number.isFinite(py)) {
      // Off a log axis (x <= 0) or unplottable: break the line.
      flush();
      penDown = false;
      continue;
    }
    px = clampPx(px);
    py = clampPx(py);
    const c = Math.floor(px);
    if (c !== column) {
      flush();
      column = c;
      fx = mnx = mxx = lx = px;
      fy = mny = mxy = ly = py;
      fi = mni = mxi = li = i;
      continue;
    }
    if (py < mny) { mny = py; mnx = px; mni = i; }
    if (py > mxy) { mxy = py; mxx = px; mxi = i; }
    lx = px; ly = py; li = i;
  }
  flush();
  return { d: parts.join(""), points };
}

/**
 * SVG path data of a cloud of points, decimated per pixel column: each
 * column holding points becomes one small rectangle from its lowest to its
 * highest point, at least `size` pixels tall and wide. Non-finite points are
 * skipped.
 * @param {ArrayLike<number>} xs Increasing x data values.
 * @param {ArrayLike<number>} ys y data values.
 * @param {{map: function(number): number, domain: number[]}} sx
 * @param {{map: function(number): number}} sy
 * @param {number} [size=2] Side of a lone point, in pixels.
 * @returns {{d: string, columns: number}}
 */
export function columnsPath(xs, ys, sx, sy, size = 2) {
  const [dLo, dHi] = sx.domain[0] <= sx.domain[1] ? sx.domain : [sx.domain[1], sx.domain[0]];
  const [first, last] = visibleWindow(xs, dLo, dHi);
  const parts = [];
  let column = NaN;
  let lo = 0;
  let hi = 0;
  const half = size / 2;
  const flush = () => {
    if (Number.isNaN(column)) return;
    const top = lo - half;
    const height = Math.max(size, hi - lo + size);
    parts.push("M" + round1(column + 0.5 - half) + " " + round1(top) + "h" + size +
      "v" + round1(height) + "h" + -size + "z");
  };
  for (let i = first; i < last; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const px = sx.map(x);
    let py = sy.map(y);
    if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
    py = clampPx(py);
    const c = Math.floor(px);
    if (c !== column) {
      flush();
      column = c;
      lo = hi = py;
    } else if (py < lo) lo = py;
    else if (py > hi) hi = py;
  }
  flush();
  return { d: parts.join(""), columns: parts.length };
}

/**
 * Per-pixel-column means of a curve: for each column of scale `sx` holding
 * finite points, the mean x pixel, the mean y value and the first index.
 * Where a curve is denser than the pixels (a derivative over 100,000 steps),
 * the column mean is its average over that column, which reads as the
 * curve at screen resolution.
 * @param {ArrayLike<number>} xs Increasing x data values.
 * @param {ArrayLike<number>} ys y data values.
 * @param {{map: function(number): number, domain: number[]}} sx
 * @returns {{px: Float64Array, mean: Float64Array, index: Int32Array,
 *   length: number, dense: boolean}} `dense`: some column held several points.
 */
export function columnMeans(xs, ys, sx) {
  const [dLo, dHi] = sx.domain[0] <= sx.domain[1] ? sx.domain : [sx.domain[1], sx.domain[0]];
  const [first, last] = visibleWindow(xs, dLo, dHi);
  const cap = Math.max(0, last - first);
  const px = new Float64Array(cap);
  const mean = new Float64Array(cap);
  const index = new Int32Array(cap);
  let n = -1;
  let column = NaN;
  let count = 0;
  let sumX = 0;
  let sumY = 0;
  let dense = false;
  const flush = () => {
    if (count > 0) {
      px[n] = sumX / count;
      mean[n] = sumY / count;
      if (count > 1) dense = true;
    }
  };
  for (let i = first; i < last; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) continue;
    const x = sx.map(xs[i]);
    if (!Number.isFinite(x)) continue;
    const c = Math.floor(x);
    if (c !== column) {
      flush();
      n++;
      column = c;
      count = 0;
      sumX = 0;
      sumY = 0;
      index[n] = i;
    }
    count++;
    sumX += x;
    sumY += y;
  }
  flush();
  const length = n + 1;
  return { px: px.subarray(0, length), mean: mean.subarray(0, length),
    index: index.subarray(0, length), length, dense };
}

/**
 * SVG path data of the polyline through column means (see `columnMeans`).
 * @param {{px: Float64Array, mean: Float64Array, length: number}} means
 * @param {{map: function(number): number}} sy
 * @returns {{d: string, points: number}}
 */
export function meansPath(means, sy) {
  const parts = [];
  let penDown = false;
  for (let k = 0; k < means.length; k++) {
    const py = sy.map(means.mean[k]);
    if (!Number.isFinite(py)) { penDown = false; continue; }
    parts.push((penDown ? "L" : "M") + round1(means.px[k]) + " " + round1(clampPx(py)));
    penDown = true;
  }
  return { d: parts.join(""), points: parts.length };
}
