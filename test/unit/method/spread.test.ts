import { describe, expect, it } from "vitest";
import { estimateMix, paretoFront, parseCostTable } from "../../../lib/method/index.js";
import { spreadOnFront } from "../../../lib/method/spread.js";
import { TINY } from "./helpers.js";

// All 27 mixes of the 3 × 3 table, by brute force.
const dense = parseCostTable(TINY);
const all = Array.from({ length: 27 }, (_, i) => estimateMix(dense, Uint8Array.of(i % 3, Math.floor(i / 3) % 3, Math.floor(i / 9))));

describe("spreadOnFront", () => {
  const front = paretoFront(TINY, { grid: { memory: 64, latency: 64 } });

  it("K = 3 on the 3 × 3 table: the smallest mix is also the fastest (merged), the most accurate, and one between", () => {
    const mixes = spreadOnFront(front, 3);
    expect(mixes.map((m) => m.name)).toEqual(["memory", "front-1", "accuracy"]);
    // hand-worked: all q4_K is 116 bytes, 18 ms, KLD 11.5 (smallest and fastest); all q8_0 132 bytes, KLD 0.5
    expect(mixes[0]!.choice.estimate).toMatchObject({ sizeBytes: 116, latencyMsPerToken: 18, kld: 11.5 });
    expect(mixes[0]!.selections).toEqual([{ by: "extreme", criterion: "memory" }, { by: "extreme", criterion: "latency" }]);
    expect(mixes[2]!.choice.estimate).toMatchObject({ sizeBytes: 132, kld: 0.5 });
    // the middle one is the brute-force most accurate mix within its memory limit
    const middle = mixes[1]!;
    const selection = middle.selections[0]!;
    expect(selection.by).toBe("weights");
    const limit = "limits" in selection ? selection.limits.maxMemoryBytes : 0;
    expect(middle.choice.estimate.memoryBytes).toBeLessThanOrEqual(limit);
    const best = Math.min(...all.filter((e) => e.memoryBytes <= limit).map((e) => e.kld));
    expect(middle.choice.estimate.kld).toBe(best);
  });

  it("gives distinct mixes, smallest first, never more than asked or than the front has", () => {
    for (const k of [1, 2, 4, 6, 40]) {
      const mixes = spreadOnFront(front, k);
      expect(mixes.length).toBeLessThanOrEqual(Math.min(k, front.points.length));
      const keys = mixes.map((m) => Array.from(m.choice.point.mix).join());
      expect(new Set(keys).size).toBe(keys.length);
      const sizes = mixes.map((m) => m.choice.estimate.sizeBytes);
      expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    }
    expect(spreadOnFront(front, 1).map((m) => m.name)).toEqual(["accuracy"]);
    expect(spreadOnFront(front, 2).map((m) => m.name)).toEqual(["memory", "accuracy"]);
    expect(spreadOnFront(front, 6).length).toBeGreaterThanOrEqual(4);
    expect(() => spreadOnFront(front, 0)).toThrow("count must be a whole number ≥ 1 (got 0)");
  });
});
