import { describe, expect, it } from "vitest";
import { costTableFromMeasured } from "../../../lib/method/measured-costs.js";
import { parseCostTable, estimateMix } from "../../../lib/method/index.js";

// Two units (a tensor of 3 params, a unit of two tensors of 1 param each), three measured types.
const input = {
  sensitivity: { types: ["q8_0", "q5_K", "q4_K"], units: ["blk.0.attn_q", "blk.0.ffn"], referenceKld: 0.01, delta: [[0, 0.02, 0.05], [0, 0.1, 0.3]] },
  unitTensors: { "blk.0.attn_q": ["blk.0.attn_q.weight"], "blk.0.ffn": ["blk.0.ffn_up.weight", "blk.0.ffn_down.weight"] },
  tensorParams: { "blk.0.attn_q.weight": 3, "blk.0.ffn_up.weight": 1, "blk.0.ffn_down.weight": 1 },
  tensorBytes: {
    q8_0: { "blk.0.attn_q.weight": 300, "blk.0.ffn_up.weight": 100, "blk.0.ffn_down.weight": 100 },
    q5_K: { "blk.0.attn_q.weight": 200, "blk.0.ffn_up.weight": 70, "blk.0.ffn_down.weight": 60 },
    q4_K: { "blk.0.attn_q.weight": 150, "blk.0.ffn_up.weight": 50, "blk.0.ffn_down.weight": 50 },
  },
  latencyMsPerToken: { q8_0: 10, q5_K: 8, q4_K: 5 },
  fixedBytes: 1000,
} as const;

describe("costTableFromMeasured", () => {
  it("bytes summed per unit, Δ from the table, latency by parameter share (hand-worked)", () => {
    const table = costTableFromMeasured(input);
    expect(table.units[1]).toEqual({
      name: "blk.0.ffn",
      tensors: ["blk.0.ffn_up.weight", "blk.0.ffn_down.weight"],
      params: 2,
      // share 2/5 of 10, 8, 5 ms
      costs: { q8_0: { bytes: 200, kld: 0, latencyMs: 4 }, q5_K: { bytes: 130, kld: 0.1, latencyMs: 3.2 }, q4_K: { bytes: 100, kld: 0.3, latencyMs: 2 } },
    });
    // the all-q4_K mix: 1000 + 150 + 100 bytes, 3 + 2 ms, KLD 0.01 + 0.05 + 0.3
    const e = estimateMix(parseCostTable(table), Uint8Array.of(2, 2));
    expect(e.sizeBytes).toBe(1250);
    expect(e.latencyMsPerToken).toBeCloseTo(5, 12);
    expect(e.kld).toBeCloseTo(0.36, 12);
  });

  it("takes a subset of the measured types; refuses a type not measured or another reference", () => {
    expect(costTableFromMeasured({ ...input, types: ["q4_K", "q8_0"] }).types).toEqual(["q8_0", "q4_K"]);
    expect(() => costTableFromMeasured({ ...input, types: ["q8_0", "q3_K"] })).toThrow("the sensitivity table has no q3_K column (it measured q8_0, q5_K, q4_K); measure it with the plan's types");
    expect(() => costTableFromMeasured({ ...input, types: ["q5_K", "q4_K"] })).toThrow("the plan's least aggressive type q5_K must be the table's reference type q8_0");
  });
});
