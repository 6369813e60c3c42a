import { describe, expect, it } from "vitest";
import { costKey, fitLatency, isUnit, predictLatency, relativeErrors, unitShapes, unitSum, type UnitTensor } from "../../../lib/method/latency-model.js";

// A hand-made two-block model: attention 64×64 (q, o) and 64×16 (k, v), FFN 64×128 (gate, up) and 128×64 (down).
function model(types: (name: string) => string): UnitTensor[] {
  const out: UnitTensor[] = [
    { name: "token_embd.weight", type: "q8_0", shape: [64, 1000] },
    { name: "output.weight", type: "q8_0", shape: [64, 1000] },
    { name: "output_norm.weight", type: "f32", shape: [64] },
  ];
  for (const b of [0, 1]) {
    out.push({ name: `blk.${b}.attn_norm.weight`, type: "f32", shape: [64] });
    for (const [t, k, n] of [["attn_q", 64, 64], ["attn_k", 64, 16], ["attn_v", 64, 16], ["attn_output", 64, 64], ["ffn_gate", 64, 128], ["ffn_up", 64, 128], ["ffn_down", 128, 64]] as const) {
      const name = `blk.${b}.${t}.weight`;
      out.push({ name, type: types(name), shape: [k, n] });
    }
  }
  return out;
}

// Costs in ms, chosen so sums are easy by hand: per block in q8_0 attention 1+0.25+0.25+1 = 2.5,
// FFN 2+2+2 = 6 → 8.5 per block; in q4_K half of that: 4.25 per block.
const costs = new Map<string, number>([
  [costKey("q8_0", 64, 64), 1],
  [costKey("q8_0", 64, 16), 0.25],
  [costKey("q8_0", 64, 128), 2],
  [costKey("q8_0", 128, 64), 2],
  [costKey("q4_K", 64, 64), 0.5],
  [costKey("q4_K", 64, 16), 0.125],
  [costKey("q4_K", 64, 128), 1],
  [costKey("q4_K", 128, 64), 1],
]);

describe("latency model", () => {
  it("counts only the blocks' 2-D weights as units", () => {
    const all = model(() => "q8_0");
    expect(all.filter(isUnit).map((t) => t.name)).toHaveLength(14);
    expect(unitShapes(all)).toEqual([
      { type: "q8_0", k: 64, n: 64 },
      { type: "q8_0", k: 64, n: 16 },
      { type: "q8_0", k: 64, n: 128 },
      { type: "q8_0", k: 128, n: 64 },
    ]);
  });

  it("sums unit costs by type and shape (hand-worked)", () => {
    expect(unitSum(model(() => "q8_0"), costs)).toBe(17); // 2 blocks × 8.5
    expect(unitSum(model(() => "q4_K"), costs)).toBe(8.5);
    // block 0's FFN in q4_K, the rest q8_0: 17 − 6 + 3 = 14
    expect(unitSum(model((n) => (n.startsWith("blk.0.ffn") ? "q4_K" : "q8_0")), costs)).toBe(14);
  });

  it("names a missing cost", () => {
    expect(() => unitSum(model(() => "q6_K"), costs)).toThrow("no measured cost for blk.0.attn_q.weight (q6_K, 64×64); measure that shape and type first");
  });

  it("fits fixed and scale from the uniform files (hand-worked least squares)", () => {
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 15 }, { unitSumMs: 20, measuredMs: 25 }, { unitSumMs: 30, measuredMs: 35 }])).toEqual({ fixedMs: 5, scale: 1, residualsMs: [0, 0, 0] });
    const f = fitLatency([{ unitSumMs: 10, measuredMs: 25 }, { unitSumMs: 20, measuredMs: 45 }, { unitSumMs: 30, measuredMs: 65 }]);
    expect([f.fixedMs, f.scale]).toEqual([5, 2]);
    // noisy: x = 0, 1, 2; y = 1, 2, 4 → x̄ = 1, ȳ = 7/3, Sxy = 3, Sxx = 2 → scale 1.5, fixed 7/3 − 1.5 = 5/6
    const g = fitLatency([{ unitSumMs: 0, measuredMs: 1 }, { unitSumMs: 1, measuredMs: 2 }, { unitSumMs: 2, measuredMs: 4 }]);
    expect(g.scale).toBeCloseTo(1.5, 12);
    expect(g.fixedMs).toBeCloseTo(5 / 6, 12);
    expect(g.residualsMs.map((r) => Number(r.toFixed(9)))).toEqual([0.166666667, -0.333333333, 0.166666667]);
  });

  it("falls back to an offset fit with one file, equal sums, a falling trend, or when asked", () => {
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 14 }])).toEqual({ fixedMs: 4, scale: 1, residualsMs: [0] });
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 14 }, { unitSumMs: 10, measuredMs: 16 }]).fixedMs).toBe(5);
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 20 }, { unitSumMs: 20, measuredMs: 18 }]).scale).toBe(1);
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 25 }, { unitSumMs: 20, measuredMs: 45 }], "offset")).toEqual({ fixedMs: 20, scale: 1, residualsMs: [-5, 5] });
    expect(() => fitLatency([])).toThrow("needs at least one uniform file's measurement");
  });

  it("predicts a mix from the fit, and scores predictions", () => {
    // uniform q8_0 (sum 17) measured 40, q4_K (8.5) measured 23 → scale 2, fixed 6
    const fit = fitLatency([{ unitSumMs: 17, measuredMs: 40 }, { unitSumMs: 8.5, measuredMs: 23 }]);
    expect([fit.fixedMs, fit.scale]).toEqual([6, 2]);
    expect(predictLatency(fit, 14)).toBe(34);
    const e = relativeErrors([34, 30], [34 / 1.02, 30]);
    expect(e.worst).toBeCloseTo(0.02, 12);
    expect(e.mean).toBeCloseTo(0.01, 12);
  });
});
