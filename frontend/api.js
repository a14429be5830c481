// Requests to the plugin's backend. Every URL is relative: the document's
// <base href> is the plugin route (data/plugin/lr_range/), so --path_prefix
// and reverse proxies keep working.

/** An HTTP or network failure, with a message fit to show in the panel. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} [status] HTTP status, 0 for a network failure.
   */
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * Query string of a curves request; `run` and `series` repeat. Without a
 * `method`, the server's default method is used.
 * @param {{runs: string[], series: string[], smoothing: number, method: ?string}} q
 * @returns {string}
 */
export function curvesQuery({ runs, series, smoothing, method }) {
  const params = new URLSearchParams();
  for (const run of runs) params.append("run", run);
  for (const name of series) params.append("series", name);
  params.set("smoothing", String(smoothing));
  if (method) params.set("method", method);
  return params.toString();
}

async function errorMessage(response) {
  let text = "";
  try {
    text = (await response.text()).trim();
  } catch (_) {
    // The body is gone: keep the status line.
  }
  if (text.startsWith("{")) {
    try {
      const body = JSON.parse(text);
      text = String(body.error ?? body.message ?? text);
    } catch (_) {
      // Not JSON after all: show the text.
    }
  }
  if (text.length > 500) text = text.slice(0, 500) + "…";
  return `${response.status} ${response.statusText || ""}`.trim() + (text ? `: ${text}` : "");
}

/**
 * GETs a relative URL and parses its JSON body.
 * @param {string} url Relative URL (no leading slash).
 * @param {AbortSignal} [signal]
 * @returns {Promise<object>}
 * @throws {ApiError} on a network failure, an HTTP error or a body that is
 *   not JSON.
 */
export async function getJSON(url, signal) {
  let response;
  try {
    response = await fetch(url, { signal, cache: "no-store", credentials: "same-origin",
      headers: { Accept: "application/json" } });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(`Cannot reach TensorBoard (${error && error.message ? error.message : error}).`, 0);
  }
  if (!response.ok) {
    const message = await errorMessage(response);
    if (signal && signal.aborted) throw new DOMException("The request was aborted.", "AbortError");
    throw new ApiError(message, response.status);
  }
  try {
    return await response.json();
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(`The response to ${url.split("?")[0]} is not valid JSON.`, response.status);
  }
}

/**
 * The runs holding range tests (`GET runs`).
 * @param {AbortSignal} [signal]
 * @returns {Promise<Array<object>>}
 */
export async function fetchRuns(signal) {
  const body = await getJSON("runs", signal);
  return Array.isArray(body && body.runs) ? body.runs : [];
}

/**
 * The curves of several runs (`GET curves`), as parsed JSON (still holding
 * "NaN" strings: see format.normalizeCurves).
 * @param {{runs: string[], series: string[], smoothing: number, method: string}} query
 * @param {AbortSignal} [signal]
 * @returns {Promise<object>}
 */
export function fetchCurves(query, signal) {
  return getJSON("curves?" + curvesQuery(query), signal);
}
