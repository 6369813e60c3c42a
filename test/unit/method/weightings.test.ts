import { describe, expect, it } from "vitest";
import { PAPER_WEIGHTINGS, validateWeights } from "../../../lib/method/index.js";

describe("PAPER_WEIGHTINGS", () => {
  it("has 28 valid, distinct weightings: 4 fairness and 8 per criterion", () => {
    expect(PAPER_WEIGHTINGS).toHaveLength(28);
    const byCategory = (c: string) => PAPER_WEIGHTINGS.filter((w) => w.category === c).length;
    expect([byCategory("fairness"), byCategory("memory"), byCategory("latency"), byCategory("accuracy")]).toEqual([4, 8, 8, 8]);
    for (const w of PAPER_WEIGHTINGS) expect(validateWeights(w.weights)).toEqual(w.weights);
    expect(new Set(PAPER_WEIGHTINGS.map((w) => w.id)).size).toBe(28);
    const triples = PAPER_WEIGHTINGS.map(({ weights: w }) => [w.memory, w.latency, w.accuracy].join(","));
    expect(new Set(triples).size).toBe(28);
  });

  it("lists the section 4.1.1 splits for a dominant criterion", () => {
    const latency = PAPER_WEIGHTINGS.filter((w) => w.category === "latency").map(({ weights: w }) => [w.memory, w.latency, w.accuracy]);
    expect(latency).toEqual([
      [0.15, 0.7, 0.15],
      [0.1, 0.8, 0.1],
      [0.05, 0.9, 0.05],
      [0, 1, 0],
      [0.25, 0.75, 0],
      [0, 0.75, 0.25],
      [0.1, 0.9, 0],
      [0, 0.9, 0.1],
    ]);
    const fairness = PAPER_WEIGHTINGS.filter((w) => w.category === "fairness").map(({ weights: w }) => [w.memory, w.latency, w.accuracy]);
    expect(fairness).toEqual([
      [1 / 3, 1 / 3, 1 / 3],
      [0.5, 0.5, 0],
      [0.5, 0, 0.5],
      [0, 0.5, 0.5],
    ]);
  });
});
