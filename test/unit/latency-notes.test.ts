import { describe, expect, it } from "vitest";
import { latencyNotes } from "../../lib/cli/latency-notes.js";
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
