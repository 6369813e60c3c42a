import { describe, expect, it } from "vitest";
import {
  PAPER_WEIGHTINGS,
  costTableFromProfile,
  estimateMix,
  paretoFront,
  parseCostTable,
  planSweep,
  type GgmlType,
  type LayerName,
  type Profile,
  type ScoresFile,
} from "../../../lib/method/index.js";
import { FIVE_TYPES, blockOrder, prng } from "./helpers.js";

const BPW: Record<string, number> = { q8_0: 8.5, q6_K: 6.5625, q5_K: 5.5, q4_K: 4.5, q3_K: 3.4375 };

// Per-sub-layer bytes (FFN three times attention), 5000 bytes outside the layers.
function sizedProfile(blocks: number): Profile {
  const types: Record<string, object> = {};
  for (const [type, m] of Object.entries(FIVE_TYPES.types)) {
    const layerBytes: Record<string, number> = {};
    blockOrder(blocks).forEach((name, i) => (layerBytes[name] = Math.round((BPW[type] as number) * (i & 1 ? 3000 + 7 * i : 1000 + i))));
    const sum = Object.values(layerBytes).reduce((a, b) => a + b, 0);
    types[type] = { ...m, memoryBytes: 5000 + sum, layerBytes };
  }
  return { types } as Profile;
}

function scores(blocks: number, seed: number): ScoresFile {
  const random = prng(seed);
  return {
    gamma: 0.9,
    layers: blockOrder(blocks).map((name, i) => ({ name, reward: i, penalty: 0, score: i, meanOneMinusCos: 0.01 + random() })),
  };
}

describe("costTableFromProfile: today's estimators as a per-unit cost table", () => {
  it.each([
    ["weighted", undefined],
    ["sensitivity", scores(3, 5)],
  ] as const)("%s: every plan's estimate is its mix's estimate, and the front covers every plan", (estimator, s) => {
    const profile = sizedProfile(3);
    const table = costTableFromProfile({ profile, ...(s ? { scores: s } : {}) });
    const dense = parseCostTable(table);
    const ranking = s === undefined ? blockOrder(3).reverse() : undefined;
    const plans = planSweep({
      profile,
      ...(s ? { scores: s } : { ranking: ranking as LayerName[] }),
      estimator,
      weightings: PAPER_WEIGHTINGS.map((w) => w.weights),
    });
    const front = paretoFront(dense, { grid: { memory: 1 << 14, latency: 8 } });
    for (const plan of plans) {
      const mix = dense.names.map((name) => dense.types.indexOf(plan.allocation[name as LayerName] as GgmlType));
      const e = estimateMix(dense, mix);
      expect(e.memoryBytes).toBe(plan.estimate.memoryBytes);
      expect(e.latencyMsPerToken).toBeCloseTo(plan.estimate.latencyMsPerToken, 10);
      expect(e.kld).toBeCloseTo(plan.estimate.perplexity, 10);
      // Some front mix is at least as accurate and at most ε larger and slower.
      const covered = front.points.some(
        (p) =>
          p.estimate.kld <= e.kld + 1e-12 &&
          p.estimate.sizeBytes <= e.sizeBytes + front.tolerance.sizeBytes &&
          p.estimate.latencyMsPerToken <= e.latencyMsPerToken + front.tolerance.latencyMs + 1e-12,
      );
      expect(covered).toBe(true);
    }
  });

  it("needs layerBytes", () => {
    expect(() => costTableFromProfile({ profile: FIVE_TYPES })).toThrow("a cost table needs profile.types.q8_0.layerBytes");
  });
});
