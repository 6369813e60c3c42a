import { describe, expect, it } from "vitest";
import { planUnits, unitOf, type NamedTensor } from "../../lib/gguf/units.js";

// The block layouts of the fixture archs (native/fixture.cpp, as llama.cpp's loader expects them).
function fixtureTensors(arch: "llama" | "qwen2" | "phi3" | "gemma3", blocks: number): NamedTensor[] {
  const t: NamedTensor[] = [{ name: "token_embd.weight", shape: [64, 512] }];
  for (let i = 0; i < blocks; i++) {
    const b = `blk.${i}.`;
    t.push({ name: `${b}attn_norm.weight`, shape: [64] });
    if (arch === "phi3") t.push({ name: `${b}attn_qkv.weight`, shape: [64, 128] });
    else t.push({ name: `${b}attn_q.weight`, shape: [64, 64] }, { name: `${b}attn_k.weight`, shape: [64, 32] }, { name: `${b}attn_v.weight`, shape: [64, 32] });
    if (arch === "qwen2") t.push({ name: `${b}attn_q.bias`, shape: [64] });
    if (arch === "gemma3") t.push({ name: `${b}attn_q_norm.weight`, shape: [16] });
    t.push({ name: `${b}attn_output.weight`, shape: [64, 64] });
    if (arch === "gemma3") t.push({ name: `${b}post_attention_norm.weight`, shape: [64] });
    t.push({ name: `${b}ffn_norm.weight`, shape: [64] });
    if (arch === "phi3") t.push({ name: `${b}ffn_up.weight`, shape: [64, 256] });
    else t.push({ name: `${b}ffn_gate.weight`, shape: [64, 128] }, { name: `${b}ffn_up.weight`, shape: [64, 128] });
    t.push({ name: `${b}ffn_down.weight`, shape: [128, 64] });
  }
  t.push({ name: "output_norm.weight", shape: [64] });
  if (arch !== "gemma3") t.push({ name: "output.weight", shape: [64, 512] });
  return t;
}

describe("plan units", () => {
  it.each([
    ["blk.0.attn_q.weight", [64, 64], "blk.0.attn_q", "blk.0.attn"],
    ["blk.12.attn_qkv.weight", [64, 192], "blk.12.attn_qkv", "blk.12.attn"],
    ["blk.7.ffn_gate_exps.weight", [64, 128, 8], "blk.7.ffn_gate_exps", "blk.7.ffn"],
    ["blk.2.attn_norm.weight", [64], null, null],
    ["blk.2.attn_q.bias", [64, 1], null, null],
    ["token_embd.weight", [64, 512], "token_embd", null],
    ["output.weight", [64, 512], "output", null],
    ["output_norm.weight", [64], null, null],
    ["blk.1.layer_weird.weight", [64, 64], null, null],
  ] as const)("%s → tensor %s, sublayer %s", (name, shape, tensorUnit, subUnit) => {
    expect(unitOf(name, shape, "tensor")).toBe(tensorUnit);
    expect(unitOf(name, shape, "sublayer")).toBe(subUnit);
  });

  it("llama at tensor granularity: 7 units per block, then token_embd and output", () => {
    const units = planUnits(fixtureTensors("llama", 2), "tensor");
    expect(units.map((u) => u.name)).toEqual([
      "blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v", "blk.0.attn_output", "blk.0.ffn_gate", "blk.0.ffn_up", "blk.0.ffn_down",
      "blk.1.attn_q", "blk.1.attn_k", "blk.1.attn_v", "blk.1.attn_output", "blk.1.ffn_gate", "blk.1.ffn_up", "blk.1.ffn_down",
      "token_embd", "output",
    ]);
    expect(units.every((u) => u.tensors.length === 1 && u.tensors[0] === `${u.name}.weight`)).toBe(true);
    expect(units.map((u) => u.block)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, null, null]);
  });

  it("llama at sub-layer granularity: the paper's units, each with its half-block's weights", () => {
    const units = planUnits(fixtureTensors("llama", 2), "sublayer");
    expect(units).toEqual([
      { name: "blk.0.attn", block: 0, tensors: ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight"] },
      { name: "blk.0.ffn", block: 0, tensors: ["blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"] },
      { name: "blk.1.attn", block: 1, tensors: ["blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight", "blk.1.attn_output.weight"] },
      { name: "blk.1.ffn", block: 1, tensors: ["blk.1.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight"] },
    ]);
  });

  it("phi3's fused weights are one unit each; qwen2's biases are not units", () => {
    expect(planUnits(fixtureTensors("phi3", 1), "tensor").map((u) => u.name)).toEqual(["blk.0.attn_qkv", "blk.0.attn_output", "blk.0.ffn_up", "blk.0.ffn_down", "token_embd", "output"]);
    expect(planUnits(fixtureTensors("qwen2", 1), "tensor").map((u) => u.name)).toHaveLength(9);
  });

  it("gemma3's tied head leaves token_embd as the only unit outside the blocks; norms are never units", () => {
    const names = planUnits(fixtureTensors("gemma3", 1), "tensor").map((u) => u.name);
    expect(names.slice(-1)).toEqual(["token_embd"]);
    expect(names.some((n) => n.includes("norm"))).toBe(false);
  });

  it("every quantizable tensor is in exactly one unit at tensor granularity", () => {
    const tensors = fixtureTensors("llama", 3);
    const covered = planUnits(tensors, "tensor").flatMap((u) => u.tensors);
    expect(new Set(covered).size).toBe(covered.length);
    expect(covered.sort()).toEqual(tensors.filter((t) => t.shape.length >= 2).map((t) => t.name).sort());
  });
});
