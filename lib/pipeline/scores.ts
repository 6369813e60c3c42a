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
  };
}

export interface ScoreResult {
  readonly scores: ScoresFile;
  readonly tokens: number;
  readonly measured?: MeasuredSensitivity;
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
  if (o.gpuLayers) throw new Error("measured sensitivity probes run on the CPU only; leave out --gpu-layers with --sensitivity measured");
  const measured = await measureSensitivity(s, {
    units: o.measure.granularity,
    types: o.measure.types,
    calibration: o.calibration,
    nCtx,
    ...(o.measure.chunks !== undefined ? { chunks: o.measure.chunks } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    uniform: o.measure.uniform,
    ...(s.onStep ? { onProgress: (f: number) => s.onStep!("sensitivity probes", f) } : {}),
  });
  return { scores: { ...scores, sensitivity: measured.table }, tokens: pass.tokens, measured };
}
