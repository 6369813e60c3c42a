/**
 * The uniform set: the source model quantized to each candidate type, cached. Tensors outside
 * the blocks (token embeddings, output head) get one fixed type in every file, so the uniform
 * models and every mix assembled from them differ in their layers alone.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { quantize } from "../ops/quantize.js";
import type { GgmlType } from "../method/types.js";
import { jobOptions, keyFor, type Session } from "./session.js";

/** The default type of the tensors outside the blocks: near-lossless, and what q8_0 files use. */
export const DEFAULT_NON_LAYER_TYPE = "q8_0";

export interface UniformOptions {
  readonly nonLayerType?: string;
  /** importance matrix (GGUF, from llama-imatrix) and its hash, for the cache key */
  readonly imatrix?: { readonly path: string; readonly sha256: string };
  readonly threads?: number;
}

/** Settings that shape the uniform files (recorded in profiles; merged profiles must agree). */
export function quantizationSettings(o: UniformOptions): Record<string, unknown> {
  return { nonLayerType: o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, imatrixSha256: o.imatrix?.sha256 ?? null };
}

/** type → path of its uniformly quantized file (in the cache). */
export async function uniformModels(s: Session, types: readonly GgmlType[], o: UniformOptions = {}): Promise<Map<GgmlType, string>> {
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
