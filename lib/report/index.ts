// The report's public API.
export { escapeHtml, reportHtml, type RenderedChart } from "./html.js";
export { renderSvg } from "./render.js";
export { renderCharts, writeReport, type WriteReportOptions, type WriteReportResult } from "./report.js";
export { PARETO_SIZE, PARETO_VIEWS, SERIES, axisDomain, labelRows, paretoSpec, typeMapCells, typeMapSpec, viewRows, type Objective, type ParetoOptions, type SeriesName, type TypeMapCell, type ViewRow } from "./specs.js";
export { intersects, labelSize, placeLabels, type Box, type LabelLayout, type LabelPoint, type PlacedLabel } from "./labels.js";
export type { LabelledAllocation, MixedPoint, PresetPoint, ReportInput, UniformPoint } from "./types.js";
export { adaptiveReport, frontReport, reportMetrics, sweepReport } from "./from-results.js";
