/**
 * `score`: layer contributions from the source model. The calibration pass (calibration.ts: the
 * on-device similarity capture, cached as raw cosines) is run once, so changing γ re-scores
 * without re-running.
 */
import { layerScores, type ScoresFile } from "../method/scores.js";
import type { Granularity } from "../gguf/units.js";
import type { GgmlType } from "../method/types.js";
import { measureSensitivity, proxySensitivity, type MeasuredSensitivity } from "./sensitivity.js";
import type { CalibrationSet } from "./texts.js";
import type { UniformOptions } from "./uniform.js";
import { calibrationCapture } from "./calibration.js";
import { planSensitivity, type PlannedSensitivity } from "./probe-plan.js";
import type { ProbeBudget } from "../method/probe-plan.js";
import type { Session } from "./session.js";
import { DEFAULT_CTX } from "../core/defaults.js";

/** Tokens per calibration window (capture and probes) when none is given. */
export const DEFAULT_SCORE_CTX = DEFAULT_CTX;

export interface ScoreOptions {
  readonly calibration: CalibrationSet;
  readonly gamma?: number;
  readonly nCtx?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
  /** also measure the sensitivity table (in-process probes over the calibration text) into scores.sensitivity */
  readonly measure?: {
    /** measured: in-process probes (KLD); proxy: importance-weighted quantization error, no forward pass */
    readonly kind: "measured" | "proxy";
    readonly granularity: Granularity;
    /** the candidate types, least aggressive first */
    readonly types: readonly GgmlType[];
    readonly uniform: UniformOptions;
    /** probe chunks of nCtx tokens (default all the calibration text has) */
    readonly chunks?: number;
    /** measured only: probe within this budget, predicting the other cells (planSensitivity); absent: every cell */
    readonly budget?: ProbeBudget;
    /** with a budget: the file sizes whose choice the table serves (e.g. --target-size) */
    readonly sizes?: readonly number[];
  };
}

export interface ScoreResult {
  readonly scores: ScoresFile;
  readonly tokens: number;
  readonly measured?: MeasuredSensitivity;
  /** with a probe budget: the planned table's rounds and probes */
  readonly planned?: PlannedSensitivity;
}

/**
 * "probe 12 of 290" (and how many were cached) from the fraction of the probes to run.
 *
 * @example
 * probeDetail(0.5, { toRun: 200, total: 290 }) // "probe 100 of 200 (90 cached)"
 */
export function probeDetail(fraction: number, probes: { readonly toRun: number; readonly total: number } | undefined): string | undefined {
  if (probes === undefined || probes.toRun === 0) return undefined;
  const done = Math.min(probes.toRun, Math.max(0, Math.floor(fraction * probes.toRun + 1e-9)));
  return `probe ${done} of ${probes.toRun}${probes.total > probes.toRun ? ` (${probes.total - probes.toRun} cached)` : ""}`;
}

export async function scoreLayers(s: Session, o: ScoreOptions): Promise<ScoreResult> {
  const nCtx = o.nCtx ?? DEFAULT_SCORE_CTX;
  const pass = await calibrationCapture(s, {
    calibration: o.calibration,
    nCtx,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
  });
  const scores = layerScores({ cosines: pass.cosines, blocks: pass.blocks, tokens: pass.tokens, ...(o.gamma !== undefined ? { gamma: o.gamma } : {}) });
  if (o.measure === undefined) return { scores, tokens: pass.tokens };
  if (o.measure.kind === "proxy") {
    const table = await proxySensitivity(s, { units: o.measure.granularity, types: o.measure.types, uniform: o.measure.uniform });
    return { scores: { ...scores, sensitivity: table }, tokens: pass.tokens };
  }
  // the probes run on the CPU whatever o.gpuLayers says (no GPU path: native/probe.cpp); the CLI notes it (withProbeNotes)
  if (o.measure.budget !== undefined) {
    const planned = await planSensitivity(s, {
      units: o.measure.granularity,
      types: o.measure.types,
      calibration: o.calibration,
      nCtx,
      budget: o.measure.budget,
      ...(o.measure.sizes !== undefined ? { sizes: o.measure.sizes } : {}),
      ...(o.measure.chunks !== undefined ? { chunks: o.measure.chunks } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      uniform: o.measure.uniform,
      ...(s.onStep ? { onProgress: (f: number) => s.onStep!("sensitivity probes", f) } : {}),
    });
    return { scores: { ...scores, sensitivity: planned.table }, tokens: pass.tokens, planned };
  }
  let probes: { readonly toRun: number; readonly total: number } | undefined;
  const measured = await measureSensitivity(s, {
    units: o.measure.granularity,
    types: o.measure.types,
    calibration: o.calibration,
    nCtx,
    ...(o.measure.chunks !== undefined ? { chunks: o.measure.chunks } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    uniform: o.measure.uniform,
    // probes done of those to run, beside the fraction: a step of 40 minutes says where it is (issue 26)
    ...(s.onStep ? { onProbeCount: (toRun: number, total: number) => void (probes = { toRun, total }), onProgress: (f: number) => s.onStep!("sensitivity probes", f, probeDetail(f, probes)) } : {}),
  });
  return { scores: { ...scores, sensitivity: measured.table }, tokens: pass.tokens, measured };
}
