// Unit tests of frontend/scale.js: scales and axis ticks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeScale, niceStep, linearTicks, logTicks, ticksFor, padDomain } from "../../frontend/scale.js";

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test("linear scale maps and inverts", () => {
  const s = makeScale("linear", [0, 10], [0, 100]);
  assert.equal(s.map(5), 50);
  assert.equal(s.invert(25), 2.5);
  const y = makeScale("linear", [0, 1], [200, 0]);
  assert.equal(y.map(0), 200);
  assert.equal(y.map(1), 0);
});

test("log scale maps decades evenly", () => {
  const s = makeScale("log", [1e-6, 1], [0, 600]);
  close(s.map(1e-3), 300);
  close(s.invert(100), 1e-5);
  assert.ok(!Number.isFinite(s.map(0)));
});

test("degenerate domains are widened", () => {
  const s = makeScale("linear", [3, 3], [0, 100]);
  assert.ok(s.domain[0] < 3 && s.domain[1] > 3);
  close(s.map(3), 50);
  const l = makeScale("log", [0.01, 0.01], [0, 100]);
  close(l.map(0.01), 50);
});

test("niceStep picks 1, 2 or 5 times a power of ten", () => {
  assert.equal(niceStep(0, 1, 5), 0.2);
  assert.equal(niceStep(0, 100, 4), 20);
  assert.equal(niceStep(0, 100, 2), 50);
  assert.equal(niceStep(0, 1, 4), 0.2);
  assert.equal(niceStep(0, 7, 7), 1);
  assert.equal(niceStep(0, 0, 5), 1);
});

test("linearTicks are round, inside the domain and labelled", () => {
  const ticks = linearTicks(0, 0.1, 5);
  assert.deepEqual(ticks.map((t) => t.value), [0, 0.02, 0.04, 0.06, 0.08, 0.1]);
  assert.deepEqual(ticks.map((t) => t.label), ["0", "0.02", "0.04", "0.06", "0.08", "0.1"]);
  const neg = linearTicks(-3.3, 250, 5);
  assert.deepEqual(neg.map((t) => t.value), [0, 50, 100, 150, 200, 250]);
  const fine = linearTicks(0.30000001, 0.3000004, 4);
  assert.ok(fine.length >= 2 && fine.length <= 5);
  assert.equal(new Set(fine.map((t) => t.label)).size, fine.length, "labels must differ");
  const quarter = linearTicks(1.7, 2.9, 5);
  assert.deepEqual(quarter.map((t) => t.label), ["1.8", "2", "2.2", "2.4", "2.6", "2.8"]);
  assert.ok(linearTicks(0, 1, 5).length <= 11);
  assert.deepEqual(linearTicks(NaN, 1), []);
  assert.equal(linearTicks(2, 2).length, 1);
});

test("logTicks: labelled decades with minor ticks over wide spans", () => {
  const ticks = logTicks(1e-6, 10, 10);
  const major = ticks.filter((t) => t.major);
  assert.deepEqual(major.map((t) => t.value), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
  assert.deepEqual(major.map((t) => t.label), ["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10"]);
  assert.ok(ticks.some((t) => !t.major && t.value === 2e-6));
  for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i].value > ticks[i - 1].value);
});

test("logTicks thins labels over very wide spans", () => {
  const ticks = logTicks(1e-12, 1e3, 5);
  const labelled = ticks.filter((t) => t.label);
  assert.ok(labelled.length <= 6 && labelled.length >= 3, String(labelled.length));
  assert.ok(ticks.every((t) => t.value >= 1e-12 && t.value <= 1e3 * (1 + 1e-9)));
});

test("logTicks over narrow spans uses 1-2-5 or linear ticks", () => {
  const ticks = logTicks(0.002, 0.03, 8);
  assert.deepEqual(ticks.map((t) => t.value), [0.002, 0.005, 0.01, 0.02]);
  const narrow = logTicks(0.0031, 0.0039, 5);
  assert.ok(narrow.length >= 2);
  assert.ok(narrow.every((t) => t.value >= 0.0031 && t.value <= 0.0039));
  assert.deepEqual(logTicks(0, 1), []);
  assert.deepEqual(logTicks(-1, 1), []);
});

test("ticksFor follows the scale's kind", () => {
  const log = ticksFor(makeScale("log", [1e-4, 1], [0, 500]), 6);
  assert.ok(log.some((t) => t.value === 1e-4) && log.some((t) => t.value === 1));
  const lin = ticksFor(makeScale("linear", [0, 1], [0, 500]), 5);
  assert.deepEqual(lin.map((t) => t.value), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test("padDomain pads linearly or in log space", () => {
  assert.deepEqual(padDomain(0, 10, 0.1), [-1, 11]);
  const [a, b] = padDomain(1e-3, 1e-1, 0.5, true);
  close(a, 1e-4);
  close(b, 1);
  assert.deepEqual(padDomain(5, 5), [4.5, 5.5]);
  assert.deepEqual(padDomain(NaN, NaN), [0, 1]);
  assert.deepEqual(padDomain(0, 0), [-1, 1]);
  assert.deepEqual(padDomain(2, NaN, 0), [1.8, 2.2]);
});
