import { describe, expect, it } from "vitest";
import { noiseWarnings, withSpread } from "../../lib/method/noise.js";

describe("noise warnings", () => {
  it("flags a spread above half the mean, and neighbours closer than their spreads together (hand-worked)", () => {
    // issue 13's case: q8_0 measured 8 ± 51 ms; |8 − 6| = 2 < 51 + 0.2
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, spread: 51 },
      { type: "q4_K", value: 6, spread: 0.2 },
    ])).toEqual([
      "latency of q8_0 is 8 ± 51 ms/token: its spread exceeds half its mean, so plans that weigh latency rest on noise",
      "latency of q8_0 and q4_K differ by 2 ms/token, less than their spreads together (± 51, ± 0.2): the plan cannot tell them apart on latency",
    ]);
  });

  it("says nothing when the differences stand out of the spread, and at the boundary", () => {
    // |10 − 9| = 1 = 0.5 + 0.5: not less than the spreads together
    expect(noiseWarnings("perplexity", "", [
      { type: "q8_0", value: 9, spread: 0.5 },
      { type: "q4_K", value: 10, spread: 0.5 },
      { type: "q3_K", value: 14, spread: 0.6 },
    ])).toEqual([]);
    expect(noiseWarnings("perplexity", "", [
      { type: "q8_0", value: 9, spread: 0.5 },
      { type: "q4_K", value: 9.9, spread: 0.5 },
    ])).toEqual(["perplexity of q8_0 and q4_K differ by 0.9, less than their spreads together (± 0.5, ± 0.5): the plan cannot tell them apart on perplexity"]);
  });

  it("skips points without a measured spread", () => {
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, spread: Number.NaN },
      { type: "q4_K", value: 8, spread: 0.1 },
    ])).toEqual([]);
  });

  it("writes a value with its spread", () => {
    expect(withSpread(3.01234, 0.04123)).toBe("3.012 ± 0.04123");
    expect(withSpread(3.01234, undefined)).toBe("3.012");
  });
});

describe("noise warnings on the protocol's intervals", () => {
  it("flags an interval wider than its median, and neighbours whose intervals overlap (hand-worked)", () => {
    // q8_0: half-width (30 − 2) / 2 = 14 > 0.5 × 8; [2, 30] and [5.5, 7.5] overlap; [5.5, 7.5] and [3, 4] do not
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, interval: { low: 2, high: 30 } },
      { type: "q4_K", value: 6, interval: { low: 5.5, high: 7.5 } },
      { type: "q3_K", value: 3.5, interval: { low: 3, high: 4 } },
    ])).toEqual([
      "latency of q8_0 is 8 ms/token [2, 30]: the interval is wider than the median, so plans that weigh latency rest on noise",
      "latency of q8_0 (8 ms/token [2, 30]) and q4_K (6 ms/token [5.5, 7.5]) overlap, not separable here: the plan cannot tell them apart on latency",
    ]);
  });

  it("treats intervals that only touch as apart, and a mixed pair by its ranges", () => {
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, interval: { low: 7, high: 9 } },
      { type: "q4_K", value: 6, interval: { low: 5, high: 7 } },
    ])).toEqual([]);
    // 6 ± 1.5 is [4.5, 7.5], which reaches into [7, 9]
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, interval: { low: 7, high: 9 } },
      { type: "q4_K", value: 6, spread: 1.5 },
    ])).toEqual(["latency of q8_0 (8 ms/token [7, 9]) and q4_K (6 ± 1.5 ms/token) overlap, not separable here: the plan cannot tell them apart on latency"]);
  });

  it("skips an interval that is not one", () => {
    expect(noiseWarnings("latency", "ms/token", [
      { type: "q8_0", value: 8, interval: { low: 9, high: 7 } },
      { type: "q4_K", value: 8, interval: { low: 7.9, high: 8.1 } },
    ])).toEqual([]);
  });
});
