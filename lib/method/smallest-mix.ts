/**
 * A lower bound on the weight bytes of every mix of a model, from its header and the type table
 * alone, so that a memory limit no mix can meet (`--max-memory 1KB`, `--target-size`,
 * `--target-bpw`) is refused before any quantization. Each quantizable tensor is counted at the
 * fewest bits per weight any of its possible types has (a type llama.cpp falls back to, when a row
 * does not fill whole blocks, is larger; a tensor it leaves unquantized keeps its own bytes); every
 * other tensor keeps its bytes. Token embeddings and output head take the non-layer type, or, when
 * the plan chooses their types too (the front at tensor granularity), the smallest of it and the
 * candidates. The bound is exact for a model whose rows fill whole blocks and for which llama.cpp
 * changes no tensor's type.
 */
import { bitsPerWeight, GGML_TYPE_TABLE, type GgmlType } from "./types.js";

export interface HeaderTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** bytes in the source file */
  readonly bytes: number;
  /** whether llama.cpp's quantizer quantizes it (2-D and more, a weight) */
  readonly quantizable: boolean;
}

export interface SmallestMix {
  /** no mix of these candidate types has fewer weight bytes */
  readonly bytes: number;
  /** no mix has fewer bits per weight over its quantizable tensors */
  readonly bitsPerWeight: number;
}

/** Tensors outside the blocks that get the non-layer type (token embeddings, output head). */
const NON_LAYER = new Set(["token_embd.weight", "output.weight"]);

/**
 * @example
 * // token_embd [256, 1000] F16, one [256, 256] F16 block weight, one [256] F32 norm; q8_0/q4_K, non-layer q6_K:
 * // 256000 × 6.5625 / 8 + 65536 × 4.5 / 8 + 1024 = 210000 + 36864 + 1024 bytes
 * smallestMix(tensors, ["q8_0", "q4_K"], "q6_K") // { bytes: 247888, bitsPerWeight: 4.5 }
 * smallestMix(tensors, ["q8_0", "q4_K"], "q6_K", { plansNonLayer: true }).bytes // 181888: token_embd at 4.5 too
 */
export function smallestMix(tensors: readonly HeaderTensor[], types: readonly GgmlType[], nonLayerType: string, o: { readonly plansNonLayer?: boolean } = {}): SmallestMix {
  const candidate = Math.min(...types.map(bitsPerWeight));
  // the non-layer type may be one the method's table does not know: then no bound from it (0)
  const known = GGML_TYPE_TABLE.some((t) => t.name === nonLayerType);
  const fixed = known ? bitsPerWeight(nonLayerType as GgmlType) : 0;
  const nonLayer = o.plansNonLayer ? Math.min(candidate, fixed) : fixed;
  let bytes = 0;
  for (const t of tensors) {
    if (!t.quantizable) {
      bytes += t.bytes;
      continue;
    }
    const elements = t.shape.reduce((a, n) => a * n, 1);
    const bpw = NON_LAYER.has(t.name) ? nonLayer : candidate;
    // a tensor's size is a whole number of bytes: the bound rounds up per tensor
    bytes += Math.min(t.bytes, Math.ceil((elements * bpw) / 8));
  }
  return { bytes, bitsPerWeight: candidate };
}
