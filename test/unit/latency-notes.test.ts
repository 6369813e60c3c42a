import { describe, expect, it } from "vitest";
import { busyLatencyWarning, latencyNotes, profileLatencyProblems } from "../../lib/cli/latency-notes.js";
import { formatLatency, formatPerplexity } from "../../lib/core/format.js";
import { latencyOverlaps, type LatencyMetrics } from "../../lib/pipeline/measure-file.js";

const m = (median: number, low: number, high: number, busy = false): Partial<LatencyMetrics> => ({
  latencyMsPerToken: median,
  latencyInterval: { low, high, coverage: 62 / 64, samples: 6 },
  latencyMachine: { busy, reasons: busy ? ["load average 3.50 on 2 CPUs at the start"] : [] },
});

describe("latency output", () => {
  it("prints the median with its interval", () => {
    expect(formatLatency(m(12.3, 11.9, 12.8))).toBe("12.3 ms/token [11.9, 12.8]");
    expect(formatLatency({ latencyMsPerToken: 12.3 })).toBe("12.3 ms/token"); // an estimate
    // a profile from before the protocol: its sd, said to be one; the interval wins where both are there
    expect(formatLatency({ latencyMsPerToken: 12.3, latencyMsPerTokenSd: 0.41 })).toBe("12.3 ms/token ± 0.41 sd");
    expect(formatLatency({ ...m(12.3, 11.9, 12.8), latencyMsPerTokenSd: 30 })).toBe("12.3 ms/token [11.9, 12.8]");
    expect(formatLatency(m(12.3, 11.9, 12.8), "")).toBe("12.3 [11.9, 12.8]");
    expect(formatLatency({})).toBe("");
  });

  it("prints perplexity ± its stderr, or alone for an estimate", () => {
    expect(formatPerplexity({ perplexity: 56.4213, perplexityStderr: 10.534 })).toBe("56.42 ± 10.53");
    expect(formatPerplexity({ perplexity: 56.51 })).toBe("56.51");
    expect(formatPerplexity({ perplexity: Number.NaN })).toBe("");
  });

  it("finds overlapping files, skipping files without an interval", () => {
    expect(latencyOverlaps([m(10, 9, 11), { latencyMsPerToken: 5 }, m(10.5, 10.8, 12), m(20, 19, 21)])).toEqual([[2], null, [0], []]);
  });

  it("says which files are not separable and that the machine was busy", () => {
    expect(latencyNotes(["q8_0", "q6_K", "q4_K"], [m(10, 9, 11), m(10.5, 10.8, 12, true), m(7, 6.5, 7.5)])).toEqual([
      "latency: median of 6 interleaved rounds, [low, high] a distribution-free interval for it (96.9% coverage)",
      "not separable here (latency intervals overlap): q8_0 ~ q6_K",
      "the machine was busy while measuring latency: load average 3.50 on 2 CPUs at the start; timings may be slow and noisy",
    ]);
  });
});

// issue 26: a busy measurement is named on every use of a plan; profile refuses latencies that cannot separate the types
describe("latencies not to be trusted silently", () => {
  it("a plan on a busy measurement carries a warning naming the files and the load", () => {
    expect(busyLatencyWarning(["q8_0", "q4_K"], [m(10, 9, 11), m(7, 6.5, 7.5)])).toBeUndefined();
    const w = busyLatencyWarning(["q8_0", "q6_K", "q4_K"], [m(10, 9, 11), m(660, 650, 670, true), undefined]);
    expect(w).toMatch(/^the latencies of q6_K were measured on a busy machine \(load average 3\.50 on 2 CPUs at the start\): /);
    expect(w).toMatch(/measure again on a quiet machine/);
  });

  it("profile's reasons to refuse: overlapping intervals (each pair once) and a busy machine", () => {
    expect(profileLatencyProblems(["q8_0", "q4_K"], [m(10, 9, 11), m(7, 6.5, 7.5)])).toEqual([]);
    expect(profileLatencyProblems(["q8_0", "q6_K", "q4_K"], [m(10, 9, 11), m(10.5, 10.8, 12), m(7, 6.5, 7.5)])).toEqual([
      "q8_0 and q6_K cannot be told apart: their intervals [9, 11] and [10.8, 12] ms/token overlap",
    ]);
    // separable but busy (issue 26's 660 against 72 ms/token): refused all the same
    expect(profileLatencyProblems(["q8_0", "q4_K"], [m(660, 650, 670, true), m(72, 70, 74, true)])).toEqual([
      "the machine was busy while measuring (load average 3.50 on 2 CPUs at the start)",
    ]);
    // one round: a point, not an interval
    const one = (x: number): Partial<LatencyMetrics> => ({ latencyMsPerToken: x, latencyInterval: { low: x, high: x, coverage: 0, samples: 1 } });
    expect(profileLatencyProblems(["q8_0", "q4_K"], [one(20), one(11)])).toEqual(["1 round gives an interval that holds the median 0.0% of the time (6 or more give 95%: --reps 6)"]);
  });
});
