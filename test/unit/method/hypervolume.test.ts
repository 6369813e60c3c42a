import { describe, expect, it } from "vitest";
import { hypervolume, hypervolumeReport, nonDominated, type Point } from "../../../lib/method/index.js";
import { prng } from "./helpers.js";

const REF = [1, 1, 1] as const;

describe("hypervolume", () => {
  it("is 1 for the corner of the unit cube", () => {
    expect(hypervolume([[0, 0, 0]], REF)).toBe(1);
  });

  it("is a box's volume for one point", () => {
    expect(hypervolume([[0.5, 0.5, 0.5]], REF)).toBeCloseTo(0.125, 12);
  });

  it("counts two overlapping boxes once (inclusion–exclusion)", () => {
    // A = 0.8·0.5·0.6 = 0.24, B = 0.4·0.9·0.7 = 0.252,
    // A∩B = (1 − 0.6)(1 − 0.5)(1 − 0.4) = 0.12 → 0.24 + 0.252 − 0.12 = 0.372
    expect(hypervolume([[0.2, 0.5, 0.4], [0.6, 0.1, 0.3]], REF)).toBeCloseTo(0.372, 12);
  });

  it("adds nothing for dominated points or points not better than the reference", () => {
    const base = hypervolume([[0.2, 0.5, 0.4]], REF);
    expect(hypervolume([[0.2, 0.5, 0.4], [0.3, 0.6, 0.4], [1.5, 0, 0], [0, 1, 0]], REF)).toBeCloseTo(base, 12);
    expect(hypervolume([], REF)).toBe(0);
  });

  it("works in 2-D", () => {
    // Two 1 × 0.5 strips overlapping in a 0.5 × 0.5 square: 0.5 + 0.5 − 0.25
    expect(hypervolume([[0, 0.5], [0.5, 0]], [1, 1])).toBeCloseTo(0.75, 12);
  });

  it("agrees with a seeded Monte-Carlo estimate", () => {
    const random = prng(7);
    const points: Point[] = Array.from({ length: 12 }, () => [random(), random(), random()]);
    const exact = hypervolume(points, REF);
    const samples = 200_000;
    let hits = 0;
    for (let s = 0; s < samples; s++) {
      const x = random(), y = random(), z = random();
      if (points.some((p) => (p[0] as number) <= x && (p[1] as number) <= y && (p[2] as number) <= z)) hits++;
    }
    const estimate = hits / samples;
    const sigma = Math.sqrt((estimate * (1 - estimate)) / samples);
    expect(Math.abs(exact - estimate)).toBeLessThan(4 * sigma);
  });

  it("rejects malformed input", () => {
    expect(() => hypervolume([[0, 0]], REF)).toThrow("points[0] must have 3 coordinates like the reference (got 2)");
    expect(() => hypervolume([[0, Number.NaN, 0]], REF)).toThrow("points[0][1] must be a finite number (got NaN)");
    expect(() => hypervolume([], [1, Number.POSITIVE_INFINITY])).toThrow("reference[1] must be a finite number (got Infinity)");
  });
});

describe("nonDominated", () => {
  it("keeps the points nothing else dominates", () => {
    expect(nonDominated([[1, 2], [2, 1], [2, 2]])).toEqual([0, 1]);
    expect(nonDominated([[1, 1, 1], [1, 1, 1], [0, 2, 1]])).toEqual([0, 1, 2]);
    expect(nonDominated([])).toEqual([]);
  });
});

describe("hypervolumeReport", () => {
  // Uniform set in (memory, latency, perplexity): ranges [0, 10], [0, 10], [1, 3], so it normalises to
  // (1, 1, 0), (0.5, 0.5, 0.5), (0, 0, 1); only the middle point has volume: 0.5³ = 0.125.
  const uniform = [
    { memoryBytes: 10, latencyMsPerToken: 10, perplexity: 1 },
    { memoryBytes: 5, latencyMsPerToken: 5, perplexity: 2 },
    { memoryBytes: 0, latencyMsPerToken: 0, perplexity: 3 },
  ];
  // Mixed (4, 4, 1.6) → (0.4, 0.4, 0.3): 0.6·0.6·0.7 = 0.252, and it dominates the middle point.
  const mixed = [{ memoryBytes: 4, latencyMsPerToken: 4, perplexity: 1.6 }];
  // Baseline (6, 2, 2.2) → (0.6, 0.2, 0.6): 0.4·0.8·0.4 = 0.128.
  const baseline = [{ memoryBytes: 6, latencyMsPerToken: 2, perplexity: 2.2 }];

  it("reproduces the hand-computed volumes and gain", () => {
    const report = hypervolumeReport({ uniform, mixed });
    expect(report.normalisation).toEqual({
      min: { memoryBytes: 0, latencyMsPerToken: 0, perplexity: 1 },
      max: { memoryBytes: 10, latencyMsPerToken: 10, perplexity: 3 },
    });
    expect(report.reference).toEqual([1, 1, 1]);
    expect(report.uniform.hypervolume).toBeCloseTo(0.125, 12);
    expect(report.uniform.nonDominated).toEqual([0, 1, 2]);
    expect(report.mixed.hypervolume).toBeCloseTo(0.252, 12);
    expect(report.union.hypervolume).toBeCloseTo(0.252, 12);
    // union indices: uniform 0..2, then mixed 3; the mixed point dominates uniform 1
    expect(report.union.nonDominated).toEqual([0, 2, 3]);
    expect(report.gain).toBeCloseTo((0.252 - 0.125) / 0.125, 12);
    expect(report.baseline).toBeUndefined();
  });

  it("reports what the mixed set adds over uniform ∪ baseline", () => {
    const report = hypervolumeReport({ uniform, mixed, baseline });
    // uniform ∪ baseline: 0.125 + 0.128 − (0.4·0.5·0.4 = 0.08) = 0.173
    // all: the mixed point replaces the middle one: 0.252 + 0.128 − (0.4·0.6·0.4 = 0.096) = 0.284
    const b = report.baseline;
    expect(b?.baseline.hypervolume).toBeCloseTo(0.128, 12);
    expect(b?.withUniform.hypervolume).toBeCloseTo(0.173, 12);
    expect(b?.all.hypervolume).toBeCloseTo(0.284, 12);
    expect(b?.added).toBeCloseTo(0.111, 12);
    expect(b?.addedRelative).toBeCloseTo(0.111 / 0.173, 12);
    expect(b?.gain).toBeCloseTo((0.252 - 0.173) / 0.173, 12);
  });

  it("rejects a uniform set it cannot normalise by", () => {
    expect(() => hypervolumeReport({ uniform: uniform.slice(0, 1), mixed })).toThrow(
      "the uniform set must have at least 2 points to normalise by (got 1)",
    );
    const flat = uniform.map((u) => ({ ...u, perplexity: 2 }));
    expect(() => hypervolumeReport({ uniform: flat, mixed })).toThrow(
      "the uniform set has the same perplexity (2) at every point, so it cannot be normalised",
    );
    expect(() => hypervolumeReport({ uniform, mixed: [{ ...mixed[0]!, perplexity: Number.NaN }] })).toThrow(
      "mixed[0].perplexity must be a finite number (got NaN)",
    );
  });
});
