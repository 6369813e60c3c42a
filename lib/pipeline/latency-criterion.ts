/**
 * Which latency a plan, a front or a sweep optimizes: `decode` (ms per generated token, llama-bench's
 * tg; the paper's latency and the default) or `prefill` (ms per prompt token, llama-bench's pp, one
 * ubatch at a time). Every latency measurement records both (measure-file.ts); the criterion picks
 * which one fills `latencyMsPerToken` (and its sd and interval) in the views the method reads, so the
 * method, the estimators and the cost tables need not know which it is.
 */
import { InputError } from "../core/errors.js";
import type { GgmlType } from "../method/types.js";
import type { LatencyMetrics } from "./measure-file.js";
import type { ProfileFile, TypeMeasurements } from "./profile-file.js";

export type LatencyCriterion = "decode" | "prefill";
export const LATENCY_CRITERIA: readonly LatencyCriterion[] = ["decode", "prefill"];

/** What one ms/token figure means under a criterion, for tables and notes. */
export const CRITERION_UNIT: Readonly<Record<LatencyCriterion, string>> = {
  decode: "ms per generated token (decode)",
  prefill: "ms per prompt token (prefill)",
};

/**
 * A measurement whose `latencyMsPerToken`, `latencyMsPerTokenSd`, `tokensPerSecond` and
 * `latencyInterval` are the criterion's (unchanged for decode). For prefill the sd is half the
 * median's interval (the protocol keeps no prefill sd); a measurement without a prefill median
 * (measured with --n-prompt 0, or before prefill was recorded) is an error naming `what`. A value
 * with no latency at all is returned as it is.
 *
 * @example
 * latencyFor({ latencyMsPerToken: 20, latencyMsPerTokenSd: 1, promptMsPerToken: { median: 2, low: 1.8, high: 2.4, coverage: 0.97, samples: 6 } }, "prefill", "q4_K")
 * // { latencyMsPerToken: 2, latencyMsPerTokenSd: 0.3, tokensPerSecond: 500, latencyInterval: { low: 1.8, high: 2.4, coverage: 0.97, samples: 6 }, promptMsPerToken: … }
 */
export function latencyFor<T extends Partial<LatencyMetrics>>(m: T, criterion: LatencyCriterion, what: string): T {
  if (criterion === "decode" || m.latencyMsPerToken === undefined) return m;
  const p = m.promptMsPerToken;
  if (p === undefined || p === null) {
    throw new InputError(
      `${what} has no prefill latency (measured with --n-prompt 0, or by an older apreqel); measure it again with --n-prompt > 0 (e.g. \`apreqel profile\` with its defaults), or use --latency decode`,
    );
  }
  return {
    ...m,
    latencyMsPerToken: p.median,
    latencyMsPerTokenSd: (p.high - p.low) / 2,
    tokensPerSecond: 1000 / p.median,
    latencyInterval: { low: p.low, high: p.high, coverage: p.coverage, samples: p.samples },
  };
}

/**
 * The profile with every type's latency the criterion's ({@link latencyFor}); the same object for
 * decode.
 *
 * @example
 * profileForCriterion(profile, "prefill").types.q4_K?.latencyMsPerToken // profile.types.q4_K.promptMsPerToken.median
 */
export function profileForCriterion(profile: ProfileFile, criterion: LatencyCriterion): ProfileFile {
  if (criterion === "decode") return profile;
  const types: Partial<Record<GgmlType, TypeMeasurements>> = {};
  for (const [type, entry] of Object.entries(profile.types) as [GgmlType, TypeMeasurements][]) {
    types[type] = latencyFor(entry as TypeMeasurements & Partial<LatencyMetrics>, criterion, `the profile's ${type} entry`);
  }
  return { ...profile, types };
}
