/**
 * The shapes of the pipeline's cached JSON values, as their writers produce them: what
 * readCachedJson checks when an entry is read back (issue 22). A value that departs from its
 * shape (garbage, a null where a number was written) is a damaged entry, recomputed, never
 * passed on to a table that would throw on it.
 */
import type { Shape } from "../cache/read.js";

// a standard error over fewer than two tokens is NaN natively, null once written as JSON: allowed
const KLD = { mean: "number", stderr: ["nullable", "number"], sameTopPercent: "number" } as const satisfies Shape;

/** probe.json of a sensitivity probe (ProbeKld): what it cost, and its paired Δ's error (NaN → null) */
export const PROBE_SHAPE: Shape = {
  ...KLD,
  tokens: ["optional", "count"],
  forwardTokens: ["optional", "number"],
  deltaStderr: ["optional", ["nullable", "number"]],
  startBlock: ["optional", "count"],
};

const INTERVAL = { low: "number", high: "number", coverage: "number", samples: "count" } as const satisfies Shape;

/** result.json of a latency measurement (LatencyMetrics; the optional fields are absent in older entries). */
export const LATENCY_SHAPE: Shape = {
  latencyMsPerToken: "number",
  latencyMsPerTokenSd: "number",
  tokensPerSecond: "number",
  promptTokensPerSecond: ["nullable", "number"],
  latencyInterval: ["optional", INTERVAL],
  promptMsPerToken: ["optional", ["nullable", { ...INTERVAL, median: "number" }]],
  latencyMachine: ["optional", { busy: "boolean", reasons: ["array", "string"] }],
};

/** result.json of an accuracy measurement (AccuracyMetrics). */
export const ACCURACY_SHAPE: Shape = { perplexity: "number", perplexityStderr: ["nullable", "number"], evalTokens: "count", kld: ["optional", KLD] };

/** result.json of the unit matmul costs: ms per row by (type, shape) key. */
export const MATMUL_COSTS_SHAPE: Shape = ["record", "number"];
