/**
 * `score`: layer contributions from the source model. The on-device similarity capture over the
 * calibration prompts is cached (as raw cosines), so changing γ re-scores without re-running.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { captureSimilarity } from "../ops/capture.js";
import { layerScores, type ScoresFile } from "../method/scores.js";
import type { Granularity } from "../gguf/units.js";
import type { GgmlType } from "../method/types.js";
import { measureSensitivity, proxySensitivity, type MeasuredSensitivity } from "./sensitivity.js";
import type { CalibrationSet } from "./texts.js";
import type { UniformOptions } from "./uniform.js";
import { jobOptions, keyFor, type Session } from "./session.js";

/** Tokens per calibration window (capture and probes) when none is given. */
export const DEFAULT_SCORE_CTX = 512;

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
  const entry = await s.cache.getOrCreate(
    keyFor(s, "similarity", null, { calibrationSha256: o.calibration.sha256, nCtx }),
    async (dir) => {
      const r = await captureSimilarity({
        model: s.model,
        texts: o.calibration.prompts,
        nCtx,
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
        ...jobOptions(s, "similarity"),
      });
      await fs.writeFile(path.join(dir, "cos.f32"), Buffer.from(r.cos.buffer, r.cos.byteOffset, r.cos.byteLength));
      await fs.writeFile(path.join(dir, "meta.json"), JSON.stringify({ blocks: r.blocks, tokens: r.tokens, tokensPerText: r.tokensPerText }));
    },
    { description: `similarity capture of ${path.basename(s.model)} over ${o.calibration.prompts.length} prompts` },
  );
  const meta = JSON.parse(await fs.readFile(path.join(entry.dir, "meta.json"), "utf8")) as { blocks: number; tokens: number };
  const raw = await fs.readFile(path.join(entry.dir, "cos.f32"));
  const cosines = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const scores = layerScores({ cosines, blocks: meta.blocks, tokens: meta.tokens, ...(o.gamma !== undefined ? { gamma: o.gamma } : {}) });
  if (o.measure === undefined) return { scores, tokens: meta.tokens };
  if (o.measure.kind === "proxy") {
    const table = await proxySensitivity(s, { units: o.measure.granularity, types: o.measure.types, uniform: o.measure.uniform });
    return { scores: { ...scores, sensitivity: table }, tokens: meta.tokens };
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
  return { scores: { ...scores, sensitivity: measured.table }, tokens: meta.tokens, measured };
}
