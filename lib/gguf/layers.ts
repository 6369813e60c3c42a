/**
 * Which sub-layer a tensor belongs to: the single mapping from llama.cpp tensor names to the
 * method's layers (`blk.N.attn`, `blk.N.ffn`). Block tensors are `blk.<N>.<role>.<suffix>`;
 * attention roles start with `attn_` (plus gemma's post-attention norm), FFN roles with `ffn_`
 * (plus gemma's post-FFN norm). Norms and other 1-D tensors belong to a sub-layer but are
 * never quantized.
 */

import type { LayerKind, LayerName } from "../method/layers.js";

export interface SubLayer {
  readonly block: number;
  readonly kind: LayerKind;
  readonly name: LayerName;
}

const BLOCK_TENSOR = /^blk\.(\d+)\.([^.]+)/;
const ATTN_EXTRA = new Set(["post_attention_norm"]);
const FFN_EXTRA = new Set(["post_ffw_norm", "layer_output_norm"]);

/** The sub-layer of a tensor, or null for tensors outside the blocks (embeddings, output head). */
export function subLayerOf(tensorName: string): SubLayer | null {
  const m = BLOCK_TENSOR.exec(tensorName);
  if (!m) return null;
  const block = Number(m[1]);
  const role = m[2]!;
  let kind: LayerKind | null = null;
  if (role.startsWith("attn_") || ATTN_EXTRA.has(role)) kind = "attn";
  else if (role.startsWith("ffn_") || FFN_EXTRA.has(role)) kind = "ffn";
  return kind === null ? null : { block, kind, name: `blk.${block}.${kind}` };
}

/** The block a tensor belongs to (any `blk.N.*` tensor, norms included), or null outside the blocks. */
export function blockOf(tensorName: string): number | null {
  const m = BLOCK_TENSOR.exec(tensorName);
  return m ? Number(m[1]) : null;
}

/** Whether llama.cpp quantizes a tensor of this shape at all (weights with ≥ 2 dimensions). */
export function isQuantizable(name: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && name.endsWith(".weight");
}
