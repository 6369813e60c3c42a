/**
 * Report inputs built from the pipeline's results, so `quantize --report`, `sweep` and scripts
 * draw the same points the same way. A metric that was not measured is NaN (drawn as missing).
 */
import type { GgmlType } from "../method/types.js";
import type { AdaptiveResult } from "../pipeline/adaptive.js";
import type { SweepResult } from "../pipeline/sweep.js";
import type { Estimate } from "../method/estimators.js";
import type { ReportInput, Spread } from "./types.js";

/** The three objectives of a measured model, NaN where one was not measured, with their spreads where measured. */
export function reportMetrics(
  m: { readonly memoryBytes: number; readonly latencyMsPerToken?: number; readonly perplexity?: number; readonly latencyMsPerTokenSd?: number; readonly perplexityStderr?: number } | undefined,
): Estimate & Spread {
  return {
    memoryBytes: m?.memoryBytes ?? Number.NaN,
    latencyMsPerToken: m?.latencyMsPerToken ?? Number.NaN,
    perplexity: m?.perplexity ?? Number.NaN,
    ...(m?.latencyMsPerTokenSd !== undefined ? { latencyMsPerTokenSd: m.latencyMsPerTokenSd } : {}),
    ...(m?.perplexityStderr !== undefined ? { perplexityStderr: m.perplexityStderr } : {}),
  };
}

/**
 * The report of one adaptive quantization: the uniform set and the one mix (`label`: its
 * priority, or "custom" weights), labelled "chosen"; when it was measured, the plan's estimate
 * for it is drawn beside it as a reference point, otherwise the estimate is its point.
 *
 * @example
 * await writeReport(adaptiveReport(r, { title: "apreqel: m.gguf", notes: [], types, label: "balanced" }), { output: "r.html" });
 */
export function adaptiveReport(
  r: AdaptiveResult,
  o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[]; readonly label: string },
): ReportInput {
  return {
    title: o.title,
    notes: o.notes,
    measured: r.result !== null,
    uniform: o.types.map((type) => ({ type, ...reportMetrics(r.uniform[type]) })),
    mixed: [{ id: `chosen: ${o.label}`, category: "custom", ...(r.result ? reportMetrics(r.result) : r.plan.estimate) }],
    references: r.result ? [{ label: "plan estimate", ...r.plan.estimate }] : [],
    allocations: [{ label: o.label, allocation: r.plan.allocation }],
  };
}

/** The report of a sweep: the uniform set, one mix per weighting, and llama.cpp's presets when measured. */
export function sweepReport(r: SweepResult, o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[] }): ReportInput {
  return {
    title: o.title,
    notes: o.notes,
    measured: true,
    uniform: o.types.map((type) => ({ type, ...reportMetrics(r.uniform[type]) })),
    mixed: r.models.map((m) => ({ id: m.weighting.id, category: m.weighting.category, ...reportMetrics(m.measured) })),
    presets: Object.entries(r.presets).map(([preset, m]) => ({ preset, ...reportMetrics(m) })),
    allocations: r.models.map((m) => ({ label: m.weighting.id, allocation: m.allocation })),
  };
}
