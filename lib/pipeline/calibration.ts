/**
 * The calibration pass: the calibration prompts run once through the source model, on the device,
 * cached. One pass gives both what `score` needs (the per-token cosines of every sub-layer) and
 * llama-imatrix's statistics (Σx² per input column of every block matmul, written in its GGUF
 * format), which the uniform files are quantized with by default (uniform.ts). Changing γ re-scores
 * and re-quantizing re-uses the importance matrix, without running the model again.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { hashFile } from "../cache/cache.js";
import { CacheDamage } from "../cache/cache.js";
import { readCachedFile, readCachedJson } from "../cache/read.js";
import { InputError } from "../core/errors.js";
import { captureSimilarity } from "../ops/capture.js";
import type { CalibrationSet } from "./texts.js";
import { jobOptions, keyFor, type Session } from "./session.js";
import { DEFAULT_CTX } from "../core/defaults.js";

/** What a calibration pass runs over, and how. */
export interface CalibrationPass {
  readonly calibration: CalibrationSet;
  /** window length in tokens (default DEFAULT_CTX, 512) */
  readonly nCtx?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export interface CalibrationCapture {
  /** cos[t·2B + 2b + (0 attn | 1 ffn)] over every calibration token */
  readonly cosines: Float32Array;
  readonly blocks: number;
  readonly tokens: number;
  /** the importance matrix of the same pass; null when no prompt reached llama-imatrix's 16 tokens */
  readonly imatrix: { readonly path: string; readonly sha256: string } | null;
}

/** llama-imatrix collects a matmul's input only over at least this many rows (tokens of one window). */
export const IMATRIX_MIN_TOKENS = 16;

interface Meta {
  readonly blocks: number;
  readonly tokens: number;
  readonly tokensPerText: readonly number[];
  readonly imatrixTensors: number;
  readonly imatrixSha256: string | null;
}

/**
 * Runs the calibration pass (or finds it in the cache). A calibration text the model's tokenizer
 * cannot encode fails here, with the file named, before any quantization starts.
 */
export async function calibrationCapture(s: Session, o: CalibrationPass): Promise<CalibrationCapture> {
  const nCtx = o.nCtx ?? DEFAULT_CTX;
  const { value } = await s.cache.use(
    // imatrix: 1 — the capture also holds the importance matrix (entries from before it do not)
    keyFor(s, "similarity", null, { calibrationSha256: o.calibration.sha256, nCtx, imatrix: 1 }),
    async (dir) => {
      const imatrix = path.join(dir, "imatrix.gguf");
      const r = await captureSimilarity({
        model: s.model,
        texts: o.calibration.prompts,
        nCtx,
        imatrix,
        dataset: o.calibration.source.kind === "builtin" ? "built-in calibration set" : path.basename(o.calibration.source.path),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
        ...jobOptions(s, "similarity"),
      }).catch((e: Error) => {
        if (/tokenizer cannot encode|has no tokenizer/.test(e.message)) throw new InputError(`${describeCalibration(o.calibration)}: ${e.message}`);
        throw e;
      });
      const imatrixTensors = r.imatrixTensors ?? 0;
      const meta: Meta = {
        blocks: r.blocks,
        tokens: r.tokens,
        tokensPerText: r.tokensPerText,
        imatrixTensors,
        imatrixSha256: imatrixTensors > 0 ? await hashFile(imatrix) : null,
      };
      if (imatrixTensors === 0) await fs.rm(imatrix, { force: true });
      await fs.writeFile(path.join(dir, "cos.f32"), Buffer.from(r.cos.buffer, r.cos.byteOffset, r.cos.byteLength));
      await fs.writeFile(path.join(dir, "meta.json"), JSON.stringify(meta));
    },
    async (dir) => {
      // read back checked (issue 22): typed meta, a cosine file of exactly tokens × blocks × 2 floats
      const meta = await readCachedJson<Meta>(dir, "meta.json", META_SHAPE);
      const raw = await readCachedFile(dir, "cos.f32", meta.tokens * meta.blocks * 2 * Float32Array.BYTES_PER_ELEMENT);
      const cosines = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      if (meta.imatrixSha256 !== null && !(await fs.lstat(path.join(dir, "imatrix.gguf")).catch(() => null))?.isFile()) {
        throw new CacheDamage("meta.json names an importance matrix, but imatrix.gguf is not in the entry");
      }
      return {
        cosines,
        blocks: meta.blocks,
        tokens: meta.tokens,
        imatrix: meta.imatrixSha256 === null ? null : { path: path.join(dir, "imatrix.gguf"), sha256: meta.imatrixSha256 },
      };
    },
    { description: `calibration pass over ${path.basename(s.model)}: similarity and importance matrix of ${o.calibration.prompts.length} prompts` },
  );
  return value;
}

const META_SHAPE = { blocks: "count", tokens: "count", tokensPerText: ["array", "count"], imatrixTensors: "count", imatrixSha256: ["nullable", "string"] } as const;

/** "--calibration FILE" or "the built-in calibration set", for messages. */
export function describeCalibration(c: CalibrationSet): string {
  return c.source.kind === "builtin" ? "the built-in calibration set" : `--calibration ${c.source.path}`;
}
