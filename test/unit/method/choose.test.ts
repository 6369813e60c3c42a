import { describe, expect, it } from "vitest";
import {
  InfeasibleConstraintsError,
  PAPER_WEIGHTINGS,
  chooseOnFront,
  estimateMix,
  paretoFront,
  parseCostTable,
  topsis,
  type CostTable,
  type GgmlType,
  type Weights,
} from "../../../lib/method/index.js";
import { TINY, prng } from "./helpers.js";

const ACCURACY: Weights = { memory: 0, latency: 0, accuracy: 1 };

function randomTable(seed: number, units: number, types: readonly GgmlType[]): CostTable {
  const random = prng(seed);
  return {
    types,
    units: Array.from({ length: units }, (_, u) => ({
      name: `blk.${u}.ffn_down`,
      params: 256 * (1 + (u % 3)),
      costs: Object.fromEntries(
        types.map((t, j) => {
          const bytes = (256 * (1 + (u % 3)) * (8.5 - 1.5 * j)) / 8;
          return [t, { bytes, latencyMs: bytes / 100 + random(), kld: j === 0 ? 0 : (j * j * (0.5 + random())) / 100, nll: j === 0 ? 0 : (j * (random() - 0.2)) / 100 }];
        }),
      ),
    })),
    fixed: { bytes: 500, runtimeBytes: 1000, latencyMs: 2, kld: 0.01, perplexity: 12 },
  };
}

describe("chooseOnFront", () => {
  const outcomes = { met: 0, infeasible: 0 };
  it("without limits, TOPSIS over the front's points (the paper's normalisation)", () => {
    const front = paretoFront(TINY, { grid: { memory: 64, latency: 64 } });
    const rows = front.points.map((p) => [p.estimate.memoryBytes, p.estimate.latencyMsPerToken, p.estimate.kld]);
    for (const { weights } of PAPER_WEIGHTINGS) {
      const reference = topsis(rows, [weights.memory, weights.latency, weights.accuracy]);
      const choice = chooseOnFront(front, { weights });
      expect(choice.point).toBe(front.points[reference.order[0] as number]);
      expect(choice.score).toBe(reference.scores[reference.order[0] as number]);
      expect(choice.candidates).toBe(front.points.length);
    }
  });

  it("hand-checked on the 3 × 3 table: accuracy only picks the all-q8_0 mix; a size target the best mix within it", () => {
    const front = paretoFront(TINY, { grid: { memory: 64, latency: 64 } });
    const all = chooseOnFront(front, { weights: ACCURACY });
    expect(all.assignment).toEqual({ a: "q8_0", b: "q8_0", c: "q8_0" });
    expect(all.distribution).toEqual({ q8_0: 3, q6_K: 0, q4_K: 0 });
    // Within 122 bytes: (q8_0, q6_K/q4_K…) — the 27 mixes give KLD 3.5 at 122 (a: q6_K, b: q8_0, c: q4_K).
    const target = chooseOnFront(front, { weights: ACCURACY, constraints: { targetSizeBytes: 123 } });
    expect(target.estimate).toMatchObject({ sizeBytes: 122, kld: 3.5 });
    expect(target.assignment).toEqual({ a: "q6_K", b: "q8_0", c: "q4_K" });
    // Bits per weight over the units: 8·22/32 = 5.5.
    expect(target.estimate.bitsPerWeight).toBe(5.5);
  });

  it.each([1, 2, 3, 4])("limits and targets are never exceeded (random table %i, 40 units × 5 types)", (seed) => {
    const table = randomTable(seed, 40, ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]);
    const dense = parseCostTable(table);
    const front = paretoFront(dense);
    const random = prng(seed + 100);
    const sizes = front.points.map((p) => p.estimate.sizeBytes);
    const [lo, hi] = [Math.min(...sizes), Math.max(...sizes)];

    for (let k = 0; k < 40; k++) {
      const targetSizeBytes = lo + random() * (hi - lo);
      const choice = chooseOnFront(front, { weights: ACCURACY, constraints: { targetSizeBytes } });
      expect(choice.estimate.sizeBytes).toBeLessThanOrEqual(targetSizeBytes);
      // The estimate is the mix's own, so the recipe's file has exactly this many bytes.
      expect(estimateMix(dense, choice.point.mix)).toEqual(choice.estimate);
      // With accuracy only, no front point within the target is more accurate.
      for (const p of front.points) if (p.estimate.sizeBytes <= targetSizeBytes) expect(p.estimate.kld).toBeGreaterThanOrEqual(choice.estimate.kld);
      // Each limit somewhere in the upper 70% of the front's range of its metric.
      const limit = (metric: "bitsPerWeight" | "latencyMsPerToken" | "kld" | "perplexity"): number => {
        const xs = front.points.map((p) => p.estimate[metric] as number);
        const [a, b] = [Math.min(...xs), Math.max(...xs)];
        return a + (0.3 + 0.7 * random()) * (b - a);
      };
      const [targetBpw, maxLatencyMs, maxKld, maxPerplexity] = [limit("bitsPerWeight"), limit("latencyMsPerToken"), limit("kld"), limit("perplexity")];
      const w = PAPER_WEIGHTINGS[k % 28]?.weights as Weights;
      try {
        const c = chooseOnFront(front, { weights: w, constraints: { targetBpw, maxLatencyMs, maxKld, maxPerplexity } });
        expect(c.estimate.bitsPerWeight).toBeLessThanOrEqual(targetBpw);
        expect(c.estimate.latencyMsPerToken).toBeLessThanOrEqual(maxLatencyMs);
        expect(c.estimate.kld).toBeLessThanOrEqual(maxKld);
        expect(c.estimate.perplexity).toBeLessThanOrEqual(maxPerplexity);
        outcomes.met++;
      } catch (e) {
        outcomes.infeasible++;
        expect(e).toBeInstanceOf(InfeasibleConstraintsError);
        // Infeasible only when no front point meets them all.
        const meets = front.points.some(
          (p) =>
            p.estimate.bitsPerWeight <= targetBpw &&
            p.estimate.latencyMsPerToken <= maxLatencyMs &&
            p.estimate.kld <= maxKld &&
            (p.estimate.perplexity as number) <= maxPerplexity,
        );
        expect(meets).toBe(false);
      }
    }
  });

  it("(both outcomes occurred above: limits met and limits infeasible)", () => {
    expect(outcomes.met).toBeGreaterThan(10);
    expect(outcomes.infeasible).toBeGreaterThan(10);
  });

  it("perplexity: reference × exp(Σ nll), memory adds the runtime bytes", () => {
    const table = randomTable(7, 3, ["q8_0", "q4_K"]);
    const dense = parseCostTable(table);
    const e = estimateMix(dense, [1, 0, 1]);
    const nll = (u: number, t: GgmlType) => table.units[u]?.costs[t]?.nll as number;
    expect(e.perplexity).toBeCloseTo(12 * Math.exp(nll(0, "q4_K") + nll(1, "q8_0") + nll(2, "q4_K")), 12);
    expect(e.memoryBytes).toBe(e.sizeBytes + 1000);
  });

  it("names the limit no mix meets and the closest mix", () => {
    const front = paretoFront(TINY, { grid: { memory: 64, latency: 64 } });
    let error: unknown;
    try {
      chooseOnFront(front, { weights: ACCURACY, constraints: { targetSizeBytes: 110, maxKld: 5 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InfeasibleConstraintsError);
    // Worst relative violations: (122 B, KLD 3.5) is 10.9% over the size, every smaller mix ≥ 30% over maxKld.
    expect((error as Error).message).toBe(
      "no mix on the front meets the constraints: targetSizeBytes = 110 cannot be met (the lowest sizeBytes on the front is 116); " +
        "the closest is {q8_0 1, q6_K 1, q4_K 1} with kld 3.5, sizeBytes 122 (10.9% over targetSizeBytes)",
    );
    expect((error as InfeasibleConstraintsError).unmet).toEqual(["targetSizeBytes"]);
    expect((error as InfeasibleConstraintsError).closest.assignment).toEqual({ a: "q6_K", b: "q8_0", c: "q4_K" });
    expect(() => chooseOnFront(front, { weights: ACCURACY, constraints: { maxLatencyMs: 19, maxKld: 8 } })).toThrow(
      "no mix on the front meets the constraints: maxLatencyMs = 19 and maxKld = 8 cannot be met together (each alone can); " +
        "the closest is {q8_0 0, q6_K 2, q4_K 1} with latencyMsPerToken 20 (5.26% over maxLatencyMs), kld 7.5",
    );
  });

  it("rejects maxPerplexity without perplexity in the table, unknown and bad constraints", () => {
    const front = paretoFront(TINY);
    expect(() => chooseOnFront(front, { weights: ACCURACY, constraints: { maxPerplexity: 10 } })).toThrow(
      "constraints.maxPerplexity needs a table that carries perplexity (fixed.perplexity and nll on every cost); KLD is not converted to perplexity",
    );
    expect(() => chooseOnFront(front, { weights: ACCURACY, constraints: { maxSize: 10 } as never })).toThrow(
      'unknown constraint "maxSize" (expected maxMemoryBytes, maxLatencyMs, maxKld, maxPerplexity, targetSizeBytes, targetBpw)',
    );
    expect(() => chooseOnFront(front, { weights: ACCURACY, constraints: { targetBpw: 0 } })).toThrow("constraints.targetBpw must be a positive number (got 0)");
    expect(() => chooseOnFront(front, { weights: { memory: 1, latency: 1, accuracy: 0 } })).toThrow("weights must sum to 1 (got 2)");
  });
});
