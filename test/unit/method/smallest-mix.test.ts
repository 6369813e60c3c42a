import { describe, expect, it } from "vitest";
import { smallestMix } from "../../../lib/method/smallest-mix.js";

// hand-worked: token_embd [256, 1000] F16 (512000 B), blk.0.attn_q [256, 256] F16 (131072 B), a [256] F32 norm (1024 B)
const tensors = [
  { name: "token_embd.weight", shape: [256, 1000], bytes: 512000, quantizable: true },
  { name: "blk.0.attn_q.weight", shape: [256, 256], bytes: 131072, quantizable: true },
  { name: "blk.0.attn_norm.weight", shape: [256], bytes: 1024, quantizable: false },
];

describe("smallestMix: a lower bound on every mix's weight bytes", () => {
  it("counts each quantizable tensor at the fewest bits per weight it can get; the rest as they are", () => {
    // candidates q8_0 (8.5) and q4_K (4.5), token_embd at the non-layer type q6_K (6.5625):
    // 256000 × 6.5625 / 8 + 65536 × 4.5 / 8 + 1024 = 210000 + 36864 + 1024
    expect(smallestMix(tensors, ["q8_0", "q4_K"], "q6_K")).toEqual({ bytes: 247888, bitsPerWeight: 4.5 });
    // when the plan chooses token_embd's type too (the front at tensor granularity), 4.5 for it as well
    expect(smallestMix(tensors, ["q8_0", "q4_K"], "q6_K", { plansNonLayer: true }).bytes).toBe(180864 + 1024);
    // a non-layer type below every candidate: 256000 × 2.0625 / 8 + 65536 × 4.5 / 8 + 1024
    expect(smallestMix(tensors, ["q8_0", "q4_K"], "iq2_xxs").bytes).toBe(66000 + 36864 + 1024);
    // an unknown non-layer type gives token_embd no bound
    expect(smallestMix(tensors, ["q4_K"], "mxfp4").bytes).toBe(36864 + 1024);
  });

  it("a tensor already smaller than its smallest type keeps its bytes (a quantized source left as it is)", () => {
    const small = [{ name: "blk.0.ffn_up.weight", shape: [256, 256], bytes: 10000, quantizable: true }];
    expect(smallestMix(small, ["q8_0"], "q8_0").bytes).toBe(10000);
  });
});
