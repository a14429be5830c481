// Axis scales and tick generation for the panel's charts (pure, no DOM).

import { formatNumber, formatTick } from "./format.js";

/**
 * A linear or base-10 logarithmic mapping from a data domain to pixels.
 * @param {"linear"|"log"} kind
 * @param {[number, number]} domain Data interval (positive for "log").
 * @param {[number, number]} range Pixel interval (may be reversed, as for y).
 * @returns {{kind: string, domain: number[], range: number[],
 *   map: function(number): number, invert: function(number): number}}
 */
export function makeScale(kind, domain, range) {
  const [r0, r1] = range;
  let [d0, d1] = domain;
  const log = kind === "log";
  const f = log ? Math.log10 : (v) => v;
  const g = log ? (v) => 10 ** v : (v) => v;
  let t0 = f(d0);
  let t1 = f(d1);
  if (!(t1 > t0)) {
    // Degenerate domain: widen it around the single value.
    const pad = log ? 0.5 : Math.abs(t0) > 0 ? Math.abs(t0) * 0.1 : 1;
    t0 -= pad;
    t1 += pad;
    d0 = g(t0);
    d1 = g(t1);
  }
  const k = (r1 - r0) / (t1 - t0);
  return {
    kind: log ? "log" : "linear",
    domain: [d0, d1],
    range: [r0, r1],
    map: log ? (v) => r0 + (Math.log10(v) - t0) * k : (v) => r0 + (v - t0) * k,
    invert: (px) => g(t0 + (px - r0) / k),
  };
}

/**
 * "Nice" step (1, 2 or 5 times a power of ten) that splits [lo, hi] into
 * about `count` intervals (the rule of d3's ticks).
 * @param {number} lo
 * @param {number} hi
 * @param {number} count
 * @returns {number}
 */
export function niceStep(lo, hi, count) {
  const span = Math.abs(hi - lo);
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const error = raw / power;
  if (error >= Math.sqrt(50)) return power * 10;
  if (error >= Math.sqrt(10)) return power * 5;
  if (error >= Math.SQRT2) return power * 2;
  return power;
}

function clean(v) {
  // Removes floating-point noise such as 0.30000000000000004.
  return Number(v.toPrecision(12));
}

/**
 * Ticks of a linear axis: multiples of a nice step inside [lo, hi], about
 * `count` of them, each with its label.
 * @param {number} lo
 * @param {number} hi
 * @param {number} [count=5]
 * @returns {{value: number, label: string, major: boolean}[]}
 */
export function linearTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [{ value: lo, label: formatNumber(lo), major: true }];
  const step = niceStep(lo, hi, count);
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks = [];
  for (let i = first; i <= last && ticks.length < 1000; i++) {
    const value = clean(i * step);
    ticks.push({ value, label: formatTick(value, step), major: true });
  }
  return ticks;
}

/**
 * Ticks of a log axis over [lo, hi] (both > 0). Over two decades or more:
 * labelled powers of ten (every k-th one when there are more than
 * `maxLabels`), with unlabelled minor ticks at 2..9 times each power while
 * there is room. Over a narrower span: labelled 1-2-5 (or 1..9) multiples,
 * falling back to linear ticks when even those are too sparse.
 * @param {number} lo
 * @param {number} hi
 * @param {number} [maxLabels=8]
 * @returns {{value: number, label: string, major: boolean}[]}
 */
export function logTicks(lo, hi, maxLabels = 8) {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  const inside = (v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const decades = Math.log10(hi / lo);
  if (decades >= 2) {
    const powers = [];
    for (let e = e0; e <= e1; e++) if (inside(10 ** e)) powers.push(e);
    const every = Math.max(1, Math.ceil(powers.length / Math.max(1, maxLabels)));
    const ticks = [];
    for (let e = e0; e <= e1; e++) {
      const base = clean(10 ** e);
      if (inside(base)) {
        const labelled = ((e % every) + every) % every === 0;
        ticks.push({ value: base, label: labelled ? formatNumber(base) : "", major: labelled });
      }
      if (decades <= 10 && every === 1) {
        for (let m = 2; m <= 9; m++) {
          const v = clean(m * 10 ** e);
          if (inside(v)) ticks.push({ value: v, label: "", major: false });
        }
      }
    }
    return ticks.sort((a, b) => a.value - b.value);
  }
  for (const mantissas of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks = [];
    for (let e = e0; e <= e1; e++) {
      for (const m of mantissas) {
        const v = clean(m * 10 ** e);
        if (inside(v)) ticks.push({ value: v, label: formatNumber(v), major: true });
      }
    }
    if (ticks.length >= 3 && ticks.length <= maxLabels + 2) return ticks;
    if (ticks.length > maxLabels + 2) {
      // Too many: keep labels on a subset, the rest become minor ticks.
      const every = Math.ceil(ticks.length / maxLabels);
      return ticks.map((t, i) => (i % every === 0 ? t : { value: t.value, label: "", major: false }));
    }
  }
  return linearTicks(lo, hi, Math.min(maxLabels, 5));
}

/**
 * Ticks for a scale made by `makeScale`.
 * @param {{kind: string, domain: number[]}} scale
 * @param {number} count Wanted number of labels.
 * @returns {{value: number, label: string, major: boolean}[]}
 */
export function ticksFor(scale, count) {
  const [a, b] = scale.domain;
  return scale.kind === "log" ? logTicks(a, b, count) : linearTicks(a, b, count);
}

/**
 * Pads [lo, hi] by `fraction` of its width on each side (in log space for a
 * log axis); a degenerate or non-finite interval gets a sensible width.
 * @param {number} lo
 * @param {number} hi
 * @param {number} [fraction=0.05]
 * @param {boolean} [log=false]
 * @returns {[number, number]}
 */
export function padDomain(lo, hi, fraction = 0.05, log = false) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    if (Number.isFinite(lo)) hi = lo;
    else if (Number.isFinite(hi)) lo = hi;
    else return log ? [1e-3, 1] : [0, 1];
  }
  if (log) {
    if (!(lo > 0) || !(hi > 0)) return padDomain(lo, hi, fraction, false);
    let a = Math.log10(lo);
    let b = Math.log10(hi);
    if (b === a) { a -= 0.5; b += 0.5; }
    const pad = (b - a) * fraction;
    return [10 ** (a - pad), 10 ** (b + pad)];
  }
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * fraction;
  return [lo - pad, hi + pad];
}
