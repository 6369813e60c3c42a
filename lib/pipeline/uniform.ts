/**
 * The uniform set: the source model quantized to each candidate type, cached. Tensors outside
 * the blocks (token embeddings, output head) get one fixed type in every file, so the uniform
 * models and every mix assembled from them differ in their layers alone.
 *
 * The importance matrix: a user's file (`imatrix`), or by default the one the calibration pass
 * collects (`imatrixFrom`: calibration.ts, the same cached pass `score` runs), or none. The
 * commands set `imatrixFrom` unless --no-imatrix; the library quantizes with no importance matrix
 * unless told (the paper's study, scripts/eval/study.ts, quantized without one).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { quantize } from "../ops/quantize.js";
import { InputError } from "../core/errors.js";
import { checkImatrix, coverageNote } from "../ops/imatrix-check.js";
import type { GgmlType } from "../method/types.js";
import { calibrationCapture, describeCalibration, IMATRIX_MIN_TOKENS, type CalibrationPass } from "./calibration.js";
import { jobOptions, keyFor, type Session } from "./session.js";

/** The default type of the tensors outside the blocks: near-lossless, and what q8_0 files use. */
export const DEFAULT_NON_LAYER_TYPE = "q8_0";

export interface UniformOptions {
  readonly nonLayerType?: string;
  /** importance matrix (GGUF, from llama-imatrix) and its hash, for the cache key; wins over imatrixFrom */
  readonly imatrix?: { readonly path: string; readonly sha256: string };
  /** without `imatrix`: quantize with the importance matrix of this calibration pass (run first, cached) */
  readonly imatrixFrom?: CalibrationPass;
  readonly threads?: number;
}

/** UniformOptions whose importance matrix is settled: a file, or none. */
export type ResolvedUniformOptions = Omit<UniformOptions, "imatrixFrom"> & { readonly imatrixFrom?: never };

/**
 * Settles where the importance matrix comes from: `imatrix` as given, else the calibration pass's
 * (run now, or found in the cache), else none. Fails, before any quantization, when the calibration
 * text cannot be encoded or no prompt is long enough for llama-imatrix's statistics.
 */
export async function resolveUniform(s: Session, o: UniformOptions): Promise<ResolvedUniformOptions> {
  const { imatrixFrom, ...rest } = o;
  if (o.imatrix !== undefined) await requireImatrixFor(s, o.imatrix);
  if (imatrixFrom === undefined || o.imatrix !== undefined) return rest;
  const pass = await calibrationCapture(s, imatrixFrom);
  if (pass.imatrix === null) {
    throw new InputError(
      `${describeCalibration(imatrixFrom.calibration)}: no prompt reaches the ${IMATRIX_MIN_TOKENS} tokens llama-imatrix needs to collect an importance matrix; give longer prompts, --imatrix FILE, or --no-imatrix`,
    );
  }
  return { ...rest, imatrix: pass.imatrix };
}

// (model, importance matrix) pairs already checked in this process: the note is said once
const checkedImatrix = new Set<string>();

/** The user's importance matrix must be this model's (imatrix-check.ts); tensors it misses are noted once. */
async function requireImatrixFor(s: Session, imatrix: { readonly path: string; readonly sha256: string }): Promise<void> {
  const id = `${s.sha256}:${imatrix.sha256}`;
  if (checkedImatrix.has(id)) return;
  const note = coverageNote(`--imatrix ${imatrix.path}`, await checkImatrix(s.info, imatrix.path, "--imatrix"));
  checkedImatrix.add(id);
  if (note !== undefined) process.stderr.write(`apreqel: note: ${note}\n`);
}

/** Settings that shape the uniform files (recorded in profiles; merged profiles must agree). */
export function quantizationSettings(o: ResolvedUniformOptions): Record<string, unknown> {
  if ((o as UniformOptions).imatrixFrom !== undefined) throw new TypeError("quantizationSettings: resolve the importance matrix first (resolveUniform)");
  return { nonLayerType: o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, imatrixSha256: o.imatrix?.sha256 ?? null };
}

/** type → path of its uniformly quantized file (in the cache). */
export async function uniformModels(s: Session, types: readonly GgmlType[], given: UniformOptions = {}): Promise<Map<GgmlType, string>> {
  const o = await resolveUniform(s, given);
  const nonLayerType = o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE;
  const out = new Map<GgmlType, string>();
  for (const type of types) {
    const step = `quantize ${type}`;
    const entry = await s.cache.getOrCreate(
      keyFor(s, "uniform", type, quantizationSettings(o)),
      async (dir) => {
        await quantize({
          input: s.model,
          output: path.join(dir, "model.gguf"),
          type,
          tokenEmbeddingType: nonLayerType,
          outputType: nonLayerType,
          ...(o.imatrix ? { imatrix: o.imatrix.path } : {}),
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
          ...jobOptions(s, step),
        });
      },
      { description: `${path.basename(s.model)} quantized to ${type} (non-layer tensors ${nonLayerType})` },
    );
    const file = path.join(entry.dir, "model.gguf");
    await fs.access(file);
    s.onStep?.(step, 1);
    out.set(type, file);
  }
  return out;
}
