// scripts/bench/eta-lines.ts: the ETA benchmark's reading of progress lines, on lines written by hand.
import { describe, expect, it } from "vitest";
import { etaReadings, etaSummary, parseDuration, stepGroup, stepTimes } from "../../scripts/bench/eta-lines.js";

describe("the ETA benchmark's parser", () => {
  it("reads formatDuration's forms", () => {
    expect(parseDuration("42s")).toBe(42_000);
    expect(parseDuration("3m05s")).toBe(185_000);
    expect(parseDuration("1h02m")).toBe(3_720_000);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
  });

  it("compares each shown ETA with what was left, at the first, middle and last step", () => {
    const lines = [
      { atMs: 0, text: "[1/3] similarity: started" },
      { atMs: 1000, text: "[1/3, ETA 1m00s] similarity: 50% (1s)" },
      { atMs: 30_000, text: "[2/3, ETA 40s] sensitivity probes: 10% (2s), probe 3 of 31" },
      { atMs: 50_000, text: "[3/3, ETA 5s] assemble: started" },
      { atMs: 52_000, text: "note: something else" },
    ];
    const readings = etaReadings(lines, 60_000);
    expect(readings.map((r) => [r.index, r.step, r.etaMs, r.leftMs])).toEqual([
      [1, "similarity", 60_000, 59_000],
      [2, "sensitivity probes", 40_000, 30_000],
      [3, "assemble", 5000, 10_000],
    ]);
    const s = etaSummary(readings, 0, 60_000);
    expect(s.map((x) => [x.at, x.reading.index])).toEqual([["first", 1], ["middle", 2], ["last step", 3]]);
    expect(s[2]!.error).toBeCloseTo(-0.5, 12);
  });

  it("times each numbered step from its first line to the next step's first line", () => {
    const lines = [
      { atMs: 0, text: "[1/3] quantize q4_K: started" },
      { atMs: 4000, text: "[1/3, ETA 1m00s] quantize q4_K: 50% (4s)" },
      { atMs: 9000, text: "note: between steps" },
      { atMs: 10_000, text: "[2/3, ETA 40s] sensitivity probes: 10% (2s)" },
      { atMs: 50_000, text: "[3/3] assemble: started" },
    ];
    expect(stepTimes(lines, 51_000)).toEqual([
      { index: 1, step: "quantize q4_K", ms: 10_000 },
      { index: 2, step: "sensitivity probes", ms: 40_000 },
      { index: 3, step: "assemble", ms: 1000 },
    ]);
    expect(stepTimes(lines, 51_000).map((t) => stepGroup(t.step))).toEqual(["uniform files (quantize)", "sensitivity probes", "assembly"]);
  });
});
