import { describe, expect, it } from "vitest";
import { plan, type GgmlType, type LayerName, type Profile, type ScoresFile } from "../../../lib/method/index.js";
import { buildBoundaryTables, estimateFromTables } from "../../../lib/method/estimators.js";
import { estimateMixKld, groupSensitivity, parseSensitivity, spearman, type SensitivityTable } from "../../../lib/method/sensitivity.js";
import { parseScores } from "../../../lib/method/scores-file.js";

const WEIGHTS = { memory: 0.1, latency: 0.1, accuracy: 0.8 };

// 1 block, q8_0 and q4_K: attn 1000/500 bytes, ffn 3000/1500 bytes, 100 bytes outside the layers
const profile: Profile = {
  types: {
    q8_0: { memoryBytes: 4100, latencyMsPerToken: 10, perplexity: 5.8, layerBytes: { "blk.0.attn": 1000, "blk.0.ffn": 3000 } },
    q4_K: { memoryBytes: 2100, latencyMsPerToken: 6, perplexity: 6.0, layerBytes: { "blk.0.attn": 500, "blk.0.ffn": 1500 } },
  },
} as Profile;

const table: SensitivityTable = {
  kind: "measured",
  granularity: "sublayer",
  types: ["q8_0", "q4_K"],
  units: ["blk.0.attn", "blk.0.ffn"],
  referenceKld: 0.002,
  delta: [[0, 0.05], [0, 0.01]],
};

// cosine scores rank ffn first; the measured table says attn hurts more at q4_K
const scores: ScoresFile = {
  gamma: 0.9,
  layers: [
    { name: "blk.0.attn", reward: 1, penalty: 0, score: 1, meanOneMinusCos: 0.1 },
    { name: "blk.0.ffn", reward: 5, penalty: 0, score: 5, meanOneMinusCos: 0.3 },
  ],
  sensitivity: table,
};

describe("measured sensitivity: the table and the estimator", () => {
  it("estimates a mix as KLD(reference) + Σ Δ (by hand)", () => {
    expect(estimateMixKld(table, {})).toBe(0.002);
    expect(estimateMixKld(table, { "blk.0.attn": "q4_K" })).toBeCloseTo(0.052, 15);
    expect(estimateMixKld(table, { "blk.0.attn": "q4_K", "blk.0.ffn": "q4_K" })).toBeCloseTo(0.062, 15);
    expect(() => estimateMixKld(table, { "blk.0.attn": "q2_K" })).toThrow("the sensitivity table has no type \"q2_K\" (it has q8_0, q4_K)");
  });

  it("sums a tensor table per sub-layer and drops units outside the blocks", () => {
    const tensors: SensitivityTable = {
      ...table,
      granularity: "tensor",
      units: ["blk.0.attn_q", "blk.0.attn_v", "blk.0.ffn_down", "token_embd"],
      delta: [[0, 0.01], [0, 0.02], [0, 0.03], [0, 0.5]],
    };
    const g = groupSensitivity(tensors, (u) => (u.startsWith("blk.") ? u.replace(/^(blk\.\d+\.(attn|ffn)).*$/, "$1") : null));
    expect(g.units).toEqual(["blk.0.attn", "blk.0.ffn"]);
    expect(g.delta[0]![1]).toBeCloseTo(0.03, 15);
    expect(g.delta[1]).toEqual([0, 0.03]);
    expect(g.granularity).toBe("sublayer");
  });

  it("the measured estimator prices a split as reference + Σ Δ, memory and latency as weighted", () => {
    const ranking: LayerName[] = ["blk.0.attn", "blk.0.ffn"];
    const types: GgmlType[] = ["q8_0", "q4_K"];
    const t = buildBoundaryTables({ profile, types, ranking, estimator: "measured", measured: { referenceKld: 0.002, delta: [[0, 0.05], [0, 0.01]] } });
    // split (1, 1): attn q8_0, ffn q4_K
    const mix = estimateFromTables(t, [1, 1]);
    expect(mix.perplexity).toBeCloseTo(0.012, 15);
    expect(mix.memoryBytes).toBe(100 + 1000 + 1500);
    expect(estimateFromTables(t, [2, 0]).perplexity).toBeCloseTo(0.002, 15);
    expect(estimateFromTables(t, [0, 2]).perplexity).toBeCloseTo(0.062, 15);
    const weighted = estimateFromTables(buildBoundaryTables({ profile, types, ranking, estimator: "weighted" }), [1, 1]);
    expect(mix.latencyMsPerToken).toBe(weighted.latencyMsPerToken);
  });

  it("plan: defaults to measured when scores carry a table, and ranks layers by Δ at the most aggressive type", () => {
    // only the split (1, 1) is allowed: the layer with the larger Δ (attn) keeps q8_0
    const result = plan({ profile, scores, weights: WEIGHTS, types: ["q8_0", "q4_K"], constraints: { maxMemoryBytes: 4000, maxPerplexity: 0.05 } });
    expect(result.estimator).toBe("measured");
    expect(result.allocation).toEqual({ "blk.0.attn": "q8_0", "blk.0.ffn": "q4_K" });
    expect(result.estimate.perplexity).toBeCloseTo(0.012, 15);
    // the cosine ranking would give ffn q8_0
    const cosine = plan({ profile, scores, weights: WEIGHTS, types: ["q8_0", "q4_K"], estimator: "sensitivity", constraints: { maxMemoryBytes: 4000, maxPerplexity: 5.99 } });
    expect(cosine.allocation).toEqual({ "blk.0.ffn": "q8_0", "blk.0.attn": "q4_K" });
  });

  it("measured needs a table with the plan's types", () => {
    const { sensitivity: _, ...bare } = scores;
    expect(() => plan({ profile, scores: bare, weights: WEIGHTS, types: ["q8_0", "q4_K"], estimator: "measured" })).toThrow(/needs scores with a measured sensitivity table/);
    const narrow = { ...scores, sensitivity: { ...table, types: ["q8_0", "q5_K"] } };
    expect(() => plan({ profile, scores: narrow, weights: WEIGHTS, types: ["q8_0", "q4_K"], estimator: "measured" })).toThrow("the sensitivity table has no q4_K column (it measured q8_0, q5_K); measure it with the plan's types");
  });

  it("scores.json round-trips the table and rejects a malformed one", () => {
    expect(parseScores(JSON.parse(JSON.stringify(scores))).sensitivity).toEqual(table);
    expect(() => parseSensitivity({ ...table, delta: [[0, 0.05]] })).toThrow("sensitivity.delta must have one row per unit (2)");
    expect(() => parseSensitivity({ ...table, kind: "guess" })).toThrow('sensitivity.kind must be "measured" or "proxy"');
  });

  it("Spearman's rank correlation (hand-worked, ties averaged)", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBe(-1);
    // ranks a = [1, 2, 3, 4], b = [1, 3, 2, 4]: Σd² = 2, ρ = 1 − 6·2 / (4·15) = 0.8
    expect(spearman([1, 2, 3, 4], [5, 7, 6, 8])).toBeCloseTo(0.8, 15);
    // ties: b ranks [1.5, 1.5, 3]
    expect(spearman([1, 2, 3], [0, 0, 1])).toBeCloseTo(0.8660254037844387, 12);
  });
});
