import { describe, expect, it } from "vitest";
import {
  estimateMix,
  kldLowerBound,
  paretoFront,
  parseCostTable,
  weightedSumMix,
  type CostTable,
  type DenseCostTable,
  type GgmlType,
} from "../../../lib/method/index.js";
import { TINY, prng } from "./helpers.js";

type Vector = readonly [number, number, number];

function allMixes(dense: DenseCostTable): Uint8Array[] {
  const M = dense.types.length;
  const out: Uint8Array[] = [];
  const mix = new Uint8Array(dense.units);
  const visit = (u: number): void => {
    if (u === dense.units) {
      out.push(mix.slice());
      return;
    }
    for (let j = 0; j < M; j++) {
      if (dense.available[u * M + j] !== 1) continue;
      mix[u] = j;
      visit(u + 1);
    }
  };
  visit(0);
  return out;
}

function vector(dense: DenseCostTable, mix: ArrayLike<number>): Vector {
  const e = estimateMix(dense, mix);
  return [e.sizeBytes, e.latencyMsPerToken, e.kld];
}

const dominates = (a: Vector, b: Vector): boolean =>
  a[0] <= b[0] && a[1] <= b[1] && a[2] <= b[2] && (a[0] < b[0] || a[1] < b[1] || a[2] < b[2]);

// The distinct objective vectors no mix dominates, sorted.
function bruteFront(dense: DenseCostTable): Vector[] {
  const vectors = allMixes(dense).map((m) => vector(dense, m));
  const front = vectors.filter((v) => !vectors.some((w) => dominates(w, v)));
  const distinct = [...new Map(front.map((v) => [v.join(","), v])).values()];
  return distinct.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

// Random table with integer bytes and latencies (exact sums) and KLD on a 1/1024 grid.
function randomTable(seed: number, units: number, types: readonly GgmlType[], integer = true): CostTable {
  const random = prng(seed);
  const pick = (scale: number): number => (integer ? Math.floor(random() * scale) : random() * scale);
  return {
    types,
    units: Array.from({ length: units }, (_, u) => ({
      name: `u${u}`,
      params: 32,
      costs: Object.fromEntries(
        types.map((t, j) => [t, { bytes: 4 * (types.length - j) + Math.floor(random() * 6), latencyMs: pick(20), kld: Math.round(random() * 1024 * (j + 1)) / 1024 }]),
      ),
    })),
    fixed: { bytes: 1000, latencyMs: 3, kld: 0.25 },
  };
}

describe("paretoFront: exact on tiny tables (brute force over every mix)", () => {
  it("3 units × 3 types: the 27 mixes' front, point for point", () => {
    const dense = parseCostTable(TINY);
    const front = paretoFront(dense, { grid: { memory: 64, latency: 64 } });
    // Hand-checked: e.g. (118, 19, 8.5) is a (q6_K, q4_K, q4_K) and 13 mixes are
    // non-dominated, two of them at the same (120, 22, 6.5); 12 distinct vectors.
    const expected: Vector[] = [
      [116, 18, 11.5], [118, 19, 8.5], [120, 21, 7.5], [120, 22, 6.5], [122, 20, 7.5], [122, 23, 3.5],
      [124, 25, 2.5], [126, 21, 6.5], [126, 24, 2.5], [128, 26, 1.5], [130, 25, 1.5], [132, 27, 0.5],
    ];
    expect(bruteFront(dense)).toEqual(expected);
    expect(front.points.map((p) => [p.estimate.sizeBytes, p.estimate.latencyMsPerToken, p.estimate.kld])).toEqual(expected);
    for (const p of front.points) expect(vector(dense, p.mix)).toEqual([p.estimate.sizeBytes, p.estimate.latencyMsPerToken, p.estimate.kld]);
    // (120, 21, 7.5) = (q8_0, q4_K, q4_K) is optimal for no weighted sum: the DP found it.
    expect(front.points.find((p) => p.estimate.sizeBytes === 120 && p.estimate.latencyMsPerToken === 21)?.origin).toBe("dp");
    // Every distinct (size, latency) has its own cell, so nothing is displaced: ε = 0, below the a-priori N·g.
    expect(front.tolerance).toEqual({ sizeBytes: 0, latencyMs: 0 });
    expect(front.toleranceBound).toEqual({ sizeBytes: 3 * (16 / 64), latencyMs: 3 * (9 / 64) });
  });

  it.each([1, 2, 3, 4, 5, 6])("random integer table %i (5 units × 4 types) with a fine grid", (seed) => {
    const dense = parseCostTable(randomTable(seed, 5, ["q8_0", "q6_K", "q4_K", "q3_K"]));
    const front = paretoFront(dense, { grid: { memory: 256, latency: 256 } });
    expect(front.points.map((p) => vector(dense, p.mix))).toEqual(bruteFront(dense));
  });

  it("a unit may lack a type; the front never gives it that type", () => {
    const table = randomTable(9, 4, ["q8_0", "q6_K", "q4_K"]);
    const units = table.units.map((u, i) => (i === 1 ? { ...u, costs: { q8_0: u.costs.q8_0, q6_K: u.costs.q6_K } } : u));
    const dense = parseCostTable({ ...table, units });
    const front = paretoFront(dense, { grid: { memory: 256, latency: 256 } });
    expect(front.points.every((p) => p.mix[1] !== 2)).toBe(true);
    expect(front.points.map((p) => vector(dense, p.mix))).toEqual(bruteFront(dense));
  });
});

describe("paretoFront: the ε guarantee and the lower bound on coarse grids", () => {
  // Counts front points the coarse grid does not return, so the test shows it exercised the approximation.
  let missed = 0;
  it.each([
    [11, 8, 2], [12, 8, 2], [13, 8, 2], [14, 8, 2], [15, 4, 1], [16, 4, 1], [17, 16, 1], [18, 3, 3],
  ])("random real-valued table %i (6 units × 4 types), grid %i × %i", (seed, memory, latency) => {
    const dense = parseCostTable(randomTable(seed, 6, ["q8_0", "q6_K", "q5_K", "q4_K"], false));
    const front = paretoFront(dense, { grid: { memory, latency }, weightingSteps: 3 });
    const points = front.points.map((p) => vector(dense, p.mix));
    // Every point's estimate is its mix's, and no point dominates another.
    front.points.forEach((p, i) => expect([p.estimate.sizeBytes, p.estimate.latencyMsPerToken, p.estimate.kld]).toEqual(points[i]));
    for (const a of points) for (const b of points) expect(dominates(a, b)).toBe(false);
    expect(front.tolerance.sizeBytes).toBeLessThanOrEqual(front.toleranceBound.sizeBytes);
    expect(front.tolerance.latencyMs).toBeLessThanOrEqual(front.toleranceBound.latencyMs);
    const mixes = allMixes(dense).map((m) => vector(dense, m));
    for (const x of bruteFront(dense)) {
      // Some front point is at least as accurate and within the certified ε in size and latency.
      const covered = points.some((y) => y[2] <= x[2] && y[0] < x[0] + front.tolerance.sizeBytes + 1e-9 && y[1] < x[1] + front.tolerance.latencyMs + 1e-9);
      expect(covered).toBe(true);
    }
    // The LP bound is below the best KLD of every size budget; hull points attain it.
    const bySize = [...mixes].sort((a, b) => a[0] - b[0]);
    let best = Infinity;
    bySize.forEach((x, i) => {
      best = Math.min(best, x[2]);
      if (i + 1 < bySize.length && (bySize[i + 1] as Vector)[0] === x[0]) return;
      expect(kldLowerBound(front, x[0])).toBeLessThanOrEqual(best + 1e-12);
    });
    missed += bruteFront(dense).length - points.length;
    for (const h of front.hull) expect(kldLowerBound(front, h.sizeBytes)).toBeCloseTo(h.kld, 12);
    expect(kldLowerBound(front, (front.hull[0]?.sizeBytes as number) - 1)).toBe(Infinity);
  });

  it("(the coarse grids above did leave points out, so the guarantee was exercised)", () => {
    expect(missed).toBeGreaterThan(0);
  });

  it("hull points are optimal in size × KLD: no mix is as small and more accurate", () => {
    const dense = parseCostTable(randomTable(21, 6, ["q8_0", "q5_K", "q4_K", "q3_K"], false));
    const front = paretoFront(dense);
    const mixes = allMixes(dense).map((m) => vector(dense, m));
    expect(front.hull.length).toBeGreaterThan(6);
    for (const h of front.hull) expect(mixes.some((y) => y[0] <= h.sizeBytes && y[2] < h.kld - 1e-12)).toBe(false);
  });
});

describe("weightedSumMix: equals brute force", () => {
  it.each([31, 32, 33, 34, 35, 36, 37, 38])("random table %i (5 units × 4 types), random weights", (seed) => {
    const dense = parseCostTable(randomTable(seed, 5, ["q8_0", "q6_K", "q4_K", "q3_K"], false));
    const random = prng(seed * 7);
    for (let k = 0; k < 10; k++) {
      const w: [number, number, number] = [random() / 50, random() / 20, random()];
      const value = (v: Vector): number => w[0] * v[0] + w[1] * v[1] + w[2] * v[2];
      const best = Math.min(...allMixes(dense).map((m) => value(vector(dense, m))));
      expect(value(vector(dense, weightedSumMix(dense, w)))).toBeCloseTo(best, 9);
    }
  });

  it("ties go to the lower KLD, then the smaller type; bad weights are rejected", () => {
    const dense = parseCostTable(TINY);
    expect(Array.from(weightedSumMix(dense, [0, 0, 1]))).toEqual([0, 0, 0]);
    expect(Array.from(weightedSumMix(dense, [1, 0, 0]))).toEqual([2, 2, 2]);
    // All-zero weights: every type ties, the lowest KLD wins.
    expect(Array.from(weightedSumMix(dense, [0, 0, 0]))).toEqual([0, 0, 0]);
    expect(() => weightedSumMix(dense, [-1, 0, 1])).toThrow("weights[0] must be a finite number ≥ 0 (got -1)");
  });
});

describe("paretoFront: bounds focus the DP on the user's limits", () => {
  it.each([41, 42, 43, 44, 45])("random integer table %i: the best mix within the bounds is found exactly", (seed) => {
    const dense = parseCostTable(randomTable(seed, 5, ["q8_0", "q6_K", "q4_K", "q3_K"]));
    const vectors = allMixes(dense).map((m) => vector(dense, m));
    const random = prng(seed);
    const [s0, s1] = [Math.min(...vectors.map((v) => v[0])), Math.max(...vectors.map((v) => v[0]))];
    const [l0, l1] = [Math.min(...vectors.map((v) => v[1])), Math.max(...vectors.map((v) => v[1]))];
    for (let k = 0; k < 5; k++) {
      const bounds = { sizeBytes: Math.floor(s0 + random() * (s1 - s0)), latencyMs: Math.floor(l0 + random() * (l1 - l0)) };
      const inside = (v: Vector): boolean => v[0] <= bounds.sizeBytes && v[1] <= bounds.latencyMs;
      const best = Math.min(...vectors.filter(inside).map((v) => v[2]));
      // A grid as fine as the bytes and milliseconds inside the bounds: nothing is displaced.
      const front = paretoFront(dense, { grid: { memory: 128, latency: 128 }, bounds, weightingSteps: 0 });
      const dp = front.points.filter((p) => p.origin === "dp").map((p) => vector(dense, p.mix));
      expect(dp.every(inside)).toBe(true);
      expect(Math.min(...front.points.map((p) => vector(dense, p.mix)).filter(inside).map((v) => v[2]))).toBe(best);
    }
  });

  it.each([51, 52, 53, 54])("random real-valued table %i, coarse grid: every mix ε inside the bounds is covered within them", (seed) => {
    const dense = parseCostTable(randomTable(seed, 6, ["q8_0", "q6_K", "q5_K", "q4_K"], false));
    const vectors = allMixes(dense).map((m) => vector(dense, m));
    const random = prng(seed);
    const [s0, s1] = [Math.min(...vectors.map((v) => v[0])), Math.max(...vectors.map((v) => v[0]))];
    const [l0, l1] = [Math.min(...vectors.map((v) => v[1])), Math.max(...vectors.map((v) => v[1]))];
    let checked = 0;
    for (let k = 0; k < 4; k++) {
      const bounds = { sizeBytes: s0 + (0.3 + 0.7 * random()) * (s1 - s0), latencyMs: l0 + (0.3 + 0.7 * random()) * (l1 - l0) };
      const front = paretoFront(dense, { grid: { memory: 16, latency: 4 }, bounds, weightingSteps: 0 });
      const within = front.points.map((p) => vector(dense, p.mix)).filter((v) => v[0] <= bounds.sizeBytes && v[1] <= bounds.latencyMs);
      const { sizeBytes: es, latencyMs: el } = front.tolerance;
      for (const x of vectors) {
        if (x[0] > bounds.sizeBytes - es || x[1] > bounds.latencyMs - el) continue;
        checked++;
        expect(within.some((y) => y[2] <= x[2])).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("a bound below every mix leaves the DP empty; bad bounds are rejected", () => {
    const front = paretoFront(TINY, { bounds: { sizeBytes: 100 } });
    expect(front.points.some((p) => p.origin === "dp")).toBe(false);
    expect(front.points.length).toBeGreaterThan(0);
    expect(() => paretoFront(TINY, { bounds: { memoryBytes: 1 } as never })).toThrow('unknown bound "memoryBytes" (expected sizeBytes, latencyMs)');
    expect(() => paretoFront(TINY, { bounds: { latencyMs: -1 } })).toThrow("options.bounds.latencyMs must be a positive number (got -1)");
  });
});

describe("paretoFront: options", () => {
  it("rejects a bad grid", () => {
    expect(() => paretoFront(TINY, { grid: { memory: 0 } })).toThrow("options.grid.memory must be at least 1 (got 0)");
    expect(() => paretoFront(TINY, { grid: { latency: 1.5 } })).toThrow("options.grid.latency must be a non-negative integer (got 1.5)");
    expect(() => paretoFront(TINY, { grid: { memory: 1 << 13, latency: 1 << 12 } })).toThrow("options.grid must have at most 2^24 cells (got 8192 × 4096)");
  });

  it("with one type per unit the front is that single mix", () => {
    const dense = parseCostTable({ ...TINY, types: ["q8_0"], units: TINY.units.map((u) => ({ ...u, costs: { q8_0: u.costs.q8_0 } })) });
    const front = paretoFront(dense);
    expect(front.points.map((p) => vector(dense, p.mix))).toEqual([[132, 27, 0.5]]);
    expect(front.tolerance).toEqual({ sizeBytes: 0, latencyMs: 0 });
    expect(front.toleranceBound).toEqual({ sizeBytes: 0, latencyMs: 0 });
  });
});
