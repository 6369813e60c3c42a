// The user's limits in a cost table's terms, for `--method front` (pure). A table's accuracy
// column is either measured KLD (a Δ table from probes) or, from today's estimators, the
// profile's perplexity; each limit is honoured only where the column can answer it, never by
// converting one metric into the other (cost-table.ts says why).
import { MethodInputError } from "./errors.js";
import type { FrontConstraints } from "./choose.js";
import type { FrontOptions } from "./front.js";

/** The limits `--method front` honours (the paper's three, and the front's own): chooseOnFront's constraints. */
export type FrontLimits = FrontConstraints;

/** What the cost table's accuracy column holds. */
export type AccuracyColumn = "kld" | "perplexity";

/**
 * The user's limits in the table's terms: with a perplexity column `--max-perplexity` bounds it
 * and `--max-kld` cannot be honoured; with a KLD column the reverse (KLD is never converted to
 * perplexity: cost-table.ts says why).
 *
 * @example
 * frontConstraints({ maxPerplexity: 20 }, "perplexity") // { maxKld: 20 }: the column holds perplexity
 */
export function frontConstraints(limits: FrontLimits, accuracy: AccuracyColumn): FrontConstraints {
  const { maxKld, maxPerplexity, ...rest } = limits;
  if (accuracy === "perplexity") {
    if (maxKld !== undefined) {
      throw new MethodInputError("--max-kld needs a measured KLD table (score with --sensitivity measured); this plan's accuracy is the profile's perplexity");
    }
    return { ...rest, ...(maxPerplexity !== undefined ? { maxKld: maxPerplexity } : {}) };
  }
  if (maxPerplexity !== undefined) {
    throw new MethodInputError("--max-perplexity cannot be estimated from a KLD table (KLD is not converted to perplexity); use --max-kld, or the paper's method");
  }
  return { ...rest, ...(maxKld !== undefined ? { maxKld } : {}) };
}

/** DP bounds from the limits, so the front's grid is spent inside them. */
export function frontBounds(c: Pick<FrontLimits, "maxMemoryBytes" | "maxLatencyMs" | "targetSizeBytes">, runtimeBytes = 0): FrontOptions["bounds"] {
  const sizes = [c.targetSizeBytes, c.maxMemoryBytes === undefined ? undefined : c.maxMemoryBytes - runtimeBytes].filter((x): x is number => x !== undefined);
  return {
    ...(sizes.length > 0 ? { sizeBytes: Math.min(...sizes) } : {}),
    ...(c.maxLatencyMs !== undefined ? { latencyMs: c.maxLatencyMs } : {}),
  };
}

