/**
 * Plan units: what one quantization type is chosen for. The single mapping from llama.cpp tensor
 * names to units, arch-generic like {@link subLayerOf}'s:
 * - `sublayer`: the paper's units, `blk.N.attn` and `blk.N.ffn` (every quantizable tensor of the
 *   half-block);
 * - `tensor`: each quantizable weight of a block alone (`blk.N.attn_q`, `blk.N.ffn_down`, phi3's
 *   fused `blk.N.attn_qkv`, ...), and each quantizable tensor outside the blocks (`token_embd`,
 *   `output`) as a unit of its own.
 * A unit's name is its tensor's name without `.weight` at tensor granularity.
 *
 * No unit has to hold two tensors at tensor granularity: in the pinned llama.cpp every 2-D weight
 * is its own ggml tensor, consumed by its own ggml_mul_mat (get_rows for token_embd), and nothing
 * in the loader (src/llama-model.cpp), the graph (src/llama-graph.cpp, src/models/) or the
 * quantizer (src/llama-quant.cpp) requires two weights to share a type; fused weights (phi3's
 * attn_qkv and ffn_up, MoE's ffn_gate_up_exps) are single tensors already. CUDA fuses gate/up
 * matmuls only when their types happen to match, an optimisation, not a requirement. A tied output
 * head (no output.weight, e.g. gemma3) is token_embd loaded twice: one tensor, one unit.
 */
import { isQuantizable, subLayerOf } from "./layers.js";

export type Granularity = "sublayer" | "tensor";

/** Every granularity, for option parsers and messages. */
export const GRANULARITIES: readonly Granularity[] = ["sublayer", "tensor"];

/** One unit: its name and the quantizable tensors it covers, in file order. */
export interface PlanUnit {
  readonly name: string;
  readonly tensors: readonly string[];
  /** the block it lies in, or null for tensors outside the blocks */
  readonly block: number | null;
}

/** What {@link planUnits} needs of each tensor (ModelInfo's tensors fit). */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * The unit a tensor belongs to at `granularity`, or null when the tensor is not planned (not
 * quantizable; at sub-layer granularity also everything outside the blocks).
 *
 * @example
 * unitOf("blk.3.attn_k.weight", [256, 64], "tensor") // "blk.3.attn_k"
 * unitOf("blk.3.attn_k.weight", [256, 64], "sublayer") // "blk.3.attn"
 * unitOf("output.weight", [256, 32000], "tensor") // "output"
 */
export function unitOf(tensorName: string, shape: readonly number[], granularity: Granularity): string | null {
  if (!isQuantizable(tensorName, shape)) return null;
  const sub = subLayerOf(tensorName);
  if (granularity === "sublayer") return sub?.name ?? null;
  // block tensors the sub-layer mapping does not place (unknown roles) stay out, as at sub-layer granularity
  if (sub === null && /^blk\.\d+\./.test(tensorName)) return null;
  return tensorName.slice(0, -".weight".length);
}

/**
 * The units of a model: block units in block order (attention before FFN, file order within),
 * then units outside the blocks, token embeddings first.
 *
 * @example
 * planUnits(info.tensors, "tensor").map((u) => u.name) // ["blk.0.attn_q", …, "blk.11.ffn_down", "token_embd", "output"]
 */
export function planUnits(tensors: readonly NamedTensor[], granularity: Granularity): PlanUnit[] {
  const byName = new Map<string, { tensors: string[]; block: number | null; order: number; index: number }>();
  tensors.forEach((t, index) => {
    const unit = unitOf(t.name, t.shape, granularity);
    if (unit === null) return;
    const sub = subLayerOf(t.name);
    const existing = byName.get(unit);
    if (existing) {
      existing.tensors.push(t.name);
      return;
    }
    const order = sub === null ? (unit === "token_embd" ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER) : 2 * sub.block + (sub.kind === "ffn" ? 1 : 0);
    byName.set(unit, { tensors: [t.name], block: sub?.block ?? null, order, index });
  });
  return [...byName.entries()]
    .sort(([, a], [, b]) => a.order - b.order || a.index - b.index)
    .map(([name, u]) => ({ name, tensors: u.tensors, block: u.block }));
}
