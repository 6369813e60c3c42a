/**
 * When a plan leans on measurements that do not separate what it decides between: a latency whose
 * spread (sd over repetitions) is large against its mean, or two candidate types whose measured
 * difference is inside their combined spread (sd for latency, stderr for perplexity). The plan
 * still runs; the user is told which of its inputs are noise (issue 13: on a busy machine a plan
 * chose all-q8_0 on a latency of 8 ± 51 ms).
 */

/** One type's measurement of one criterion, with its spread (sd or stderr, same unit). */
export interface MeasuredPoint {
  readonly type: string;
  readonly value: number;
  readonly spread: number;
}

/** How large a spread is "large against its mean": half the mean. */
export const LARGE_RELATIVE_SPREAD = 0.5;

/**
 * Warnings for one criterion measured over the candidate types (in the plan's order, least to most
 * aggressive): a spread above LARGE_RELATIVE_SPREAD of the value, and neighbouring types whose
 * difference is smaller than the sum of their spreads. Points with no spread measured are skipped.
 *
 * @example
 * noiseWarnings("latency", "ms/token", [
 *   { type: "q8_0", value: 8, spread: 51 },
 *   { type: "q4_K", value: 6, spread: 0.2 },
 * ])
 * // ["latency of q8_0 is 8 ± 51 ms/token: its spread exceeds half its mean, so plans that weigh latency rest on noise",
 * //  "latency of q8_0 and q4_K differ by 2 ms/token, less than their spreads together (± 51, ± 0.2): the plan cannot tell them apart on latency"]
 */
export function noiseWarnings(criterion: string, unit: string, points: readonly MeasuredPoint[]): string[] {
  const u = unit === "" ? "" : ` ${unit}`;
  const usable = points.filter((p) => Number.isFinite(p.value) && Number.isFinite(p.spread) && p.spread >= 0);
  const out: string[] = [];
  for (const p of usable) {
    if (p.spread > LARGE_RELATIVE_SPREAD * Math.abs(p.value)) {
      out.push(`${criterion} of ${p.type} is ${fmt(p.value)} ± ${fmt(p.spread)}${u}: its spread exceeds half its mean, so plans that weigh ${criterion} rest on noise`);
    }
  }
  for (let i = 1; i < usable.length; i++) {
    const a = usable[i - 1]!;
    const b = usable[i]!;
    const diff = Math.abs(a.value - b.value);
    if (diff < a.spread + b.spread) {
      out.push(
        `${criterion} of ${a.type} and ${b.type} differ by ${fmt(diff)}${u}, less than their spreads together (± ${fmt(a.spread)}, ± ${fmt(b.spread)}): ` +
          `the plan cannot tell them apart on ${criterion}`,
      );
    }
  }
  return out;
}

/**
 * A value with its spread for tables: `3.012 ± 0.041`.
 *
 * @example
 * withSpread(3.01234, 0.04123) // "3.012 ± 0.04123"
 * withSpread(3.01234, undefined) // "3.012"
 */
export function withSpread(value: number, spread: number | undefined, digits = 4): string {
  return spread === undefined || !Number.isFinite(spread) ? fmt(value, digits) : `${fmt(value, digits)} ± ${fmt(spread, digits)}`;
}

function fmt(value: number, digits = 4): string {
  return String(Number(value.toPrecision(digits)));
}
