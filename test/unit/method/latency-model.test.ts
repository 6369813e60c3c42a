import { describe, expect, it } from "vitest";
import { costKey, fitForTable, fitLatency, isUnit, predictLatency, relativeErrors, unitShapes, unitSum, withUnitLatency, type UnitTensor } from "../../../lib/method/latency-model.js";
import { estimateMix, parseCostTable, type CostTable } from "../../../lib/method/cost-table.js";

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

  it("fits through the origin when asked, and for a table when the affine fixed part falls below 0", () => {
    // Σxy = 10·10 + 20·30 = 700, Σxx = 100 + 400 = 500 → scale 1.4; residuals 10 − 14, 30 − 28
    const p = fitLatency([{ unitSumMs: 10, measuredMs: 10 }, { unitSumMs: 20, measuredMs: 30 }], "proportional");
    expect(p.fixedMs).toBe(0);
    expect(p.scale).toBeCloseTo(1.4, 12);
    expect(p.residualsMs.map((r) => Number(r.toFixed(9)))).toEqual([-4, 2]);
    // affine: scale 2, fixed −10 → refused for a table, the proportional fit instead
    expect(fitLatency([{ unitSumMs: 10, measuredMs: 10 }, { unitSumMs: 20, measuredMs: 30 }]).fixedMs).toBe(-10);
    expect(fitForTable([{ unitSumMs: 10, measuredMs: 10 }, { unitSumMs: 20, measuredMs: 30 }]).scale).toBeCloseTo(1.4, 12);
    expect(fitForTable([{ unitSumMs: 17, measuredMs: 40 }, { unitSumMs: 8.5, measuredMs: 23 }])).toEqual({ fixedMs: 6, scale: 2, residualsMs: [0, 0] });
  });

  describe("the per-unit model as a cost table's latency column", () => {
    // the two-block model above at sub-layer granularity; the parameter-share column it replaces is arbitrary here
    const unitTensors = (b: number, kind: "attn" | "ffn") =>
      (kind === "attn" ? ["attn_q", "attn_k", "attn_v", "attn_output"] : ["ffn_gate", "ffn_up", "ffn_down"]).map((t) => `blk.${b}.${t}.weight`);
    const table: CostTable = {
      types: ["q8_0", "q4_K"],
      units: [0, 1].flatMap((b) =>
        (["attn", "ffn"] as const).map((kind) => ({
          name: `blk.${b}.${kind}`,
          tensors: unitTensors(b, kind),
          params: kind === "attn" ? 10240 : 24576,
          costs: { q8_0: { bytes: 100, kld: 0, latencyMs: 99 }, q4_K: { bytes: 50, kld: 0.01, latencyMs: 99 } },
        })),
      ),
      fixed: { bytes: 1000, latencyMs: 0, kld: 0.001 },
    };
    // uniform q8_0 (sum 17) measured 40, q4_K (8.5) measured 23 → scale 2, fixed 6
    const fit = fitForTable([{ unitSumMs: 17, measuredMs: 40 }, { unitSumMs: 8.5, measuredMs: 23 }]);
    const files = { q8_0: model(() => "q8_0"), q4_K: model(() => "q4_K") };

    it("gives each unit scale · Σ c over its tensors and the fit's fixed part (hand-worked)", () => {
      const t = withUnitLatency(table, { files, costs, fit });
      // attention: q8_0 2.5 ms → 5, q4_K 1.25 → 2.5; FFN: q8_0 6 → 12, q4_K 3 → 6
      expect(t.units.map((u) => [u.costs.q8_0!.latencyMs, u.costs.q4_K!.latencyMs])).toEqual([[5, 2.5], [12, 6], [5, 2.5], [12, 6]]);
      expect(t.fixed.latencyMs).toBe(6);
      // bytes and KLD untouched
      expect(t.units[0]!.costs.q4_K).toEqual({ bytes: 50, kld: 0.01, latencyMs: 2.5 });
      const dense = parseCostTable(t);
      // the uniform mixes reproduce the fit points; block 0's FFN in q4_K: 6 + 2·14 = 34 (= predictLatency(fit, 14))
      expect(estimateMix(dense, [0, 0, 0, 0]).latencyMsPerToken).toBe(40);
      expect(estimateMix(dense, [1, 1, 1, 1]).latencyMsPerToken).toBe(23);
      expect(estimateMix(dense, [0, 1, 0, 0]).latencyMsPerToken).toBe(predictLatency(fit, 14));
    });

    it("takes a tensor's type from the file of the unit's type (a uniform file may keep some tensors higher)", () => {
      // a "q4_K" uniform file whose attn_v stayed q8_0, as llama-quantize's mixes do: attention in q4_K costs 1.25 − 0.125 + 0.25
      const bumped = model((n) => (n.endsWith("attn_v.weight") ? "q8_0" : "q4_K"));
      const t = withUnitLatency(table, { files: { ...files, q4_K: bumped }, costs, fit });
      expect(t.units[0]!.costs.q4_K!.latencyMs).toBe(2 * 1.375);
    });

    it("prices units outside the blocks at 0 (they stay in the fixed part)", () => {
      const withOutput: CostTable = { ...table, units: [...table.units, { name: "output", tensors: ["output.weight"], params: 64000, costs: { q8_0: { bytes: 68000, kld: 0, latencyMs: 3 }, q4_K: { bytes: 36000, kld: 0.02, latencyMs: 2 } } }] };
      const t = withUnitLatency(withOutput, { files, costs, fit });
      expect([t.units[4]!.costs.q8_0!.latencyMs, t.units[4]!.costs.q4_K!.latencyMs]).toEqual([0, 0]);
    });

    it("names what is missing, and refuses a fit a table cannot carry", () => {
      expect(() => withUnitLatency(table, { files: { q8_0: files.q8_0 }, costs, fit })).toThrow("no tensor list for the uniform q4_K file");
      expect(() => withUnitLatency(table, { files: { ...files, q4_K: files.q4_K.filter((x) => x.name !== "blk.1.ffn_up.weight") }, costs, fit })).toThrow(
        'the uniform q4_K file has no tensor "blk.1.ffn_up.weight" (unit "blk.1.ffn")',
      );
      expect(() => withUnitLatency(table, { files, costs: new Map(), fit })).toThrow("no measured cost for blk.0.attn_q.weight (q8_0, 64×64)");
      expect(() => withUnitLatency(table, { files, costs, fit: { fixedMs: -1, scale: 2, residualsMs: [] } })).toThrow("fixed part must be ≥ 0");
      expect(() => withUnitLatency(table, { files, costs, fit: { fixedMs: 1, scale: 0, residualsMs: [] } })).toThrow("scale must be a positive number");
      const { tensors: _drop, ...bare } = table.units[0]!;
      expect(() => withUnitLatency({ ...table, units: [bare] }, { files, costs, fit })).toThrow('unit "blk.0.attn" names no tensors');
    });
  });
});
