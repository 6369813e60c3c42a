/** Vega-Lite spec → SVG string, headless (vega's "none" renderer: no browser, no canvas). */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/**
 * Renders a Vega-Lite spec to a standalone SVG document.
 *
 * @example
 * const svg = await renderSvg({ data: { values }, mark: "point", encoding: { ... } });
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none", logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
