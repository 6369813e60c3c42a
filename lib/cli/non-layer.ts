/**
 * What the written file's tensors outside the blocks (token embeddings, output head) really are.
 * The front plans them as units of their own, so `--non-layer-type` (the uniform files' setting)
 * is not what a front's mix holds: issue 26's demo said "non-layer tensors q8_0" of a mix whose
 * embeddings and output were q5_K.
 */
import type { ModelInfo } from "../ops/inspect.js";

/**
 * The quantizable tensors outside the blocks, by type: one type when they agree, else each
 * tensor's (`.weight` dropped).
 *
 * @example
 * nonLayerTypes(info) // "q5_K"
 * nonLayerTypes(info) // "token_embd q4_K, output q6_K"
 */
export function nonLayerTypes(info: Pick<ModelInfo, "tensors">): string {
  const outside = info.tensors.filter((t) => t.subLayer === null && t.quantizable);
  const types = [...new Set(outside.map((t) => t.type))];
  if (types.length === 0) return "none";
  if (types.length === 1) return types[0]!;
  return outside.map((t) => `${t.name.replace(/\.weight$/, "")} ${t.type}`).join(", ");
}
