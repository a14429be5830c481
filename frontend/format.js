// Pure helpers of the LR Range panel: number parsing and formatting, and the
// CSV / JSON exports. No DOM access here, so Node's test runner can load it.

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/**
 * Converts one JSON value to a number. The backend sends non-finite floats as
 * the strings "NaN", "Infinity" and "-Infinity"; null and anything else that
 * is not a number become NaN.
 * @param {*} value
 * @returns {number}
 */
export function parseNumber(value) {
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    if (value in NON_FINITE) return NON_FINITE[value];
    const number = Number(value);
    return value.trim() === "" ? NaN : number;
  }
  return NaN;
}

/**
 * Converts a JSON array of numbers (possibly holding "NaN"-style strings) to
 * a Float64Array.
 * @param {Array|undefined|null} values
 * @returns {Float64Array}
 */
export function toFloatArray(values) {
  if (!Array.isArray(values)) return new Float64Array(0);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = typeof v === "number" ? v : parseNumber(v);
  }
  return out;
}

function normalizeSuggestion(suggestion) {
  if (!suggestion || typeof suggestion !== "object") return null;
  const methods = {};
  for (const [name, lr] of Object.entries(suggestion.methods || {})) {
    methods[name] = parseNumber(lr);
  }
  return {
    lr: parseNumber(suggestion.lr),
    min_lr: parseNumber(suggestion.min_lr),
    max_lr: parseNumber(suggestion.max_lr),
    method: String(suggestion.method ?? ""),
    methods,
    index: Number.isInteger(suggestion.index) ? suggestion.index : -1,
  };
}

/**
 * Normalises a `curves` response: every array becomes a Float64Array, every
 * suggestion field a number, missing fields get safe defaults.
 * @param {object} json The parsed body of `GET curves`.
 * @returns {{smoothing: number, method: string, runs: Array<object>}}
 */
export function normalizeCurves(json) {
  const runs = [];
  for (const run of (json && Array.isArray(json.runs) ? json.runs : [])) {
    const series = {};
    for (const [name, data] of Object.entries((run && run.series) || {})) {
      if (!data || typeof data !== "object") continue;
      const curve = {
        step: toFloatArray(data.step),
        lr: toFloatArray(data.lr),
        value: toFloatArray(data.value),
        smoothed: toFloatArray(data.smoothed),
        derivative: toFloatArray(data.derivative),
        higher_is_better: Boolean(data.higher_is_better),
        suggestion: normalizeSuggestion(data.suggestion),
      };
      const n = Math.min(curve.lr.length, curve.value.length);
      for (const key of ["step", "lr", "value", "smoothed", "derivative"]) {
        if (curve[key].length > n) curve[key] = curve[key].subarray(0, n);
        if (curve[key].length < n) {
          const padded = new Float64Array(n).fill(NaN);
          padded.set(curve[key]);
          curve[key] = padded;
        }
      }
      series[name] = curve;
    }
    runs.push({
      run: String(run && run.run),
      mode: run && run.mode === "linear" ? "linear" : "exponential",
      status: run && run.status === "running" ? "running" : "finished",
      stop_reason: run && run.stop_reason != null ? String(run.stop_reason) : null,
      series,
    });
  }
  return {
    smoothing: parseNumber(json && json.smoothing),
    method: String((json && json.method) || ""),
    runs,
  };
}

function stripZeros(text) {
  // "1.50" -> "1.5", "2.00" -> "2"; leaves integers without a point alone.
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/**
 * Formats a number with `digits` significant digits, plain between 1e-3 and
 * 1e4 ("0.00316", "12.3") and in short exponent form elsewhere ("3.16e-5",
 * "1e-7"). Non-finite values read "NaN", "∞", "-∞".
 * @param {number} x
 * @param {number} [digits=3]
 * @returns {string}
 */
export function formatNumber(x, digits = 3) {
  if (typeof x !== "number") x = parseNumber(x);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  if (x === 0) return "0";
  const magnitude = Math.abs(Number(x.toPrecision(digits)));
  if (magnitude >= 1e-3 && magnitude < 1e4) {
    const text = x.toPrecision(digits);
    if (!text.includes("e")) return stripZeros(text);
  }
  const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
  return `${stripZeros(mantissa)}e${Number(exponent)}`;
}

/**
 * Formats a tick label of a linear axis whose ticks are `step` apart, with
 * just enough decimals to tell neighbours apart.
 * @param {number} value
 * @param {number} step
 * @returns {string}
 */
export function formatTick(value, step) {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (Math.abs(value) < Math.abs(step) * 1e-9) return "0";
  const magnitude = Math.max(Math.abs(value), Math.abs(step));
  if (magnitude >= 1e5 || Math.abs(step) < 1e-4) {
    const digits = Math.max(1, Math.min(12,
      Math.floor(Math.log10(Math.abs(value))) - Math.floor(Math.log10(Math.abs(step))) + 1));
    return formatNumber(value, digits);
  }
  let decimals = 0;
  while (decimals < 10) {
    const scaled = Math.abs(step) * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) break;
    decimals++;
  }
  return stripZeros(value.toFixed(decimals));
}

/**
 * Escapes one CSV field (RFC 4180). Text that a spreadsheet would run as a
 * formula (starting with = + - @, tab or carriage return) gets a leading
 * apostrophe; numbers are written as is, non-finite ones as NaN/Infinity.
 * @param {string|number|null|undefined} value
 * @returns {string}
 */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return String(value);
  }
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  if (/[",\r\n]/.test(text)) text = '"' + text.replace(/"/g, '""') + '"';
  return text;
}

/** Columns of the CSV export, in order. */
export const CSV_COLUMNS = ["run", "series", "step", "lr", "value", "smoothed", "derivative"];

/**
 * Builds the CSV export of normalised curves: one row per run, series and
 * step, columns `CSV_COLUMNS`.
 * @param {{runs: Array<object>}} curves Output of `normalizeCurves`.
 * @param {string[]} [seriesNames] Series to include (default: all).
 * @returns {string}
 */
export function buildCSV(curves, seriesNames) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const run of curves.runs) {
    const runField = csvField(run.run);
    for (const [name, curve] of Object.entries(run.series)) {
      if (seriesNames && !seriesNames.includes(name)) continue;
      const nameField = csvField(name);
      for (let i = 0; i < curve.lr.length; i++) {
        lines.push(
          `${runField},${nameField},${csvField(curve.step[i])},${csvField(curve.lr[i])},` +
          `${csvField(curve.value[i])},${csvField(curve.smoothed[i])},${csvField(curve.derivative[i])}`);
      }
    }
  }
  return lines.join("\r\n") + "\r\n";
}

function jsonNumber(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

function jsonArray(values) {
  return Array.from(values, jsonNumber);
}

/**
 * Builds the JSON export of normalised curves, in the shape of the `curves`
 * response (non-finite numbers as the strings "NaN", "Infinity",
 * "-Infinity", as the backend sends them).
 * @param {{smoothing: number, method: string, runs: Array<object>}} curves
 * @param {string[]} [seriesNames] Series to include (default: all).
 * @returns {string}
 */
export function buildJSON(curves, seriesNames) {
  const document = {
    smoothing: jsonNumber(curves.smoothing),
    method: curves.method,
    runs: curves.runs.map((run) => {
      const series = {};
      for (const [name, curve] of Object.entries(run.series)) {
        if (seriesNames && !seriesNames.includes(name)) continue;
        const s = curve.suggestion;
        series[name] = {
          step: jsonArray(curve.step),
          lr: jsonArray(curve.lr),
          value: jsonArray(curve.value),
          smoothed: jsonArray(curve.smoothed),
          derivative: jsonArray(curve.derivative),
          higher_is_better: curve.higher_is_better,
          suggestion: s && {
            lr: jsonNumber(s.lr),
            min_lr: jsonNumber(s.min_lr),
            max_lr: jsonNumber(s.max_lr),
            method: s.method,
            methods: Object.fromEntries(
              Object.entries(s.methods).map(([k, v]) => [k, jsonNumber(v)])),
            index: s.index,
          },
        };
      }
      return { run: run.run, mode: run.mode, status: run.status, stop_reason: run.stop_reason, series };
    }),
  };
  return JSON.stringify(document, null, 1);
}

/**
 * A file name made of safe characters only, from free text such as run names.
 * @param {string} text
 * @returns {string}
 */
export function safeFileName(text) {
  const cleaned = String(text).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/_+/g, "_")
    .replace(/^[._-]+|[._-]+$/g, "");
  return cleaned.slice(0, 80) || "lr_range";
}

/**
 * Index of the element of increasing `xs` nearest to `x`; NaN entries are
 * skipped by a local search. -1 for an empty array.
 * @param {ArrayLike<number>} xs Increasing values (NaN allowed).
 * @param {number} x
 * @returns {number}
 */
export function nearestIndex(xs, x) {
  const n = xs.length;
  if (n === 0 || Number.isNaN(x)) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = xs[mid];
    if (v < x) lo = mid + 1;
    else if (v >= x) hi = mid;
    else {
      // NaN in the middle: fall back to a linear scan.
      return nearestLinear(xs, x);
    }
  }
  let best = -1;
  let bestDistance = Infinity;
  for (let i = Math.max(0, lo - 1); i <= Math.min(n - 1, lo + 1); i++) {
    const d = Math.abs(xs[i] - x);
    if (d < bestDistance) { best = i; bestDistance = d; }
  }
  return best === -1 ? nearestLinear(xs, x) : best;
}

function nearestLinear(xs, x) {
  let best = -1;
  let bestDistance = Infinity;
  for (let i = 0; i < xs.length; i++) {
    const d = Math.abs(xs[i] - x);
    if (d < bestDistance) { best = i; bestDistance = d; }
  }
  return best;
}

/**
 * Quantiles (each q in [0, 1]) of the finite values of `values` whose `xs`
 * lie in [x0, x1] (all values when `xs` is omitted); NaN when there are none.
 * q = 0 and q = 1 are the exact minimum and maximum; inner quantiles are
 * read from an evenly strided sample of at most `sampleSize` values, so a
 * call stays fast on 100,000 points.
 * @param {ArrayLike<number>} values
 * @param {number[]} qs
 * @param {ArrayLike<number>} [xs]
 * @param {number} [x0]
 * @param {number} [x1]
 * @param {number} [sampleSize=20000]
 * @returns {number[]}
 */
export function quantiles(values, qs, xs, x0 = -Infinity, x1 = Infinity, sampleSize = 20000) {
  let first = 0;
  let last = values.length - 1;
  if (xs) {
    // xs increase: narrow to the window by binary search, then filter exactly.
    first = lowerBound(xs, x0);
    last = upperBound(xs, x1) - 1;
  }
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = first; i <= last; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (xs && !(xs[i] >= x0 && xs[i] <= x1)) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (count === 0) return qs.map(() => NaN);
  let sorted = null;
  const inner = () => {
    if (sorted) return sorted;
    const stride = Math.max(1, Math.floor(count / sampleSize));
    const picked = [];
    let seen = 0;
    for (let i = first; i <= last; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (xs && !(xs[i] >= x0 && xs[i] <= x1)) continue;
      if (seen++ % stride === 0) picked.push(v);
    }
    sorted = Float64Array.from(picked).sort();
    return sorted;
  };
  return qs.map((q) => {
    if (q <= 0) return min;
    if (q >= 1) return max;
    const s = inner();
    const at = q * (s.length - 1);
    const below = Math.floor(at);
    const above = Math.ceil(at);
    return Math.min(max, Math.max(min, s[below] + (s[above] - s[below]) * (at - below)));
  });
}

/**
 * First index i of increasing `xs` with xs[i] >= x (NaN entries treated as
 * +Infinity, where a broken tail usually sits); xs.length when none.
 * @param {ArrayLike<number>} xs
 * @param {number} x
 * @returns {number}
 */
export function lowerBound(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First index i of increasing `xs` with xs[i] > x; xs.length when none.
 * @param {ArrayLike<number>} xs
 * @param {number} x
 * @returns {number}
 */
export function upperBound(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
