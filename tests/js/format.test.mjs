// Unit tests of frontend/format.js: parsing, formatting, CSV/JSON, search.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseNumber, toFloatArray, normalizeCurves, formatNumber, formatTick, csvField, buildCSV,
  buildJSON, safeFileName, nearestIndex, quantiles, lowerBound, upperBound, CSV_COLUMNS,
} from "../../frontend/format.js";

test("parseNumber reads numbers and the backend's non-finite strings", () => {
  assert.equal(parseNumber(1.5), 1.5);
  assert.ok(Number.isNaN(parseNumber("NaN")));
  assert.equal(parseNumber("Infinity"), Infinity);
  assert.equal(parseNumber("-Infinity"), -Infinity);
  assert.equal(parseNumber("2e-3"), 0.002);
  assert.ok(Number.isNaN(parseNumber(null)));
  assert.ok(Number.isNaN(parseNumber(undefined)));
  assert.ok(Number.isNaN(parseNumber("")));
  assert.ok(Number.isNaN(parseNumber("abc")));
  assert.ok(Number.isNaN(parseNumber({})));
});

test("toFloatArray converts mixed JSON arrays", () => {
  const out = toFloatArray([1, "NaN", "Infinity", "-Infinity", null, 2]);
  assert.ok(out instanceof Float64Array);
  assert.deepEqual(Array.from(out.slice(0, 1)), [1]);
  assert.ok(Number.isNaN(out[1]));
  assert.equal(out[2], Infinity);
  assert.equal(out[3], -Infinity);
  assert.ok(Number.isNaN(out[4]));
  assert.equal(out[5], 2);
  assert.equal(toFloatArray(undefined).length, 0);
});

const RESPONSE = {
  smoothing: 0.9,
  method: "valley",
  runs: [{
    run: "<img src=x onerror=alert(1)>",
    mode: "exponential",
    status: "running",
    stop_reason: null,
    series: {
      loss: {
        step: [0, 1, 2, 3],
        lr: [1e-4, 1e-3, 1e-2, 1e-1],
        value: [2.3, 1.5, "NaN", "Infinity"],
        smoothed: [2.3, 1.9, 1.9, "NaN"],
        derivative: [-0.1, -0.2, "-Infinity", "NaN"],
        higher_is_better: false,
        suggestion: { lr: 1e-3, min_lr: 1e-4, max_lr: 1e-2, method: "valley",
          methods: { valley: 1e-3, steep: 2e-3, minimum: "NaN", range: 3e-3 }, index: 1 },
      },
    },
  }],
};

test("normalizeCurves converts arrays and suggestions", () => {
  const curves = normalizeCurves(RESPONSE);
  assert.equal(curves.smoothing, 0.9);
  assert.equal(curves.method, "valley");
  const run = curves.runs[0];
  assert.equal(run.run, "<img src=x onerror=alert(1)>");
  assert.equal(run.status, "running");
  assert.equal(run.stop_reason, null);
  const loss = run.series.loss;
  assert.ok(loss.value instanceof Float64Array);
  assert.ok(Number.isNaN(loss.value[2]));
  assert.equal(loss.value[3], Infinity);
  assert.equal(loss.derivative[2], -Infinity);
  assert.equal(loss.suggestion.lr, 1e-3);
  assert.ok(Number.isNaN(loss.suggestion.methods.minimum));
  assert.equal(loss.suggestion.index, 1);
});

test("normalizeCurves tolerates missing fields and unequal lengths", () => {
  const curves = normalizeCurves({ runs: [{ run: "a", series: {
    loss: { lr: [1, 2, 3], value: [1, 2, 3], smoothed: [1], suggestion: null } } }] });
  const loss = curves.runs[0].series.loss;
  assert.equal(curves.runs[0].mode, "exponential");
  assert.equal(loss.smoothed.length, 3);
  assert.ok(Number.isNaN(loss.smoothed[2]));
  assert.equal(loss.step.length, 3);
  assert.equal(loss.suggestion, null);
  assert.deepEqual(normalizeCurves(null).runs, []);
  assert.deepEqual(normalizeCurves({ runs: "x" }).runs, []);
});

test("formatNumber: plain in the middle, short exponents outside", () => {
  assert.equal(formatNumber(0.0031622776), "0.00316");
  assert.equal(formatNumber(0.001), "0.001");
  assert.equal(formatNumber(0.05), "0.05");
  assert.equal(formatNumber(1), "1");
  assert.equal(formatNumber(12.345), "12.3");
  assert.equal(formatNumber(9999), "1e4");
  assert.equal(formatNumber(12345), "1.23e4");
  assert.equal(formatNumber(3.16227e-5), "3.16e-5");
  assert.equal(formatNumber(1e-7), "1e-7");
  assert.equal(formatNumber(-2.5e-6), "-2.5e-6");
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(Infinity), "∞");
  assert.equal(formatNumber(-Infinity), "-∞");
  assert.equal(formatNumber("NaN"), "NaN");
  assert.equal(formatNumber(0.123456, 4), "0.1235");
  assert.equal(formatNumber(0.00099951), "0.001");
  assert.equal(formatNumber(9999.6), "1e4");
});

test("formatTick keeps just enough decimals", () => {
  assert.equal(formatTick(0.2, 0.1), "0.2");
  assert.equal(formatTick(0.25, 0.05), "0.25");
  assert.equal(formatTick(2.25, 0.25), "2.25");
  assert.equal(formatTick(0.3, 0.1), "0.3");
  assert.equal(formatTick(0.35, 0.05), "0.35");
  assert.equal(formatTick(100, 50), "100");
  assert.equal(formatTick(1e-17, 0.1), "0");
  assert.equal(formatTick(2e-5, 1e-5), "2e-5");
  assert.equal(formatTick(150000, 50000), "1.5e5");
});

test("csvField quotes, escapes and defuses formulas", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(csvField("-run"), "'-run");
  assert.equal(csvField(-1.5), "-1.5");
  assert.equal(csvField(NaN), "NaN");
  assert.equal(csvField(Infinity), "Infinity");
  assert.equal(csvField(-Infinity), "-Infinity");
  assert.equal(csvField(null), "");
});

test("buildCSV writes one row per step with every column", () => {
  const csv = buildCSV(normalizeCurves(RESPONSE));
  const lines = csv.trimEnd().split("\r\n");
  assert.equal(lines[0], CSV_COLUMNS.join(","));
  assert.equal(lines.length, 5);
  assert.equal(lines[1], "<img src=x onerror=alert(1)>,loss,0,0.0001,2.3,2.3,-0.1");
  assert.equal(lines[3], "<img src=x onerror=alert(1)>,loss,2,0.01,NaN,1.9,-Infinity");
  assert.equal(lines[4], "<img src=x onerror=alert(1)>,loss,3,0.1,Infinity,NaN,NaN");
  assert.equal(buildCSV(normalizeCurves(RESPONSE), ["accuracy"]).trimEnd().split("\r\n").length, 1);
});

test("buildJSON round-trips through normalizeCurves", () => {
  const curves = normalizeCurves(RESPONSE);
  const text = buildJSON(curves);
  const parsed = JSON.parse(text);
  assert.equal(parsed.runs[0].series.loss.value[2], "NaN");
  assert.equal(parsed.runs[0].series.loss.value[3], "Infinity");
  assert.equal(parsed.runs[0].series.loss.suggestion.methods.minimum, "NaN");
  const again = normalizeCurves(parsed);
  assert.deepEqual(Array.from(again.runs[0].series.loss.lr), Array.from(curves.runs[0].series.loss.lr));
  assert.equal(again.runs[0].series.loss.suggestion.lr, 1e-3);
  assert.equal(again.runs[0].status, "running");
});

test("safeFileName keeps only safe characters", () => {
  assert.equal(safeFileName("lr_range_loss_<img src=x onerror=alert(1)>"), "lr_range_loss_img_src_x_onerror_alert_1");
  assert.equal(safeFileName("../../etc/passwd"), "etc_passwd");
  assert.equal(safeFileName("///"), "lr_range");
});

test("nearestIndex finds the nearest element of an increasing array", () => {
  const xs = Float64Array.from([1, 2, 4, 8, 16]);
  assert.equal(nearestIndex(xs, 0), 0);
  assert.equal(nearestIndex(xs, 2.9), 1);
  assert.equal(nearestIndex(xs, 3.1), 2);
  assert.equal(nearestIndex(xs, 100), 4);
  assert.equal(nearestIndex(xs, 8), 3);
  assert.equal(nearestIndex(new Float64Array(0), 1), -1);
  assert.equal(nearestIndex(xs, NaN), -1);
});

test("lowerBound and upperBound", () => {
  const xs = [1, 2, 2, 3];
  assert.equal(lowerBound(xs, 2), 1);
  assert.equal(upperBound(xs, 2), 3);
  assert.equal(lowerBound(xs, 0), 0);
  assert.equal(upperBound(xs, 5), 4);
});

test("quantiles: exact extremes, window and non-finite values", () => {
  const values = [5, NaN, 1, Infinity, 3, 2, 4];
  assert.deepEqual(quantiles(values, [0, 0.5, 1]), [1, 3, 5]);
  const xs = [0, 1, 2, 3, 4, 5, 6];
  assert.deepEqual(quantiles(values, [0, 1], xs, 2, 5), [1, 3]);
  assert.ok(quantiles([NaN], [0.5]).every(Number.isNaN));
  const big = Float64Array.from({ length: 100000 }, (_, i) => i);
  const [lo, mid, hi] = quantiles(big, [0, 0.5, 1]);
  assert.equal(lo, 0);
  assert.equal(hi, 99999);
  assert.ok(Math.abs(mid - 50000) < 50);
});
