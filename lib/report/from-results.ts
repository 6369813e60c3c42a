/**
 * Report inputs built from the pipeline's results, so `quantize --report`, `sweep` and scripts
 * draw the same points the same way. A metric that was not measured is NaN (drawn as missing).
 */
import type { GgmlType } from "../method/types.js";
import type { AdaptiveResult } from "../pipeline/adaptive.js";
import type { SweepResult } from "../pipeline/sweep.js";
import type { Estimate } from "../method/estimators.js";
import type { FrontResult } from "../pipeline/front.js";
import type { MeasuredModel } from "../pipeline/measure-file.js";
import type { SourceModel } from "../pipeline/source.js";
import type { LabelledAllocation, ReportInput, Spread } from "./types.js";

/** The three objectives of a measured model, NaN where one was not measured, with their spreads where measured. */
export function reportMetrics(
  m:
    | ({ readonly memoryBytes: number; readonly latencyMsPerToken?: number; readonly perplexity?: number; readonly kld?: { readonly mean: number; readonly stderr: number } } & Omit<Spread, "kld" | "kldStderr">)
    | undefined,
): Estimate & Spread {
  return {
    memoryBytes: m?.memoryBytes ?? Number.NaN,
    latencyMsPerToken: m?.latencyMsPerToken ?? Number.NaN,
    perplexity: m?.perplexity ?? Number.NaN,
    ...(m?.latencyInterval !== undefined ? { latencyInterval: { low: m.latencyInterval.low, high: m.latencyInterval.high } } : {}),
    ...(m?.latencyMsPerTokenSd !== undefined ? { latencyMsPerTokenSd: m.latencyMsPerTokenSd } : {}),
    ...(m?.perplexityStderr !== undefined ? { perplexityStderr: m.perplexityStderr } : {}),
    ...(m?.kld !== undefined ? { kld: m.kld.mean, kldStderr: m.kld.stderr } : {}),
  };
}

/** The source model as the report's reference point, labelled with its type ("source (F16)"). */
function sourcePoint(source: SourceModel | null | undefined): Pick<ReportInput, "source"> {
  if (!source) return {};
  // its KLD from itself is 0 by definition: no point on a log axis, so none is drawn
  const { kld: _kld, kldStderr: _se, ...metrics } = reportMetrics(source.measured);
  return { source: { label: source.label, ...metrics } };
}

/**
 * The report of one adaptive quantization: the source model, the uniform set and the one mix
 * (`label`: its priority, or "custom" weights), labelled "chosen"; when it was measured, the
 * plan's estimate for it is drawn beside it as a reference point, otherwise the estimate is its point.
 *
 * @example
 * await writeReport(adaptiveReport(r, { title: "apreqel: m.gguf", notes: [], types, label: "balanced" }), { output: "r.html" });
 */
export function adaptiveReport(
  r: AdaptiveResult,
  o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[]; readonly label: string },
): ReportInput {
  return oneMixReport(r, r.plan.estimate, r.plan.allocation, o);
}

/**
 * The report of one `--method front` quantization, as {@link adaptiveReport}: the allocation is
 * per unit (sub-layer or tensor). The report speaks the front's accuracy: with a KLD table the
 * charts' accuracy axis is KLD from the source and the estimate is drawn there (perplexity follows
 * as a second view, where the estimate has no point: cost-table.ts says why KLD is never converted).
 */
export function frontReport(
  r: FrontResult,
  o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[]; readonly label: string },
): ReportInput {
  const e = r.choice.estimate;
  if (r.model.costs.accuracy === "kld") {
    const estimate = { memoryBytes: e.memoryBytes, latencyMsPerToken: e.latencyMsPerToken, perplexity: Number.NaN, kld: e.kld };
    return { ...oneMixReport(r, estimate, r.choice.assignment, o), accuracy: "kld" };
  }
  const estimate = { memoryBytes: e.memoryBytes, latencyMsPerToken: e.latencyMsPerToken, perplexity: e.kld };
  return oneMixReport(r, estimate, r.choice.assignment, o);
}

function oneMixReport(
  r: { readonly uniform: Readonly<Partial<Record<GgmlType, MeasuredModel>>>; readonly result: MeasuredModel | null; readonly source?: SourceModel | null },
  estimate: (Estimate & Spread) | null,
  allocation: LabelledAllocation["allocation"],
  o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[]; readonly label: string },
): ReportInput {
  const unmeasured = { memoryBytes: Number.NaN, latencyMsPerToken: Number.NaN, perplexity: Number.NaN };
  return {
    title: o.title,
    notes: o.notes,
    measured: r.result !== null,
    uniform: o.types.map((type) => ({ type, ...reportMetrics(r.uniform[type]) })),
    mixed: [{ id: `chosen: ${o.label}`, category: "custom", ...(r.result ? reportMetrics(r.result) : (estimate ?? unmeasured)) }],
    references: r.result && estimate ? [{ label: "plan estimate", ...estimate }] : [],
    ...sourcePoint(r.source),
    allocations: [{ label: o.label, allocation }],
  };
}

/** The report of a sweep: the source model, the uniform set, one mix per weighting, and llama.cpp's presets when measured. */
export function sweepReport(r: SweepResult, o: { readonly title: string; readonly notes: readonly string[]; readonly types: readonly GgmlType[] }): ReportInput {
  return {
    title: o.title,
    notes: o.notes,
    measured: true,
    uniform: o.types.map((type) => ({ type, ...reportMetrics(r.uniform[type]) })),
    mixed: r.models.map((m) => ({ id: m.weighting.id, category: m.weighting.category, ...reportMetrics(m.measured) })),
    presets: Object.entries(r.presets).map(([preset, m]) => ({ preset, ...reportMetrics(m) })),
    ...sourcePoint(r.source),
    allocations: r.models.map((m) => ({ label: m.weighting.id, allocation: m.allocation })),
  };
}
