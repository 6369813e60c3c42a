import { describe, expect, it } from "vitest";
import {
  InfeasibleConstraintsError,
  PAPER_WEIGHTINGS,
  allocate,
  forEachDistribution,
  plan,
  planSweep,
  topsis,
  type GgmlType,
  type LayerName,
  type Profile,
  type ScoresFile,
  type Weights,
} from "../../../lib/method/index.js";
import { buildBoundaryTables, estimateFromTables, ESTIMATOR_TABLE, ESTIMATORS } from "../../../lib/method/estimators.js";
import { FIVE_TYPES, blockOrder, prng } from "./helpers.js";

const LATENCY_FIRST: Weights = { memory: 0.1, latency: 0.8, accuracy: 0.1 };
const TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"];

// A shuffled importance ranking of `blocks` blocks.
function shuffledRanking(blocks: number, seed: number): LayerName[] {
  const random = prng(seed);
  const ranking = blockOrder(blocks);
  for (let i = ranking.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranking[i], ranking[j]] = [ranking[j] as LayerName, ranking[i] as LayerName];
  }
  return ranking;
}

// A profile with per-sub-layer bytes: FFN layers three times the attention
// ones, sizes proportional to bits per weight, the same 5000 bytes of
// non-layer tensors for every type, and memoryBytes = fixed + Σ layers.
const BPW: Record<string, number> = { q8_0: 8.5, q6_K: 6.5625, q5_K: 5.5, q4_K: 4.5, q3_K: 3.4375 };
function sizedProfile(blocks: number): Profile {
  const types: Record<string, object> = {};
  for (const [type, m] of Object.entries(FIVE_TYPES.types)) {
    const layerBytes: Record<string, number> = {};
    blockOrder(blocks).forEach((name, i) => {
      layerBytes[name] = Math.round((BPW[type] as number) * (i & 1 ? 3000 + 7 * i : 1000 + i));
    });
    const sum = Object.values(layerBytes).reduce((a, b) => a + b, 0);
    types[type] = { ...m, memoryBytes: 5000 + sum, layerBytes, fixedBytes: 5000 };
  }
  return { types } as Profile;
}

function exactBytes(profile: Profile, allocation: Readonly<Record<string, GgmlType>>): number {
  let sum = 5000;
  for (const [layer, type] of Object.entries(allocation)) sum += profile.types[type]?.layerBytes?.[layer as LayerName] as number;
  return sum;
}

describe("plan: streaming TOPSIS equals topsis() on the materialised matrix", () => {
  const L = 8;
  const ranking = shuffledRanking(L / 2, 3);
  const metric = (t: GgmlType) => FIVE_TYPES.types[t] as { memoryBytes: number; latencyMsPerToken: number; perplexity: number };

  // The paper's estimator written out directly: x_kj = Σ_i (z_ki / L)·c_ij.
  function linearMatrix(): { rows: number[][]; counts: number[][] } {
    const rows: number[][] = [];
    const counts: number[][] = [];
    forEachDistribution(L, TYPES.length, (z) => {
      const x = [0, 0, 0];
      z.forEach((n, j) => {
        const m = metric(TYPES[j] as GgmlType);
        x[0] = (x[0] as number) + (n / L) * m.memoryBytes;
        x[1] = (x[1] as number) + (n / L) * m.latencyMsPerToken;
        x[2] = (x[2] as number) + (n / L) * m.perplexity;
      });
      rows.push(x);
      counts.push([...z]);
    });
    return { rows, counts };
  }

  it.each(PAPER_WEIGHTINGS.map((w) => [w.id, w.weights] as const))("linear, %s", (_, weights) => {
    const { rows, counts } = linearMatrix();
    const reference = topsis(rows, [weights.memory, weights.latency, weights.accuracy]);
    const best = reference.order[0] as number;
    const result = plan({ profile: FIVE_TYPES, ranking, weights, estimator: "linear" });
    expect(result.candidates).toBe(rows.length);
    expect(result.score).toBeCloseTo(reference.scores[best] as number, 12);
    expect(Object.values(result.distribution)).toEqual(counts[best]);
    expect(result.estimate.memoryBytes).toBeCloseTo((rows[best] as number[])[0] as number, 3);
  });

  it("weighted, against a direct per-layer sum over each allocation", () => {
    const profile = sizedProfile(L / 2);
    const base = profile.types.q8_0?.layerBytes as Record<string, number>;
    const total = Object.values(base).reduce((a, b) => a + b, 0);
    const rows: number[][] = [];
    const counts: number[][] = [];
    forEachDistribution(L, TYPES.length, (z) => {
      const distribution = Object.fromEntries(TYPES.map((t, j) => [t, z[j] as number]));
      const allocation = allocate(ranking, distribution);
      let latency = 0;
      let perplexity = 0;
      for (const [layer, type] of Object.entries(allocation)) {
        const share = (base[layer] as number) / total;
        latency += share * metric(type).latencyMsPerToken;
        perplexity += share * metric(type).perplexity;
      }
      rows.push([exactBytes(profile, allocation), latency, perplexity]);
      counts.push([...z]);
    });
    for (const { weights } of PAPER_WEIGHTINGS) {
      const reference = topsis(rows, [weights.memory, weights.latency, weights.accuracy]);
      const best = reference.order[0] as number;
      const result = plan({ profile, ranking, weights });
      expect(result.estimator).toBe("weighted");
      expect(result.score).toBeCloseTo(reference.scores[best] as number, 9);
      expect(Object.values(result.distribution)).toEqual(counts[best]);
    }
  });

  it("with a constraint, against the filtered matrix", () => {
    const { rows, counts } = linearMatrix();
    const maxPerplexity = 5.9;
    const kept = rows.map((r, i) => [r, i] as const).filter(([r]) => (r[2] as number) <= maxPerplexity);
    const reference = topsis(kept.map(([r]) => r), [0.5, 0.5, 0]);
    const best = (kept[reference.order[0] as number] as readonly [number[], number])[1];
    const result = plan({ profile: FIVE_TYPES, ranking, weights: { memory: 0.5, latency: 0.5, accuracy: 0 }, constraints: { maxPerplexity } });
    expect(result.candidates).toBe(kept.length);
    expect(result.enumerated).toBe(rows.length);
    expect(Object.values(result.distribution)).toEqual(counts[best]);
    expect(result.estimate.perplexity).toBeLessThanOrEqual(maxPerplexity);
  });

  it("planSweep gives what plan gives, weighting by weighting", () => {
    const weightings = PAPER_WEIGHTINGS.map((w) => w.weights);
    const sweep = planSweep({ profile: FIVE_TYPES, ranking, weightings });
    expect(sweep).toEqual(weightings.map((weights) => plan({ profile: FIVE_TYPES, ranking, weights })));
  });
});

describe("plan: estimators", () => {
  it("weighted memory is the exact byte sum of the allocation it produces; linear's is not", () => {
    const profile = sizedProfile(4);
    const ranking = shuffledRanking(4, 11);
    for (const { weights } of PAPER_WEIGHTINGS) {
      const weighted = plan({ profile, ranking, weights, estimator: "weighted" });
      expect(weighted.estimate.memoryBytes).toBe(exactBytes(profile, weighted.allocation));
    }
    const linear = plan({ profile, ranking, weights: PAPER_WEIGHTINGS[0]!.weights, estimator: "linear" });
    expect(Object.values(linear.distribution).filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(linear.estimate.memoryBytes).not.toBeCloseTo(exactBytes(profile, linear.allocation), 0);
  });

  it("defaults to sensitivity with layerBytes and scores, weighted with layerBytes and a bare ranking, else linear", () => {
    const ranking = blockOrder(2);
    const scores = scoresOf(ranking.map((name, i) => [name, 4 - i, 0.1 * (i + 1)]));
    expect(plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST }).estimator).toBe("linear");
    expect(plan({ profile: FIVE_TYPES, scores, weights: LATENCY_FIRST }).estimator).toBe("linear");
    expect(plan({ profile: sizedProfile(2), ranking, weights: LATENCY_FIRST }).estimator).toBe("weighted");
    expect(plan({ profile: sizedProfile(2), scores, weights: LATENCY_FIRST }).estimator).toBe("sensitivity");
  });

  it("sensitivity: accuracy shared by mean 1 − cos, memory and latency as weighted (by hand)", () => {
    // 1 block: attn (1 − cos 0.3, ranked first) and ffn (1 − cos 0.1); split (1, 1) of q8_0 and
    // q4_K gives attn q8_0 and ffn q4_K, so perplexity = 0.75·5.8 + 0.25·5.95 = 5.8375. weighted
    // shares by parameters instead, here the q8_0 layer bytes 8500 : 25560 (sizedProfile).
    const profile = sizedProfile(1);
    const ranking: LayerName[] = ["blk.0.attn", "blk.0.ffn"];
    const types: GgmlType[] = ["q8_0", "q4_K"];
    const at = (estimator: "weighted" | "sensitivity") =>
      estimateFromTables(buildBoundaryTables({ profile, types, ranking, estimator, sensitivity: [0.3, 0.1] }), [1, 1]);
    expect(at("sensitivity").perplexity).toBeCloseTo(5.8375, 12);
    expect(at("weighted").perplexity).toBeCloseTo((8500 * 5.8 + 25560 * 5.95) / 34060, 12);
    expect(at("sensitivity").memoryBytes).toBe(at("weighted").memoryBytes);
    expect(at("sensitivity").latencyMsPerToken).toBe(at("weighted").latencyMsPerToken);
    // a uniform split is the uniform model, whatever the shares
    const all = estimateFromTables(buildBoundaryTables({ profile, types, ranking, estimator: "sensitivity", sensitivity: [0.3, 0.1] }), [0, 2]);
    expect(all.perplexity).toBeCloseTo(5.95, 12);
  });

  it("every estimator of the table gives a uniform split the uniform model's metrics", () => {
    // shares of any kind sum to 1, so all layers in one type is that type's measurement; and
    // sizedProfile's memory is 5000 + its layer bytes, so swapping layer bytes is exact too
    const profile = sizedProfile(2);
    const ranking = blockOrder(2);
    const types: GgmlType[] = ["q8_0", "q6_K", "q4_K"];
    expect(ESTIMATORS).toEqual(Object.keys(ESTIMATOR_TABLE));
    for (const estimator of ESTIMATORS) {
      const measured = { referenceKld: 0.01, delta: ranking.map(() => [0, 0.02, 0.05]) };
      const tables = buildBoundaryTables({ profile, types, ranking, estimator, sensitivity: [0.3, 0.1, 0.2, 0.05], measured });
      types.forEach((type, j) => {
        const counts = types.map((_, k) => (k === j ? ranking.length : 0));
        const estimate = estimateFromTables(tables, counts);
        expect(estimate.memoryBytes, `${estimator} ${type}`).toBeCloseTo(profile.types[type]!.memoryBytes, 6);
        expect(estimate.latencyMsPerToken, `${estimator} ${type}`).toBeCloseTo(profile.types[type]!.latencyMsPerToken, 9);
        // measured takes accuracy from its table (KLD(reference) + Σ Δ), not from the profile
        const accuracy = estimator === "measured" ? measured.referenceKld + ranking.length * measured.delta[0]![j]! : profile.types[type]!.perplexity;
        expect(estimate.perplexity, `${estimator} ${type}`).toBeCloseTo(accuracy, 9);
      });
    }
  });

  it("plan passes each layer's 1 − cos from the scores to sensitivity, in ranking order", () => {
    // ffn ranks first (score 5) and carries 0.1 of 1 − cos against attn's 0.3
    const scores = scoresOf([["blk.0.attn", 1, 0.3], ["blk.0.ffn", 5, 0.1]]);
    // the constraints leave only the split (1, 1): all-q8_0 weighs 39060 bytes, all-q4_K 5.95
    const constraints = { maxMemoryBytes: 39000, maxPerplexity: 5.94 };
    const result = plan({ profile: sizedProfile(1), scores, types: ["q8_0", "q4_K"], weights: LATENCY_FIRST, constraints });
    expect(result.candidates).toBe(1);
    expect(result.estimator).toBe("sensitivity");
    expect(result.allocation).toEqual({ "blk.0.ffn": "q8_0", "blk.0.attn": "q4_K" });
    expect(result.estimate.perplexity).toBeCloseTo(0.25 * 5.8 + 0.75 * 5.95, 12);
  });

  it("sensitivity needs scores, and some layer with 1 − cos > 0", () => {
    const ranking = blockOrder(1);
    expect(() => plan({ profile: sizedProfile(1), ranking, weights: LATENCY_FIRST, estimator: "sensitivity" })).toThrow(
      'the sensitivity estimator needs the layer scores (mean 1 − cos per layer), not only a ranking; give scores, or choose "weighted"',
    );
    const flat = scoresOf([["blk.0.attn", 1, 0], ["blk.0.ffn", 0, 0]]);
    expect(() => plan({ profile: sizedProfile(1), scores: flat, weights: LATENCY_FIRST, estimator: "sensitivity" })).toThrow(
      'the sensitivity estimator needs some layer with mean 1 − cos > 0 (all are 0); choose "weighted"',
    );
  });
});

// scores.json with the given score and mean (1 − cos) per layer (rewards carry the score)
function scoresOf(layers: readonly (readonly [LayerName, number, number])[]): ScoresFile {
  const order = (n: LayerName) => { const [, b, k] = /^blk\.(\d+)\.(attn|ffn)$/.exec(n)!; return 2 * Number(b) + (k === "ffn" ? 1 : 0); };
  const sorted = [...layers].sort((a, b) => order(a[0]) - order(b[0]));
  return { gamma: 0.9, layers: sorted.map(([name, score, m]) => ({ name, reward: score, penalty: 0, score, meanOneMinusCos: m })) };
}

describe("plan: small cases by hand", () => {
  // Two types, two layers; linear estimates of the splits (q8_0, q4_K) = (2,0), (1,1), (0,2):
  // memory 100, 75, 50; latency 10, 8, 6; perplexity 5, 6, 7.
  const profile: Profile = {
    types: {
      q8_0: { memoryBytes: 100, latencyMsPerToken: 10, perplexity: 5 },
      q4_K: { memoryBytes: 50, latencyMsPerToken: 6, perplexity: 7 },
    },
  };
  const scores: ScoresFile = {
    gamma: 0.9,
    layers: [
      { name: "blk.0.attn", reward: 1, penalty: 3, score: -2, meanOneMinusCos: 0.1 },
      { name: "blk.0.ffn", reward: 3, penalty: 1, score: 2, meanOneMinusCos: 0.2 },
    ],
  };
  const types: GgmlType[] = ["q4_K", "q8_0"];

  it("goes all-aggressive for memory and all-conservative for accuracy", () => {
    const memory = plan({ profile, scores, types, weights: { memory: 1, latency: 0, accuracy: 0 } });
    expect(memory.distribution).toEqual({ q8_0: 0, q4_K: 2 });
    expect(memory.estimate).toEqual({ memoryBytes: 50, latencyMsPerToken: 6, perplexity: 7 });
    expect(memory.score).toBe(1);
    const accuracy = plan({ profile, scores, types, weights: { memory: 0, latency: 0, accuracy: 1 } });
    expect(accuracy.distribution).toEqual({ q8_0: 2, q4_K: 0 });
  });

  it("produces the plan --json contract, the most important layer getting the safer type", () => {
    const result = plan({ profile, scores, types, weights: { memory: 0.2, latency: 0, accuracy: 0.8 }, constraints: { maxMemoryBytes: 80 } });
    // Candidates left: (1,1) and (0,2). Columns: memory 75, 50 (norm √8125 ≈ 90.14), perplexity 6, 7
    // (norm √85 ≈ 9.22). Each is ideal in one criterion and anti-ideal in the other:
    //   (1,1): d* = 0.2·25/90.14 ≈ 0.0555, d⁻ = 0.8·1/9.22 ≈ 0.0868 → ≈ 0.610
    //   (0,2): d* ≈ 0.0868, d⁻ ≈ 0.0555 → ≈ 0.390, so (1,1) wins.
    const dIdeal = (0.2 * 25) / Math.sqrt(75 * 75 + 50 * 50);
    const dAnti = (0.8 * 1) / Math.sqrt(6 * 6 + 7 * 7);
    expect(result.score).toBeCloseTo(dAnti / (dAnti + dIdeal), 12);
    expect(JSON.parse(JSON.stringify(result))).toEqual({
      weights: { memory: 0.2, latency: 0, accuracy: 0.8 },
      estimator: "linear",
      candidates: 2,
      enumerated: 3,
      distribution: { q8_0: 1, q4_K: 1 },
      estimate: { memoryBytes: 75, latencyMsPerToken: 8, perplexity: 6 },
      score: result.score,
      allocation: { "blk.0.attn": "q4_K", "blk.0.ffn": "q8_0" },
    });
  });

  it("handles a single type (one split, no boundary)", () => {
    const result = plan({ profile, scores, types: ["q8_0"], weights: LATENCY_FIRST });
    expect([result.candidates, result.enumerated, result.score]).toEqual([1, 1, 1]);
    expect(result.distribution).toEqual({ q8_0: 2 });
    expect(result.estimate).toEqual({ memoryBytes: 100, latencyMsPerToken: 10, perplexity: 5 });
    expect(() => plan({ profile, scores, types: ["q8_0"], weights: LATENCY_FIRST, constraints: { maxLatencyMs: 5 } })).toThrow(
      "no distribution meets the constraints: maxLatencyMs = 5 cannot be met (the lowest estimated latencyMsPerToken is 10); " +
        "the closest is {q8_0 2} with memoryBytes 100, latencyMsPerToken 10 (100% over maxLatencyMs), perplexity 5",
    );
  });

  it("says which constraint cannot be met and the closest split", () => {
    expect(() => plan({ profile, scores, types, weights: LATENCY_FIRST, constraints: { maxMemoryBytes: 40 } })).toThrow(
      "no distribution meets the constraints: maxMemoryBytes = 40 cannot be met (the lowest estimated memoryBytes is 50); " +
        "the closest is {q8_0 0, q4_K 2} with memoryBytes 50 (25% over maxMemoryBytes), latencyMsPerToken 6, perplexity 7",
    );
    let error: unknown;
    try {
      plan({ profile, scores, types, weights: LATENCY_FIRST, constraints: { maxMemoryBytes: 60, maxPerplexity: 5.5 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InfeasibleConstraintsError);
    // Worst relative violations: (2,0) 40/60, (1,1) max(15/60, 0.5/5.5) = 0.25, (0,2) 1.5/5.5 ≈ 0.27.
    expect((error as Error).message).toBe(
      "no distribution meets the constraints: maxMemoryBytes = 60 and maxPerplexity = 5.5 cannot be met together (each alone can); " +
        "the closest is {q8_0 1, q4_K 1} with memoryBytes 75 (25% over maxMemoryBytes), latencyMsPerToken 8, perplexity 6 (9.09% over maxPerplexity)",
    );
    expect((error as InfeasibleConstraintsError).unmet).toEqual([]);
    expect((error as InfeasibleConstraintsError).closest.distribution).toEqual({ q8_0: 1, q4_K: 1 });
  });
});

describe("plan: validation", () => {
  const ranking = blockOrder(2);

  it.each([
    [{ memory: 0.5, latency: 0.5, accuracy: 0.2 }, "weights must sum to 1 (got 1.2)"],
    [{ memory: -0.1, latency: 1, accuracy: 0.1 }, "weights.memory must be between 0 and 1 (got -0.1)"],
    [{ memory: 0.5, latency: 1.5, accuracy: -1 }, "weights.latency must be between 0 and 1 (got 1.5)"],
    [{ memory: 0.5, latency: 0.5, accuracy: Number.NaN }, "weights.accuracy must be a finite number (got NaN)"],
  ])("rejects weights %j", (weights, message) => {
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights })).toThrow(message);
  });

  it("rejects an empty profile and a profile missing a type", () => {
    expect(() => plan({ profile: { types: {} }, ranking, weights: LATENCY_FIRST })).toThrow("profile.types must list at least one type (got none)");
    const { q3_K: _, ...four } = FIVE_TYPES.types;
    expect(() => plan({ profile: { types: four }, ranking, weights: LATENCY_FIRST })).toThrow(
      'profile has no measurements for type "q3_K" (it has q8_0, q6_K, q5_K, q4_K)',
    );
  });

  it("rejects L = 0", () => {
    expect(() => plan({ profile: FIVE_TYPES, ranking: [], weights: LATENCY_FIRST })).toThrow("no layers to plan (L = 0)");
    expect(() => plan({ profile: FIVE_TYPES, scores: { gamma: 0.9, layers: [] }, weights: LATENCY_FIRST })).toThrow(
      "no layers to plan (L = 0): scores.layers is empty",
    );
  });

  it("rejects NaN and infinite metrics", () => {
    const nan = { types: { ...FIVE_TYPES.types, q4_K: { memoryBytes: 1, latencyMsPerToken: 1, perplexity: Number.NaN } } };
    expect(() => plan({ profile: nan, ranking, weights: LATENCY_FIRST })).toThrow("profile.types.q4_K.perplexity must be a finite number (got NaN)");
    const inf = { types: { ...FIVE_TYPES.types, q8_0: { memoryBytes: Number.POSITIVE_INFINITY, latencyMsPerToken: 1, perplexity: 1 } } };
    expect(() => plan({ profile: inf, ranking, weights: LATENCY_FIRST })).toThrow("profile.types.q8_0.memoryBytes must be a finite number (got Infinity)");
  });

  it("rejects unknown type names with a suggestion", () => {
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, types: ["q4_k" as GgmlType] })).toThrow(
      'unknown type "q4_k"; did you mean "q4_K"?',
    );
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, types: ["q8_0", "q8_0"] })).toThrow('type "q8_0" is listed twice');
  });

  it("rejects bad options", () => {
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, estimator: "exact" as never })).toThrow(
      'estimator must be "linear", "weighted", "sensitivity", "measured" (got "exact")',
    );
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, estimator: "weighted" })).toThrow(
      'the weighted estimator needs profile.types.q8_0.layerBytes (or choose the "linear" estimator)',
    );
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, constraints: { maxMemory: 5 } as never })).toThrow(
      'unknown constraint "maxMemory" (expected maxMemoryBytes, maxLatencyMs, maxPerplexity)',
    );
    expect(() => plan({ profile: FIVE_TYPES, ranking, weights: LATENCY_FIRST, constraints: { maxLatencyMs: -1 } })).toThrow(
      "constraints.maxLatencyMs must be a positive number (got -1)",
    );
    expect(() => plan({ profile: sizedProfile(1), ranking, weights: LATENCY_FIRST })).toThrow(
      'profile.types.q8_0.layerBytes has no entry for "blk.1.attn"',
    );
  });
});
