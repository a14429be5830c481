// Entry point of the LR Range tab. TensorBoard loads this module inside the
// plugin iframe (document <base href> = data/plugin/lr_range/) and calls
// render(). Everything else is loaded relative to this module's own URL
// (./static/...), so --path_prefix and reverse proxies keep working.

function loadStylesheet(href) {
  return new Promise((resolve) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    const timer = setTimeout(resolve, 3000);
    link.addEventListener("load", () => { clearTimeout(timer); resolve(); });
    link.addEventListener("error", () => { clearTimeout(timer); resolve(); });
    document.head.appendChild(link);
  });
}

/**
 * Renders the LR Range panel into the iframe's document body.
 * @returns {Promise<void>}
 */
export async function render() {
  const root = document.createElement("div");
  root.id = "lr-range-root";
  document.body.appendChild(root);
  try {
    const [, { mountPanel }] = await Promise.all([
      loadStylesheet(new URL("./static/panel.css", import.meta.url).href),
      import("./static/panel.js"),
    ]);
    await mountPanel(root);
  } catch (error) {
    const message = document.createElement("p");
    message.className = "lr-fatal";
    message.textContent = `The LR Range panel could not start: ${error && error.message ? error.message : error}`;
    root.replaceChildren(message);
    throw error;
  }
}
