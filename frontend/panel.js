// The LR Range panel: controls, charts, suggestions, hover, zoom, export and
// auto-refresh. Run and tag names only ever enter the page as text nodes or
// attribute values; nothing here writes markup from data.

import { fetchRuns, fetchCurves } from "./api.js";
import {
  buildCSV, buildJSON, formatNumber, lowerBound, nearestIndex, normalizeCurves, quantiles,
  safeFileName, upperBound,
} from "./format.js";
import { makeScale, padDomain } from "./scale.js";
import { Chart, plotWidth, svgEl, FONT } from "./chart.js";
import { columnMeans } from "./decimate.js";

/** Run colours: TensorBoard's palette, then more distinct hues. */
export const PALETTE = [
  "#425066", "#12b5cb", "#e52592", "#f9ab00", "#9334e6", "#7cb342", "#e8710a",
  "#1a73e8", "#d93025", "#188038", "#a142f4", "#795548", "#00897b", "#c0ca33",
];
const ACCENT = "#f57c00";
const METHODS = ["valley", "steep", "minimum", "range"];
const METHOD_HELP = {
  valley: "middle of the longest falling stretch (fastai's default)",
  steep: "steepest descent of the smoothed curve",
  minimum: "learning rate at the lowest smoothed value, divided by 10",
  range: "geometric middle of the suggested range",
};
const REFRESH_MS = 5000;
const DEFAULT_SELECTED = 8;
const EMPTY_IMPORT = "from tb_lr_range import LRFinder";
const EMPTY_FIT = 'model.fit(x, y, callbacks=[LRFinder(log_dir="logs/lr_range")])';

/**
 * Creates an HTML element. Strings among `children` become text nodes;
 * `props` are set as attributes (or listeners for on* functions).
 * @param {string} tag
 * @param {object} [props]
 * @param {...(Node|string|null|false|Array)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value" || key === "checked") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function seriesOrder(name) {
  if (name === "loss") return [0, name];
  if (name === "val_loss") return [2, name];
  return [name.startsWith("val_") ? 3 : 1, name];
}

function compareSeries(a, b) {
  const [ga, na] = seriesOrder(a);
  const [gb, nb] = seriesOrder(b);
  return ga - gb || (na < nb ? -1 : na > nb ? 1 : 0);
}

function describeRun(run) {
  const config = run.config || {};
  const parts = [];
  if (config.optimizer) parts.push(String(config.optimizer));
  if (config.min_lr != null && config.max_lr != null) {
    parts.push(`${config.mode === "linear" ? "lin" : "exp"} ${formatNumber(Number(config.min_lr))}–${formatNumber(Number(config.max_lr))}`);
  }
  const steps = run.result && Number.isFinite(run.result.steps) ? run.result.steps
    : Number.isFinite(run.last_step) ? run.last_step + 1 : null;
  if (steps != null) {
    parts.push(config.planned_steps ? `${steps}/${config.planned_steps} steps` : `${steps} steps`);
  }
  return parts.join(" · ");
}

function statusText(run) {
  if (run.status === "running") return "running";
  const reason = run.result && run.result.stop_reason;
  return reason ? String(reason).replace(/_/g, " ") : "finished";
}

/**
 * y extent of the main chart over the LR window [x0, x1]: the smoothed curves
 * and the bulk of the raw points, with the blow-up at the end of a test cut
 * so that it does not flatten the part worth reading.
 * @param {Array<{curve: object}>} visible
 * @param {number} x0
 * @param {number} x1
 * @returns {[number, number]}
 */
export function valueExtent(visible, x0, x1) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { curve } of visible) {
    const [sMin, sMax] = quantiles(curve.smoothed, [0, 1], curve.lr, x0, x1);
    if (!Number.isFinite(sMin)) continue;
    let bottom = sMin;
    let top = sMax;
    // Where the curve starts to head the wrong way, it may blow up: keep the
    // part before it (its start and its best value) plus some headroom.
    const first = lowerBound(curve.lr, x0);
    const end = upperBound(curve.lr, x1);
    let bestAt = -1;
    for (let i = first; i < end; i++) {
      const v = curve.smoothed[i];
      if (!Number.isFinite(v)) continue;
      if (bestAt < 0 || (curve.higher_is_better ? v > curve.smoothed[bestAt] : v < curve.smoothed[bestAt])) bestAt = i;
    }
    let start = NaN;
    for (let i = first; i < end && !Number.isFinite(start); i++) start = curve.smoothed[i];
    if (bestAt >= 0 && Number.isFinite(start)) {
      const best = curve.smoothed[bestAt];
      const fall = Math.abs(start - best);
      const room = Math.max(fall * 0.6, Math.abs(best) * 0.05, 1e-12);
      if (curve.higher_is_better) bottom = Math.max(sMin, Math.min(start, best) - room);
      else top = Math.min(sMax, Math.max(start, best) + room);
    }
    const [r02, r98] = quantiles(curve.value, [0.02, 0.98], curve.lr, x0, x1);
    const span = top - bottom || Math.abs(top) || 1;
    if (Number.isFinite(r02)) bottom = Math.min(bottom, Math.max(r02, bottom - 0.25 * span));
    if (Number.isFinite(r98)) top = Math.max(top, Math.min(r98, top + 0.25 * span));
    lo = Math.min(lo, bottom);
    hi = Math.max(hi, top);
  }
  return [lo, hi];
}

/**
 * Index of the point of increasing `xs` drawn nearest to pixel `cursor` on
 * scale `sx`, or -1 when none is within `reach` pixels (the run does not
 * cover that part of the axis).
 * @returns {number}
 */
function nearestPixel(xs, x, sx, cursor, reach = 40) {
  const i = nearestIndex(xs, x);
  if (i < 0) return -1;
  let best = -1;
  let distance = Infinity;
  for (let j = Math.max(0, i - 1); j <= Math.min(xs.length - 1, i + 1); j++) {
    const d = Math.abs(sx.map(xs[j]) - cursor);
    if (d < distance) { best = j; distance = d; }
  }
  return distance <= reach ? best : -1;
}

/**
 * y extent of the derivative chart: 2nd to 98th percentile of its column
 * means, over the columns up to the smoothed curve's minimum that lie inside
 * the main chart's window [yLo, yHi] (the falling part, which is what the
 * derivative is read for; the blow-up after the minimum would flatten it).
 * The top leaves room for half as much rise as the steepest fall.
 * @param {Array<{curve: object}>} visible
 * @param {Array<object>} means `decimate.columnMeans` of each derivative.
 * @param {number} yLo
 * @param {number} yHi
 * @returns {[number, number]}
 */
export function derivativeExtent(visible, means, yLo, yHi) {
  let lo = Infinity;
  let hi = -Infinity;
  visible.forEach(({ curve }, k) => {
    const m = means[k];
    const lowest = argminFinite(curve.smoothed);
    const kept = new Float64Array(m.length);
    let n = 0;
    for (let j = 0; j < m.length; j++) {
      const i = m.index[j];
      const s = curve.smoothed[i];
      if (i <= lowest && !(s < yLo || s > yHi)) kept[n++] = m.mean[j];
    }
    const [a, b] = quantiles(kept.subarray(0, n), [0.02, 0.98]);
    if (Number.isFinite(a)) lo = Math.min(lo, a);
    if (Number.isFinite(b)) hi = Math.max(hi, b);
  });
  if (Number.isFinite(lo) && lo < 0) hi = Math.max(hi, -lo / 2);
  return [lo, hi];
}

/** Index of the smallest finite value (the last index when there is none). */
function argminFinite(values) {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i]) && (best < 0 || values[i] < values[best])) best = i;
  }
  return best < 0 ? values.length - 1 : best;
}

function swatch(color) {
  // Colours come from PALETTE; set through the CSSOM, which CSP allows.
  const el = h("span", { class: "lr-swatch" });
  el.style.backgroundColor = color;
  return el;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, class: "lr-hidden-link" });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/** The LR Range panel, mounted into one root element. */
export class Panel {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.runs = [];
    this.selected = new Set();
    this.selectionReady = false;
    this.colors = new Map();
    this.series = "loss";
    this.smoothing = 0.98;
    this.method = null; // the server's default until the user picks one
    this.axis = "auto";
    this.zoom = null;
    this.curves = null;
    this.visible = [];
    this.autoRefresh = true;
    this.filter = "";
    this.busy = 0;
    this.curvesSeq = 0;
    this.curvesAbort = null;
    this.runsAbort = null;
    this.drag = null;
    this.build();
  }

  // ------------------------------------------------------------------ layout

  build() {
    const root = this.root;
    root.className = "lr-app";
    this.progress = h("div", { class: "lr-progress", hidden: true });

    this.filterInput = h("input", { type: "search", class: "lr-filter", placeholder: "Filter runs",
      "aria-label": "Filter runs", oninput: () => { this.filter = this.filterInput.value; this.renderRunList(); } });
    this.runList = h("ul", { class: "lr-run-list", "aria-label": "Runs" });
    this.runCount = h("span", { class: "lr-muted" });
    const runsSection = h("section", { class: "lr-section" },
      h("div", { class: "lr-section-head" }, h("h3", {}, "Runs"), this.runCount,
        h("span", { class: "lr-spacer" }),
        this.allButton = h("button", { type: "button", class: "lr-link", onclick: () => this.selectAll(true) }, "All"),
        this.noneButton = h("button", { type: "button", class: "lr-link", onclick: () => this.selectAll(false) }, "None")),
      this.filterInput, this.runList);

    this.seriesSelect = h("select", { class: "lr-series", "aria-label": "Metric",
      onchange: () => { this.series = this.seriesSelect.value; this.zoom = null; this.loadCurves(); } });
    this.smoothingRange = h("input", { type: "range", min: "0", max: "0.999", step: "0.001",
      value: String(this.smoothing), class: "lr-smoothing", "aria-label": "Smoothing",
      oninput: () => this.setSmoothing(this.smoothingRange.value, false),
      onchange: () => this.setSmoothing(this.smoothingRange.value, true) });
    this.smoothingNumber = h("input", { type: "number", min: "0", max: "0.999", step: "0.001",
      value: String(this.smoothing), class: "lr-smoothing-number", "aria-label": "Smoothing value",
      onchange: () => this.setSmoothing(this.smoothingNumber.value, true) });
    this.methodSelect = h("select", { class: "lr-method", "aria-label": "Suggestion method",
      onchange: () => { this.method = this.methodSelect.value; this.loadCurves(); } },
    METHODS.map((m) => h("option", { value: m, title: METHOD_HELP[m] }, m)));
    this.axisSelect = h("select", { class: "lr-axis", "aria-label": "Learning-rate axis",
      onchange: () => { this.axis = this.axisSelect.value; this.zoom = null; this.drawAll(); } },
    h("option", { value: "auto" }, "auto (log for exponential tests)"),
    h("option", { value: "log" }, "log"), h("option", { value: "linear" }, "linear"));

    this.reloadButton = h("button", { type: "button", class: "lr-button lr-reload",
      onclick: () => this.reload() }, "Reload");
    this.autoCheckbox = h("input", { type: "checkbox", checked: true, class: "lr-auto",
      onchange: () => { this.autoRefresh = this.autoCheckbox.checked; this.renderStatus(); } });
    this.statusLine = h("div", { class: "lr-status lr-muted", "aria-live": "polite" });

    const exportButton = (label, action) => h("button", { type: "button", class: "lr-button lr-export",
      "data-export": label.toLowerCase(), onclick: () => action() }, label);
    this.exportButtons = [
      exportButton("CSV", () => this.exportCSV()),
      exportButton("JSON", () => this.exportJSON()),
      exportButton("SVG", () => this.exportSVG()),
      exportButton("PNG", () => this.exportPNG()),
    ];

    this.viewControls = h("section", { class: "lr-section lr-view-controls" },
        h("label", { class: "lr-field" }, h("span", {}, "Metric"), this.seriesSelect),
        h("label", { class: "lr-field" }, h("span", {}, "Smoothing"),
          h("div", { class: "lr-row" }, this.smoothingRange, this.smoothingNumber)),
        h("label", { class: "lr-field" }, h("span", {}, "Suggestion method"), this.methodSelect),
        h("label", { class: "lr-field" }, h("span", {}, "Learning-rate axis"), this.axisSelect));
    this.exportSection = h("section", { class: "lr-section lr-export-section" },
      h("h3", {}, "Export"),
      h("div", { class: "lr-row lr-wrap" }, this.exportButtons));
    const sidebar = h("aside", { class: "lr-sidebar" },
      runsSection,
      this.viewControls,
      h("section", { class: "lr-section" },
        h("div", { class: "lr-row" }, this.reloadButton,
          h("label", { class: "lr-check", title: "Reload every 5 s while a selected test is running" },
            this.autoCheckbox, "Auto-refresh")),
        this.statusLine),
      this.exportSection);

    this.errorBox = h("div", { class: "lr-error", role: "alert", hidden: true });
    this.emptyBox = h("div", { class: "lr-empty lr-card", hidden: true });
    this.placeholder = h("div", { class: "lr-placeholder lr-card", hidden: true });

    this.suggestionBody = h("div", { class: "lr-suggestions-body" });
    this.suggestionCard = h("div", { class: "lr-card lr-suggestions" },
      h("div", { class: "lr-card-head" }, h("h2", {}, "Suggested learning rate"),
        h("span", { class: "lr-muted lr-method-note" })),
      this.suggestionBody);

    const chartCard = (title, extra) => {
      const wrap = h("div", { class: "lr-chart-wrap" });
      const titleEl = h("h2", {}, title);
      const card = h("div", { class: "lr-card lr-chart-card" },
        h("div", { class: "lr-card-head" }, titleEl, h("span", { class: "lr-spacer" }), extra || null), wrap);
      return { card, wrap, titleEl };
    };
    this.zoomNote = h("span", { class: "lr-zoom-note lr-muted" });
    this.zoomReset = h("button", { type: "button", class: "lr-link", hidden: true,
      onclick: () => this.setZoom(null) }, "Reset zoom");
    this.legend = h("div", { class: "lr-legend" });
    const main = chartCard("Loss against learning rate",
      h("span", { class: "lr-row" }, this.zoomNote, this.zoomReset));
    this.derivNote = h("span", { class: "lr-muted lr-deriv-note" });
    const deriv = chartCard("Derivative of the smoothed curve", this.derivNote);
    const lrStep = chartCard("Learning rate against step");
    main.card.insertBefore(this.legend, main.wrap);
    this.mainTitle = main.titleEl;
    this.mainTitle.classList.add("lr-main-title");
    this.derivTitle = deriv.titleEl;
    this.mainChart = new Chart(main.wrap, { label: "metric against learning rate" });
    this.derivChart = new Chart(deriv.wrap, { label: "derivative against learning rate" });
    this.lrChart = new Chart(lrStep.wrap, { label: "learning rate against step" });
    this.mainChart.svg.classList.add("lr-main-chart");
    this.derivChart.svg.classList.add("lr-deriv-chart");
    this.lrChart.svg.classList.add("lr-step-chart");
    this.wraps = [main.wrap, deriv.wrap, lrStep.wrap];
    this.tooltip = h("div", { class: "lr-tooltip", hidden: true });
    this.content = h("div", { class: "lr-content" },
      this.suggestionCard, main.card, deriv.card, lrStep.card);

    this.mainArea = h("main", { class: "lr-main" },
      this.errorBox, this.emptyBox, this.placeholder, this.content);
    root.replaceChildren(this.progress, sidebar, this.mainArea, this.tooltip);

    for (const chart of [this.mainChart, this.derivChart]) this.attachLRInteractions(chart);
    this.attachStepInteractions(this.lrChart);

    if (typeof ResizeObserver === "function") {
      let pending = false;
      let lastWidth = 0;
      this.resizer = new ResizeObserver(() => {
        const width = this.mainArea.clientWidth;
        if (pending || width === lastWidth) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          lastWidth = this.mainArea.clientWidth;
          if (this.curves) this.drawAll();
        });
      });
      this.resizer.observe(this.mainArea);
    }
  }

  // -------------------------------------------------------------- lifecycle

  /** Loads the runs and curves, then starts the auto-refresh timer. */
  async start() {
    await this.loadRuns();
    this.timer = setInterval(() => this.tick(), REFRESH_MS);
  }

  tick() {
    if (!this.autoRefresh || document.hidden || this.busy > 0) return;
    // Refresh while a selected test is running, and while there is none yet
    // (so that a test just started shows up without a click).
    if (this.anySelectedRunning() || (!this.runs.length && this.errorBox.hidden)) {
      this.loadRuns({ quiet: true });
    }
  }

  anySelectedRunning() {
    return this.runs.some((r) => r.status === "running" && this.selected.has(r.run));
  }

  /** Fetches the runs and the curves again. */
  reload() {
    return this.loadRuns();
  }

  setBusy(delta) {
    this.busy = Math.max(0, this.busy + delta);
    this.progress.hidden = this.busy === 0;
    this.root.toggleAttribute("data-busy", this.busy > 0);
  }

  async loadRuns({ quiet = false } = {}) {
    if (this.runsAbort) this.runsAbort.abort();
    const controller = new AbortController();
    this.runsAbort = controller;
    this.setBusy(1);
    let runs;
    try {
      runs = await fetchRuns(controller.signal);
    } catch (error) {
      if (error && error.name === "AbortError") return;
      this.showError("Could not load the list of runs", error);
      return;
    } finally {
      this.setBusy(-1);
    }
    if (controller !== this.runsAbort) return;
    this.runs = runs.filter((r) => r && typeof r.run === "string");
    for (const r of this.runs) {
      if (!this.colors.has(r.run)) this.colors.set(r.run, PALETTE[this.colors.size % PALETTE.length]);
    }
    const names = new Set(this.runs.map((r) => r.run));
    if (!this.selectionReady && this.runs.length) {
      this.runs.slice(0, DEFAULT_SELECTED).forEach((r) => this.selected.add(r.run));
      this.selectionReady = true;
    }
    for (const name of [...this.selected]) if (!names.has(name)) this.selected.delete(name);
    this.lastRunsUpdate = new Date();
    if (!quiet) this.clearError();
    this.renderRunList();
    this.renderSeriesOptions();
    this.renderStatus();
    this.viewControls.hidden = !this.runs.length;
    this.exportSection.hidden = !this.runs.length;
    if (!this.runs.length) {
      this.showEmpty();
      return;
    }
    this.emptyBox.hidden = true;
    await this.loadCurves();
  }

  async loadCurves() {
    const wanted = this.runs.filter((r) => this.selected.has(r.run)
      && (Array.isArray(r.series) ? r.series.includes(this.series) : this.series === "loss"));
    if (this.curvesAbort) this.curvesAbort.abort();
    const seq = ++this.curvesSeq;
    if (!wanted.length) {
      this.curves = null;
      this.drawAll();
      return;
    }
    const controller = new AbortController();
    this.curvesAbort = controller;
    this.setBusy(1);
    let json;
    performance.mark("lr-range-request");
    try {
      json = await fetchCurves({ runs: wanted.map((r) => r.run), series: [this.series],
        smoothing: this.smoothing, method: this.method }, controller.signal);
    } catch (error) {
      if (error && error.name === "AbortError") return;
      if (seq === this.curvesSeq) this.showError("Could not load the curves", error);
      return;
    } finally {
      this.setBusy(-1);
    }
    if (seq !== this.curvesSeq) return;
    performance.mark("lr-range-data");
    performance.measure("lr-range-load", "lr-range-request", "lr-range-data");
    this.curves = normalizeCurves(json);
    if (this.curves.method) this.methodSelect.value = this.curves.method;
    this.clearError();
    this.drawAll();
    performance.measure("lr-range-draw", "lr-range-data");
    this.root.setAttribute("data-drawn", String(seq));
    requestAnimationFrame(() => setTimeout(() => {
      if (seq === this.curvesSeq) performance.measure("lr-range-paint", "lr-range-data");
    }, 0));
  }

  // --------------------------------------------------------------- controls

  setSmoothing(raw, commit) {
    let value = Number(raw);
    if (!Number.isFinite(value)) value = 0.98;
    value = Math.min(0.999, Math.max(0, value));
    const changed = value !== this.smoothing;
    this.smoothing = value;
    this.smoothingRange.value = String(value);
    this.smoothingNumber.value = String(value);
    clearTimeout(this.smoothingTimer);
    if (!changed && !this.smoothingPending) return;
    if (commit) {
      this.smoothingPending = false;
      this.loadCurves();
    } else {
      // Dragging the slider: ask once it rests for a moment.
      this.smoothingPending = true;
      this.smoothingTimer = setTimeout(() => {
        this.smoothingPending = false;
        this.loadCurves();
      }, 300);
    }
  }

  selectAll(on) {
    const shown = this.filteredRuns();
    for (const r of shown) {
      if (on) this.selected.add(r.run);
      else this.selected.delete(r.run);
    }
    this.renderRunList();
    this.renderSeriesOptions();
    this.loadCurves();
  }

  filteredRuns() {
    const text = this.filter.trim().toLowerCase();
    return text ? this.runs.filter((r) => r.run.toLowerCase().includes(text)) : this.runs;
  }

  renderRunList() {
    const items = this.filteredRuns().map((run) => {
      const checkbox = h("input", { type: "checkbox", checked: this.selected.has(run.run),
        onchange: () => {
          if (checkbox.checked) this.selected.add(run.run);
          else this.selected.delete(run.run);
          this.renderSeriesOptions();
          this.loadCurves();
        } });
      const running = run.status === "running";
      const status = statusText(run);
      return h("li", { class: "lr-run" + (this.selected.has(run.run) ? " lr-run-on" : "") },
        h("label", { class: "lr-run-label", title: run.run },
          checkbox,
          swatch(this.colors.get(run.run)),
          h("span", { class: "lr-run-text" },
            h("span", { class: "lr-run-name" }, run.run),
            h("span", { class: "lr-run-meta" },
              h("span", { class: "lr-chip" + (running ? " lr-chip-running" : status === "diverged" || status === "non finite loss" ? " lr-chip-stop" : "") }, status),
              " ", describeRun(run)))));
    });
    this.runList.replaceChildren(...items);
    this.runCount.textContent = this.runs.length ? `${this.selected.size} of ${this.runs.length}` : "";
    this.filterInput.hidden = this.runs.length < 6;
    this.allButton.hidden = this.noneButton.hidden = !this.runs.length;
  }

  renderSeriesOptions() {
    const pool = this.runs.filter((r) => this.selected.has(r.run));
    const names = new Set();
    for (const r of (pool.length ? pool : this.runs)) {
      for (const s of (Array.isArray(r.series) ? r.series : ["loss"])) names.add(String(s));
    }
    if (!names.size) names.add("loss");
    const sorted = [...names].sort(compareSeries);
    if (!sorted.includes(this.series)) {
      this.series = sorted.includes("loss") ? "loss" : sorted[0];
      this.zoom = null;
    }
    this.seriesSelect.replaceChildren(...sorted.map((s) => h("option", { value: s }, s)));
    this.seriesSelect.value = this.series;
  }

  renderStatus() {
    const parts = [];
    if (this.lastRunsUpdate) parts.push(`Updated ${this.lastRunsUpdate.toLocaleTimeString()}`);
    if (this.anySelectedRunning()) {
      parts.push(this.autoRefresh ? `a test is running: refreshing every ${REFRESH_MS / 1000} s`
        : "a test is running: auto-refresh is off");
    }
    this.statusLine.textContent = parts.join(" · ");
  }

  // ----------------------------------------------------------------- states

  showError(prefix, error) {
    const message = error && error.message ? error.message : String(error);
    this.errorBox.replaceChildren(
      h("strong", {}, prefix + ". "), h("span", { class: "lr-error-text" }, message), " ",
      h("button", { type: "button", class: "lr-link", onclick: () => this.reload() }, "Retry"));
    this.errorBox.hidden = false;
  }

  clearError() {
    this.errorBox.hidden = true;
    this.errorBox.replaceChildren();
  }

  showEmpty() {
    this.curves = null;
    this.content.hidden = true;
    this.placeholder.hidden = true;
    const code = `${EMPTY_IMPORT}\n\n${EMPTY_FIT}`;
    const copyButton = h("button", { type: "button", class: "lr-button lr-copy",
      onclick: () => this.copyText(code, copyButton) }, "Copy");
    this.emptyBox.replaceChildren(
      h("h2", {}, "No learning-rate range tests found"),
      h("p", {}, "Add the LRFinder callback to a ", h("code", {}, "fit"),
        ", writing inside the directory TensorBoard reads:"),
      h("div", { class: "lr-code-row" }, h("pre", { class: "lr-code" }, h("code", {}, code)), copyButton),
      h("p", { class: "lr-muted" }, "Then start ", h("code", {}, "tensorboard --logdir logs"),
        " (or point --logdir at a folder above it) and press Reload. Each test appears as one run; ",
        "give runs names with ", h("code", {}, 'LRFinder(..., run_name="adam")'), " to compare them."));
    this.emptyBox.hidden = false;
  }

  // ---------------------------------------------------------------- drawing

  visibleCurves() {
    if (!this.curves) return [];
    const out = [];
    for (const run of this.curves.runs) {
      const curve = run.series[this.series];
      if (!curve || !this.selected.has(run.run)) continue;
      out.push({ run, curve, color: this.colors.get(run.run) || PALETTE[0] });
    }
    return out;
  }

  axisKind(visible) {
    if (this.axis !== "auto") return this.axis;
    // Log as soon as one test is exponential: linear tests read well on a log
    // axis too (only a step at lr = 0 drops out), the reverse is not true.
    return visible.some((v) => v.run.mode === "exponential") ? "log" : "linear";
  }

  lrExtent(visible, log) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const { curve } of visible) {
      for (let i = 0; i < curve.lr.length; i++) {
        const v = curve.lr[i];
        if (!Number.isFinite(v) || (log && v <= 0)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return [lo, hi];
  }

  /** Draws the charts, legend and suggestions from the current curves. */
  drawAll() {
    const visible = this.visibleCurves();
    this.visible = visible;
    this.hideHover();
    this.emptyBox.hidden = this.runs.length > 0;
    if (!this.runs.length) return;
    if (!visible.length) {
      this.content.hidden = true;
      this.placeholder.hidden = false;
      this.placeholder.replaceChildren(h("p", {}, this.selected.size
        ? `None of the selected runs records "${this.series}". Pick another metric or run.`
        : "Select one or more runs on the left to draw their curves."));
      return;
    }
    this.placeholder.hidden = true;
    this.content.hidden = false;

    let kind = this.axisKind(visible);
    let [lo, hi] = this.lrExtent(visible, kind === "log");
    if (!(lo < hi) && kind === "log" && !(lo > 0)) kind = "linear";
    if (!Number.isFinite(lo)) [lo, hi] = this.lrExtent(visible, false);
    const fullDomain = Number.isFinite(lo) ? [lo, hi] : [1e-3, 1];
    let xDomain = fullDomain;
    if (this.zoom && this.zoom.kind === kind) xDomain = this.zoom.domain;
    else this.zoom = null;
    const [x0, x1] = xDomain;
    const width = Math.max(320, Math.floor(this.wraps[0].clientWidth || 640));

    // Main chart: raw points faint, smoothed line solid, suggestions marked.
    const [yLo, yHi] = valueExtent(visible, x0, x1);
    const mainLayers = [];
    for (const { curve, color } of visible) {
      const s = curve.suggestion;
      if (s && Number.isFinite(s.min_lr) && Number.isFinite(s.max_lr)) {
        mainLayers.push({ type: "band", x0: s.min_lr, x1: s.max_lr, color, opacity: 0.08 });
      }
    }
    const innerWidth = plotWidth(width);
    for (const { curve, color } of visible) {
      // Few points: bigger, darker dots; many: one faint 2-pixel column each.
      const shown = upperBound(curve.lr, x1) - lowerBound(curve.lr, x0);
      const sparse = shown < innerWidth / 4;
      mainLayers.push({ type: "columns", xs: curve.lr, ys: curve.value, color,
        opacity: sparse ? 0.45 : 0.28, size: sparse ? 3.5 : 2 });
    }
    for (const { curve, color } of visible) {
      mainLayers.push({ type: "line", xs: curve.lr, ys: curve.smoothed, color, width: 2 });
    }
    for (const { curve, color } of visible) {
      const s = curve.suggestion;
      if (s && Number.isFinite(s.lr)) mainLayers.push({ type: "vline", x: s.lr, color, dash: "5 3", width: 1.5 });
    }
    const series = this.series;
    this.mainTitle.textContent = `${series} against learning rate`;
    this.mainChart.draw({
      width, height: 320,
      x: { kind, domain: xDomain },
      y: { kind: "linear", domain: padDomain(yLo, yHi, 0.05) },
      xLabel: "learning rate", yLabel: series, layers: mainLayers,
    });

    // Derivative chart.
    // Derivative chart: per step it is mostly noise once there are more steps
    // than pixels, so its spread is drawn faintly and its mean per pixel
    // column (the derivative at screen resolution) as the line.
    const derivX = makeScale(kind, xDomain, [0, innerWidth]);
    const means = visible.map(({ curve }) => columnMeans(curve.lr, curve.derivative, derivX));
    this.derivMeans = new Map(visible.map((v, k) => [v.run.run, means[k]]));
    let [dLo, dHi] = derivativeExtent(visible, means, yLo, yHi);
    if (Number.isFinite(dLo)) { dLo = Math.min(dLo, 0); dHi = Math.max(dHi, 0); }
    const derivLayers = [{ type: "hline", y: 0, color: "#bdbdbd", dash: "3 3" }];
    visible.forEach(({ curve, color }, k) => {
      if (means[k].dense) {
        derivLayers.push({ type: "columns", xs: curve.lr, ys: curve.derivative, color, opacity: 0.12, size: 1 });
      }
    });
    visible.forEach(({ color }, k) => {
      derivLayers.push({ type: "means", means: means[k], color, width: 1.5 });
    });
    this.derivNote.textContent = means.some((m) => m.dense)
      ? "line: mean per pixel column · shade: spread of the per-step values" : "";
    for (const { curve, color } of visible) {
      const s = curve.suggestion;
      if (s && Number.isFinite(s.lr)) derivLayers.push({ type: "vline", x: s.lr, color, dash: "5 3", width: 1 });
    }
    const modes = new Set(visible.map((v) => v.run.mode));
    const dLabel = modes.size > 1 ? `d ${series} / d ln(lr) or d lr`
      : modes.has("linear") ? `d ${series} / d lr` : `d ${series} / d ln(lr)`;
    this.derivTitle.textContent = `Derivative of smoothed ${series}`;
    this.derivChart.draw({
      width, height: 190,
      x: { kind, domain: xDomain },
      y: { kind: "linear", domain: padDomain(dLo, dHi, 0.05) },
      xLabel: "learning rate", yLabel: dLabel, layers: derivLayers,
    });

    // Learning rate against step.
    let sLo = Infinity;
    let sHi = -Infinity;
    for (const { curve } of visible) {
      if (curve.step.length) {
        sLo = Math.min(sLo, curve.step[0]);
        sHi = Math.max(sHi, curve.step[curve.step.length - 1]);
      }
    }
    const stepLayers = [];
    if (this.zoom) stepLayers.push({ type: "hband", y0: x0, y1: x1 });
    for (const { curve, color } of visible) {
      stepLayers.push({ type: "line", xs: curve.step, ys: curve.lr, color, width: 2 });
    }
    for (const { curve, color } of visible) {
      const s = curve.suggestion;
      if (s && Number.isFinite(s.lr)) stepLayers.push({ type: "hline", y: s.lr, color, dash: "5 3" });
    }
    const [yl0, yl1] = this.lrExtent(visible, kind === "log");
    this.lrChart.draw({
      width, height: 190,
      x: { kind: "linear", domain: Number.isFinite(sLo) ? [sLo, Math.max(sHi, sLo + 1)] : [0, 1] },
      y: { kind, domain: Number.isFinite(yl0) ? padDomain(yl0, yl1, 0.03, kind === "log") : [1e-3, 1] },
      xLabel: "step", yLabel: "learning rate", layers: stepLayers,
    });

    this.renderLegend(visible);
    this.renderSuggestions(visible);
    this.zoomNote.textContent = this.zoom
      ? `zoom ${formatNumber(x0)} – ${formatNumber(x1)} · double-click to reset`
      : "drag across the chart to zoom";
    this.zoomReset.hidden = !this.zoom;
  }

  renderLegend(visible) {
    const shown = new Set(visible.map((v) => v.run.run));
    const missing = this.runs.filter((r) => this.selected.has(r.run) && !shown.has(r.run));
    const item = (name, color, note) => h("span", { class: "lr-legend-item" },
      swatch(color),
      h("span", { class: "lr-legend-name" }, name), note ? h("span", { class: "lr-muted lr-legend-note" }, note) : null);
    this.legend.replaceChildren(
      ...visible.map((v) => item(v.run.run, v.color, v.run.status === "running" ? "(running)" : "")),
      ...missing.map((r) => item(r.run, this.colors.get(r.run), `(no ${this.series})`)),
      h("span", { class: "lr-legend-key lr-muted" }, "dots: raw · line: smoothed · dashed: suggestion · band: range"));
  }

  renderSuggestions(visible) {
    const method = this.curves ? this.curves.method || this.method : this.method;
    this.suggestionCard.querySelector(".lr-method-note").textContent =
      `method: ${method} (${METHOD_HELP[method] || ""}), smoothing ${formatNumber(this.smoothing, 3)}`;
    const head = h("tr", {}, ["Run", "Learning rate", "Range (min – max)", "Other methods", "Stopped"]
      .map((t) => h("th", {}, t)));
    const rows = visible.map(({ run, curve, color }) => {
      const s = curve.suggestion;
      const stopped = run.status === "running" ? "running" : (run.stop_reason || "").replace(/_/g, " ");
      if (!s) {
        return h("tr", { class: "lr-suggestion-row" },
          h("td", {}, swatch(color), h("span", { class: "lr-sugg-run" }, run.run)),
          h("td", { colspan: "3", class: "lr-muted" }, "no suggestion yet (too few finite steps)"),
          h("td", {}, stopped));
      }
      const lrText = formatNumber(s.lr);
      const rangeText = `${formatNumber(s.min_lr)} – ${formatNumber(s.max_lr)}`;
      const lrCell = h("td", { class: "lr-copy-cell" });
      const copyLR = h("button", { type: "button", class: "lr-icon-button lr-copy", title: "Copy the learning rate",
        "aria-label": "Copy the learning rate", onclick: () => this.copyText(lrText, copyLR) }, "Copy");
      lrCell.append(h("code", { class: "lr-suggested", "data-value": String(s.lr) }, lrText), copyLR);
      const rangeCell = h("td", { class: "lr-copy-cell" });
      const copyRange = h("button", { type: "button", class: "lr-icon-button lr-copy", title: "Copy the range",
        "aria-label": "Copy the range", onclick: () => this.copyText(`${formatNumber(s.min_lr)}, ${formatNumber(s.max_lr)}`, copyRange) }, "Copy");
      rangeCell.append(h("code", { class: "lr-range-text", "data-min": String(s.min_lr),
        "data-max": String(s.max_lr) }, rangeText), copyRange);
      const others = METHODS.filter((m) => m !== s.method && s.methods[m] !== undefined)
        .map((m) => `${m} ${formatNumber(s.methods[m])}`).join(" · ");
      return h("tr", { class: "lr-suggestion-row" },
        h("td", { class: "lr-sugg-run-cell" }, swatch(color),
          h("span", { class: "lr-sugg-run" }, run.run)),
        lrCell, rangeCell, h("td", { class: "lr-muted" }, others), h("td", {}, stopped));
    });
    this.suggestionBody.replaceChildren(h("table", { class: "lr-table" }, h("thead", {}, head),
      h("tbody", {}, rows)));
  }

  // ------------------------------------------------------------ interaction

  attachLRInteractions(chart) {
    const svg = chart.svg;
    svg.addEventListener("mousemove", (event) => {
      if (this.drag) return;
      const p = chart.plotPoint(event);
      if (!p || !chart.scales) { this.hideHover(); return; }
      this.hoverLR(chart.scales.sx.invert(p.x), event);
    });
    svg.addEventListener("mouseleave", () => { if (!this.drag) this.hideHover(); });
    svg.addEventListener("mousedown", (event) => {
      if (event.button !== 0) return;
      const p = chart.plotPoint(event);
      if (!p || !chart.scales) return;
      event.preventDefault();
      this.hideHover();
      const rect = svgEl("rect", { x: p.x, y: 0, width: 0, height: chart.plot.height,
        fill: ACCENT, "fill-opacity": 0.12, stroke: ACCENT, "stroke-opacity": 0.6, class: "lr-selection" });
      chart.overlay.appendChild(rect);
      this.drag = { chart, x0: p.x, rect };
      const move = (e) => {
        const q = chart.plotPoint(e, true);
        const a = Math.min(this.drag.x0, q.x);
        rect.setAttribute("x", a);
        rect.setAttribute("width", Math.abs(q.x - this.drag.x0));
        this.drag.x1 = q.x;
      };
      const up = (e) => {
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
        const drag = this.drag;
        this.drag = null;
        rect.remove();
        const q = chart.plotPoint(e, true);
        if (!q || Math.abs(q.x - drag.x0) < 5) return;
        const { sx } = chart.scales;
        const a = sx.invert(Math.min(drag.x0, q.x));
        const b = sx.invert(Math.max(drag.x0, q.x));
        this.setZoom({ kind: sx.kind, domain: [a, b] });
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
    });
    svg.addEventListener("dblclick", (event) => { event.preventDefault(); this.setZoom(null); });
  }

  attachStepInteractions(chart) {
    chart.svg.addEventListener("mousemove", (event) => {
      const p = chart.plotPoint(event);
      if (!p || !chart.scales) { this.hideHover(); return; }
      this.hoverStep(chart.scales.sx.invert(p.x), event);
    });
    chart.svg.addEventListener("mouseleave", () => this.hideHover());
  }

  setZoom(zoom) {
    this.zoom = zoom;
    this.drawAll();
  }

  hideHover() {
    this.tooltip.hidden = true;
    for (const chart of [this.mainChart, this.derivChart, this.lrChart]) {
      if (chart.overlay) chart.overlay.querySelectorAll(".lr-hover").forEach((n) => n.remove());
    }
  }

  hoverLR(lr, event) {
    this.hideHover();
    const hits = [];
    const sx = this.mainChart.scales && this.mainChart.scales.sx;
    if (!sx) return;
    const cursor = sx.map(lr);
    for (const v of this.visible) {
      const i = nearestPixel(v.curve.lr, lr, sx, cursor);
      if (i < 0) continue;
      // Where the derivative is drawn as column means, read out the mean.
      let slope = v.curve.derivative[i];
      const means = this.derivMeans && this.derivMeans.get(v.run.run);
      if (means && means.dense && means.length) {
        const k = Math.min(means.length - 1, Math.max(0, nearestIndex(means.px, sx.map(v.curve.lr[i]))));
        slope = means.mean[k];
      }
      hits.push({ ...v, i, slope });
    }
    if (!hits.length) return;
    for (const [chart, pick] of [[this.mainChart, (hit) => hit.curve.smoothed[hit.i]],
      [this.derivChart, (hit) => hit.slope]]) {
      if (!chart.scales) continue;
      const { sx, sy } = chart.scales;
      const g = svgEl("g", { class: "lr-hover" });
      const px = sx.map(lr);
      g.appendChild(svgEl("line", { x1: px, x2: px, y1: 0, y2: chart.plot.height, stroke: "#757575",
        "stroke-width": 1, "stroke-dasharray": "2 2" }));
      for (const hit of hits) {
        const x = sx.map(hit.curve.lr[hit.i]);
        const y = sy.map(pick(hit));
        if (Number.isFinite(x) && Number.isFinite(y)) {
          g.appendChild(svgEl("circle", { cx: x, cy: y, r: 4, fill: hit.color, stroke: "#fff", "stroke-width": 1.5 }));
        }
      }
      chart.overlay.appendChild(g);
    }
    const series = this.series;
    this.showTooltip(event, ["Run", "Step", "LR", series, "smoothed", "derivative"], hits.map((hit) => [
      hit, hit.curve.step[hit.i], hit.curve.lr[hit.i], hit.curve.value[hit.i], hit.curve.smoothed[hit.i],
      hit.slope]));
  }

  hoverStep(step, event) {
    this.hideHover();
    const chart = this.lrChart;
    const { sx, sy } = chart.scales;
    const hits = [];
    const g = svgEl("g", { class: "lr-hover" });
    g.appendChild(svgEl("line", { x1: sx.map(step), x2: sx.map(step), y1: 0, y2: chart.plot.height,
      stroke: "#757575", "stroke-width": 1, "stroke-dasharray": "2 2" }));
    for (const v of this.visible) {
      const i = nearestPixel(v.curve.step, step, sx, sx.map(step));
      if (i < 0) continue;
      hits.push({ ...v, i });
      const x = sx.map(v.curve.step[i]);
      const y = sy.map(v.curve.lr[i]);
      if (Number.isFinite(x) && Number.isFinite(y)) {
        g.appendChild(svgEl("circle", { cx: x, cy: y, r: 4, fill: v.color, stroke: "#fff", "stroke-width": 1.5 }));
      }
    }
    chart.overlay.appendChild(g);
    if (!hits.length) return;
    this.showTooltip(event, ["Run", "Step", "LR", this.series], hits.map((hit) => [
      hit, hit.curve.step[hit.i], hit.curve.lr[hit.i], hit.curve.value[hit.i]]));
  }

  showTooltip(event, headers, rows) {
    const table = h("table", {},
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.map(([hit, ...values]) => h("tr", {},
        h("td", { class: "lr-tip-run" }, swatch(hit.color), hit.run.run),
        values.map((v, k) => h("td", {}, k === 0 ? String(v) : formatNumber(v, 4)))))));
    this.tooltip.replaceChildren(table);
    this.tooltip.hidden = false;
    const pad = 14;
    const box = this.tooltip.getBoundingClientRect();
    let left = event.clientX + pad;
    let top = event.clientY + pad;
    if (left + box.width > window.innerWidth - 4) left = event.clientX - box.width - pad;
    if (top + box.height > window.innerHeight - 4) top = event.clientY - box.height - pad;
    this.tooltip.style.left = `${Math.max(4, left)}px`;
    this.tooltip.style.top = `${Math.max(4, top)}px`;
  }

  // ------------------------------------------------------------ copy/export

  async copyText(text, button) {
    const done = (label) => {
      const old = button.textContent;
      button.textContent = label;
      setTimeout(() => { button.textContent = old; }, 1500);
    };
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      done("Copied");
    } catch (_) {
      // Fallback: a selectable field next to the button.
      let field = button.parentElement.querySelector(".lr-copy-field");
      if (!field) {
        field = h("input", { type: "text", readonly: true, class: "lr-copy-field", "aria-label": "Text to copy" });
        button.after(field);
      }
      field.value = text;
      field.focus();
      field.select();
      let copied = false;
      try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
      done(copied ? "Copied" : "Press Ctrl+C");
    }
  }

  exportable() {
    if (!this.curves || !this.visible.length) {
      this.showError("Nothing to export", new Error("select a run with data first"));
      return null;
    }
    return { runs: this.visible.map((v) => v.run), smoothing: this.curves.smoothing, method: this.curves.method };
  }

  exportBaseName() {
    const names = this.visible.map((v) => v.run.run);
    return safeFileName(`lr_range_${this.series}_${names.length === 1 ? names[0] : `${names.length}_runs`}`);
  }

  exportCSV() {
    const data = this.exportable();
    if (!data) return;
    download(new Blob([buildCSV(data, [this.series])], { type: "text/csv" }), `${this.exportBaseName()}.csv`);
  }

  exportJSON() {
    const data = this.exportable();
    if (!data) return;
    download(new Blob([buildJSON(data, [this.series])], { type: "application/json" }),
      `${this.exportBaseName()}.json`);
  }

  /** One standalone SVG holding a legend and the three charts. */
  composeSVG() {
    const charts = [this.mainChart, this.derivChart, this.lrChart].filter((c) => c.plot);
    const width = Math.max(...charts.map((c) => Number(c.svg.getAttribute("width"))));
    const legendHeight = 22 + 18 * this.visible.length;
    const out = svgEl("svg", { xmlns: "http://www.w3.org/2000/svg", width, version: "1.1" });
    out.appendChild(svgEl("rect", { x: 0, y: 0, width, height: "100%", fill: "#ffffff" }));
    const title = svgEl("text", { x: 12, y: 16, "font-family": FONT, "font-size": 13, fill: "#212121" });
    title.textContent = `LR range test: ${this.series} (smoothing ${formatNumber(this.smoothing)}, method ${this.curves ? this.curves.method : this.method})`;
    out.appendChild(title);
    this.visible.forEach((v, k) => {
      const y = 22 + 18 * k;
      out.appendChild(svgEl("rect", { x: 12, y: y + 3, width: 10, height: 10, fill: v.color }));
      const t = svgEl("text", { x: 28, y: y + 12, "font-family": FONT, "font-size": 12, fill: "#424242" });
      const s = v.curve.suggestion;
      t.textContent = `${v.run.run}${s ? `: lr ${formatNumber(s.lr)}, range ${formatNumber(s.min_lr)} – ${formatNumber(s.max_lr)}` : ""}`;
      out.appendChild(t);
    });
    let y = legendHeight + 6;
    for (const chart of charts) {
      const clone = chart.svg.cloneNode(true);
      clone.querySelectorAll(".lr-hover, .lr-selection").forEach((n) => n.remove());
      clone.setAttribute("x", 0);
      clone.setAttribute("y", y);
      out.appendChild(clone);
      y += Number(chart.svg.getAttribute("height")) + 8;
    }
    out.setAttribute("height", y);
    out.setAttribute("viewBox", `0 0 ${width} ${y}`);
    return { text: new XMLSerializer().serializeToString(out), width, height: y };
  }

  exportSVG() {
    if (!this.exportable()) return;
    const { text } = this.composeSVG();
    download(new Blob([text], { type: "image/svg+xml" }), `${this.exportBaseName()}.svg`);
  }

  exportPNG() {
    if (!this.exportable()) return;
    const { text, width, height } = this.composeSVG();
    const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    const image = new Image();
    const fail = (why) => {
      URL.revokeObjectURL(url);
      this.showError("PNG export failed", new Error(`${why}; the SVG export works everywhere`));
    };
    image.onload = () => {
      try {
        const scale = Math.max(1, Math.min(3, window.devicePixelRatio || 1)) * 2;
        const canvas = h("canvas", { width: String(width * scale), height: String(height * scale) });
        const context = canvas.getContext("2d");
        context.scale(scale, scale);
        context.drawImage(image, 0, 0, width, height);
        URL.revokeObjectURL(url);
        canvas.toBlob((blob) => {
          if (blob) download(blob, `${this.exportBaseName()}.png`);
          else this.showError("PNG export failed", new Error("the browser refused to encode the image"));
        }, "image/png");
      } catch (error) {
        fail(error.message || String(error));
      }
    };
    image.onerror = () => fail("the browser could not render the chart as an image");
    image.src = url;
  }
}

/**
 * Mounts the panel into `root` and loads its data.
 * @param {HTMLElement} root
 * @returns {Promise<Panel>}
 */
export async function mountPanel(root) {
  const panel = new Panel(root);
  await panel.start();
  return panel;
}
