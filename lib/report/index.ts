// The report's public API.
export { escapeHtml, reportHtml, type RenderedChart } from "./html.js";
export { renderSvg } from "./render.js";
export { renderCharts, writeReport, type WriteReportOptions, type WriteReportResult } from "./report.js";
export { PARETO_VIEWS, SERIES, paretoSpec, typeMapCells, typeMapSpec, viewRows, type Objective, type SeriesName, type TypeMapCell, type ViewRow } from "./specs.js";
export type { LabelledAllocation, MixedPoint, PresetPoint, ReportInput, UniformPoint } from "./types.js";
export { adaptiveReport, frontReport, reportMetrics, sweepReport } from "./from-results.js";
