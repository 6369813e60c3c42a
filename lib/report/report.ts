/** writeReport(): render the charts and write the HTML (and optionally the SVGs) atomically. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { requireOutputPath, writeAtomically } from "../core/files.js";
import { reportHtml, type RenderedChart } from "./html.js";
import { renderSvg } from "./render.js";
import { KLD_VIEWS, PARETO_VIEWS, paretoSpec, typeMapSpec } from "./specs.js";
import type { ReportInput } from "./types.js";

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  /** The .html file to write. */
  readonly output: string;
  /** Also write each chart as `<dir>/<id>.svg` (the folder must exist). */
  readonly svgDir?: string;
}

/** What {@link writeReport} wrote. */
export interface WriteReportResult {
  readonly html: string;
  readonly svgs: readonly string[];
  readonly charts: readonly RenderedChart[];
}

/**
 * Renders the three Pareto views and (when allocations are given) the type map.
 *
 * @example
 * const charts = await renderCharts(input); charts.map((c) => c.id) // ["pareto-memory-latency", …, "type-map"]
 */
export async function renderCharts(input: ReportInput): Promise<RenderedChart[]> {
  if (input.uniform.length === 0 && input.mixed.length === 0) throw new InputError("report: nothing to plot (no uniform and no mixed points)");
  const charts: RenderedChart[] = [];
  const kld = input.accuracy === "kld";
  for (const [x, y] of kld ? KLD_VIEWS : PARETO_VIEWS) {
    const second = kld && (x === "perplexity" || y === "perplexity") ? " A second view: the plan ran on KLD." : "";
    charts.push({
      id: `pareto-${x}-${y}`,
      caption: `${x === "kld" ? "KLD" : x} vs ${y === "kld" ? "KLD" : y}: uniform and mixed models; opaque points are not dominated in this view, joined by the dashed front.${second}`,
      svg: await renderSvg(paretoSpec(input, x, y)),
    });
  }
  if (input.allocations !== undefined && input.allocations.length > 0) {
    charts.push({
      id: "type-map",
      caption: "Type of each planned unit (sub-layer or tensor) per block, per allocation.",
      svg: await renderSvg(typeMapSpec(input.allocations, input.uniform.map((u) => u.type))),
    });
  }
  return charts;
}

/**
 * Writes the report: one self-contained HTML page, plus SVG files when `svgDir` is given.
 * Each file is written to a temp name and renamed, so none is ever partial.
 *
 * @example
 * await writeReport({ title: "sweep of tiny.gguf", measured: true, uniform, mixed, allocations }, { output: "report.html" });
 */
export async function writeReport(input: ReportInput, options: WriteReportOptions): Promise<WriteReportResult> {
  const html = await requireOutputPath(options.output, "--report", [], { kind: "html" });
  const charts = await renderCharts(input);
  const svgs: string[] = [];
  if (options.svgDir !== undefined) {
    for (const chart of charts) {
      // (an SVG carries no mark of apreqel's to recognise it by: replaced as before)
      const file = await requireOutputPath(path.join(options.svgDir, `${chart.id}.svg`), "--svg-dir", [], { force: true });
      await writeAtomically(file, (temp) => fs.writeFile(temp, chart.svg));
      svgs.push(file);
    }
  }
  await writeAtomically(html, (temp) => fs.writeFile(temp, reportHtml(input, charts)));
  return { html, svgs, charts };
}
