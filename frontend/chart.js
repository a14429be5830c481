// SVG chart drawing: axes, grid, and decimated layers, one <path> per layer.
// Every style is a presentation attribute, so an exported SVG stands alone.
// All text goes in through textContent.

import { makeScale, ticksFor } from "./scale.js";
import { linePath, columnsPath, meansPath } from "./decimate.js";

const SVG_NS = "http://www.w3.org/2000/svg";
export const FONT = "Roboto, 'Helvetica Neue', Arial, sans-serif";
const AXIS_COLOR = "#9e9e9e";
const GRID_COLOR = "#ececec";
const GRID_MINOR = "#f5f5f5";
const TEXT_COLOR = "#616161";

/**
 * Creates an SVG element with attributes (set with setAttribute, never as
 * markup).
 * @param {string} tag
 * @param {Object<string, string|number>} [attrs]
 * @returns {SVGElement}
 */
export function svgEl(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  return el;
}

function svgText(text, attrs) {
  const el = svgEl("text", { "font-family": FONT, "font-size": 11, fill: TEXT_COLOR, ...attrs });
  el.textContent = text;
  return el;
}

/** Margins around the plot area, in pixels. */
export const MARGIN = { top: 10, right: 16, bottom: 38, left: 58 };

/**
 * Width of the plot area of a chart `width` pixels wide.
 * @param {number} width
 * @returns {number}
 */
export function plotWidth(width) {
  return Math.max(10, width - MARGIN.left - MARGIN.right);
}

/**
 * One chart: an <svg> whose plot area is a nested <svg> (which clips its
 * content without url(#id) references, which a <base href> would break).
 */
export class Chart {
  /**
   * @param {HTMLElement} parent Element the <svg> is appended to.
   * @param {{label: string}} options `label`: accessible name of the chart.
   */
  constructor(parent, { label }) {
    this.svg = svgEl("svg", { class: "lr-chart", role: "img", "aria-label": label,
      xmlns: SVG_NS });
    parent.appendChild(this.svg);
    this.scales = null;
    this.plot = null;
  }

  /**
   * Draws the whole chart again.
   * @param {object} spec
   * @param {number} spec.width
   * @param {number} spec.height
   * @param {{kind: string, domain: number[]}} spec.x
   * @param {{kind: string, domain: number[]}} spec.y
   * @param {string} spec.xLabel
   * @param {string} spec.yLabel
   * @param {Array<object>} spec.layers Each {type: "band"|"vline"|"columns"|
   *   "line", ...}: band {x0, x1, color, opacity}; vline {x, color, dash};
   *   columns {xs, ys, color, opacity, size}; line {xs, ys, color, width,
   *   opacity, dash}; means {means, color, width} (decimate.columnMeans
   *   computed with this chart's x scale, see `plotWidth`).
   * @returns {{sx: object, sy: object, plot: object, points: number}}
   */
  draw(spec) {
    const { width, height } = spec;
    const plot = {
      left: MARGIN.left,
      top: MARGIN.top,
      width: plotWidth(width),
      height: Math.max(10, height - MARGIN.top - MARGIN.bottom),
    };
    const sx = makeScale(spec.x.kind, spec.x.domain, [0, plot.width]);
    const sy = makeScale(spec.y.kind, spec.y.domain, [plot.height, 0]);
    const svg = this.svg;
    svg.replaceChildren();
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.appendChild(svgEl("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }));

    const axes = svgEl("g", { transform: `translate(${plot.left},${plot.top})` });
    svg.appendChild(axes);
    const xTicks = ticksFor(sx, Math.max(2, Math.floor(plot.width / 80)));
    const yTicks = ticksFor(sy, Math.max(2, Math.floor(plot.height / 40)));
    for (const t of xTicks) {
      const px = Math.round(sx.map(t.value)) + 0.5;
      if (!(px >= 0 && px <= plot.width + 1)) continue;
      axes.appendChild(svgEl("line", { x1: px, x2: px, y1: 0, y2: plot.height,
        stroke: t.major ? GRID_COLOR : GRID_MINOR, "stroke-width": 1 }));
      axes.appendChild(svgEl("line", { x1: px, x2: px, y1: plot.height, y2: plot.height + (t.major ? 5 : 3),
        stroke: AXIS_COLOR, "stroke-width": 1 }));
      if (t.label) {
        axes.appendChild(svgText(t.label, { x: px, y: plot.height + 17, "text-anchor": "middle" }));
      }
    }
    for (const t of yTicks) {
      const py = Math.round(sy.map(t.value)) + 0.5;
      if (!(py >= -1 && py <= plot.height + 1)) continue;
      axes.appendChild(svgEl("line", { x1: 0, x2: plot.width, y1: py, y2: py,
        stroke: t.major ? GRID_COLOR : GRID_MINOR, "stroke-width": 1 }));
      if (t.label) {
        axes.appendChild(svgText(t.label, { x: -6, y: py + 3.5, "text-anchor": "end" }));
      }
    }
    axes.appendChild(svgEl("path", {
      d: `M0.5 0V${plot.height + 0.5}H${plot.width}`,
      stroke: AXIS_COLOR, fill: "none", "stroke-width": 1 }));
    axes.appendChild(svgText(spec.xLabel, { x: plot.width / 2, y: plot.height + 33,
      "text-anchor": "middle", fill: "#424242", "font-size": 12 }));
    axes.appendChild(svgText(spec.yLabel, {
      transform: `translate(${-MARGIN.left + 13},${plot.height / 2}) rotate(-90)`,
      "text-anchor": "middle", fill: "#424242", "font-size": 12 }));

    const area = svgEl("svg", { x: plot.left, y: plot.top, width: plot.width, height: plot.height,
      overflow: "hidden", class: "lr-plot" });
    svg.appendChild(area);
    let points = 0;
    for (const layer of spec.layers) {
      const el = drawLayer(layer, sx, sy, plot);
      if (el) {
        area.appendChild(el.node);
        points += el.points;
      }
    }
    this.overlay = svgEl("g", { class: "lr-overlay" });
    area.appendChild(this.overlay);
    this.area = area;
    this.scales = { sx, sy };
    this.plot = plot;
    return { sx, sy, plot, points };
  }

  /**
   * Plot-area coordinates of a mouse event, or null outside the plot.
   * @param {MouseEvent} event
   * @param {boolean} [clamp=false] Clamp to the plot instead of null.
   * @returns {{x: number, y: number}|null}
   */
  plotPoint(event, clamp = false) {
    if (!this.plot) return null;
    const box = this.svg.getBoundingClientRect();
    let x = event.clientX - box.left - this.plot.left;
    let y = event.clientY - box.top - this.plot.top;
    const inside = x >= 0 && x <= this.plot.width && y >= 0 && y <= this.plot.height;
    if (!inside && !clamp) return null;
    x = Math.min(this.plot.width, Math.max(0, x));
    y = Math.min(this.plot.height, Math.max(0, y));
    return { x, y };
  }

  /** Removes hover marks and selection from the overlay. */
  clearOverlay() {
    if (this.overlay) this.overlay.replaceChildren();
  }
}

function drawLayer(layer, sx, sy, plot) {
  switch (layer.type) {
    case "band": {
      let a = sx.map(layer.x0);
      let b = sx.map(layer.x1);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
      if (a > b) [a, b] = [b, a];
      a = Math.max(-1, a);
      b = Math.min(plot.width + 1, b);
      if (b <= a) return null;
      return { node: svgEl("rect", { x: a, y: 0, width: Math.max(1, b - a), height: plot.height,
        fill: layer.color, "fill-opacity": layer.opacity ?? 0.1, class: "lr-band" }), points: 0 };
    }
    case "vline": {
      const px = sx.map(layer.x);
      if (!Number.isFinite(px) || px < -1 || px > plot.width + 1) return null;
      return { node: svgEl("line", { x1: px, x2: px, y1: 0, y2: plot.height, stroke: layer.color,
        "stroke-width": layer.width ?? 1.5, "stroke-dasharray": layer.dash, class: "lr-marker" }),
      points: 0 };
    }
    case "hband": {
      let a = sy.map(layer.y0);
      let b = sy.map(layer.y1);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
      if (a > b) [a, b] = [b, a];
      a = Math.max(-1, a);
      b = Math.min(plot.height + 1, b);
      if (b <= a) return null;
      return { node: svgEl("rect", { x: 0, y: a, width: plot.width, height: Math.max(1, b - a),
        fill: layer.color ?? "#f57c00", "fill-opacity": layer.opacity ?? 0.08 }), points: 0 };
    }
    case "hline": {
      const py = sy.map(layer.y);
      if (!Number.isFinite(py) || py < -1 || py > plot.height + 1) return null;
      return { node: svgEl("line", { x1: 0, x2: plot.width, y1: py, y2: py, stroke: layer.color,
        "stroke-width": 1, "stroke-dasharray": layer.dash }), points: 0 };
    }
    case "columns": {
      const { d, columns } = columnsPath(layer.xs, layer.ys, sx, sy, layer.size ?? 2);
      if (!d) return null;
      return { node: svgEl("path", { d, fill: layer.color, "fill-opacity": layer.opacity ?? 0.25,
        stroke: "none", class: "lr-raw" }), points: columns };
    }
    case "line": {
      const { d, points } = linePath(layer.xs, layer.ys, sx, sy);
      if (!d) return null;
      return { node: svgEl("path", { d, fill: "none", stroke: layer.color,
        "stroke-width": layer.width ?? 1.75, "stroke-opacity": layer.opacity ?? 1,
        "stroke-linejoin": "round", "stroke-linecap": "round", "stroke-dasharray": layer.dash,
        class: "lr-line" }), points };
    }
    case "means": {
      // Pre-computed column means (decimate.columnMeans) on this x scale.
      const { d, points } = meansPath(layer.means, sy);
      if (!d) return null;
      return { node: svgEl("path", { d, fill: "none", stroke: layer.color,
        "stroke-width": layer.width ?? 1.75, "stroke-linejoin": "round", "stroke-linecap": "round",
        class: "lr-line" }), points };
    }
    default:
      return null;
  }
}
