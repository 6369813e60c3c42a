import { describe, expect, it } from "vitest";
import { isQuantizable, subLayerOf } from "../../lib/gguf/layers.js";

describe("tensor → sub-layer mapping", () => {
  it.each([
    ["blk.0.attn_q.weight", "blk.0.attn"],
    ["blk.3.attn_output.weight", "blk.3.attn"],
    ["blk.12.attn_qkv.weight", "blk.12.attn"], // phi3's fused QKV
    ["blk.2.attn_norm.weight", "blk.2.attn"],
    ["blk.2.post_attention_norm.weight", "blk.2.attn"], // gemma3
    ["blk.7.ffn_down.weight", "blk.7.ffn"],
    ["blk.7.ffn_gate_exps.weight", "blk.7.ffn"],
    ["blk.7.post_ffw_norm.weight", "blk.7.ffn"], // gemma3
    ["token_embd.weight", null],
    ["output.weight", null],
    ["output_norm.weight", null],
    ["blk.1.layer_weird.weight", null],
  ])("%s → %s", (tensor, layer) => {
    expect(subLayerOf(tensor)?.name ?? null).toBe(layer);
  });

  it("only weights with two or more dimensions are quantizable", () => {
    expect(isQuantizable("blk.0.attn_q.weight", [256, 256])).toBe(true);
    expect(isQuantizable("blk.0.attn_norm.weight", [256])).toBe(false);
    expect(isQuantizable("blk.0.attn_q.bias", [256, 1])).toBe(false);
  });
});
