/** Vega-Lite spec → SVG string, headless (vega's "none" renderer: no browser, no canvas). */
import type { TopLevelSpec } from "vega-lite";

/**
 * Renders a Vega-Lite spec to a standalone SVG document. vega and vega-lite are loaded on
 * first use (about half a second), so importing apreqel does not pay for them.
 *
 * @example
 * const svg = await renderSvg({ data: { values }, mark: "point", encoding: { ... } });
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  // errors only: vega warns "Infinite extent" for every layer left empty (no presets, no error
  // bars), which says nothing to a user reading the report
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
