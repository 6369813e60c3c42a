/**
 * When a plan leans on measurements that do not separate what it decides between: a latency whose
 * interval (or spread) is large against its median, or two candidate types whose measurements
 * overlap (latency: their distribution-free intervals, as the interleaved protocol reports them,
 * or mean ± sd from an older profile; perplexity: value ± stderr). The plan still runs; the user is
 * told which of its inputs are noise (issue 13: on a busy machine a plan chose all-q8_0 on a
 * latency of 8 ± 51 ms).
 */

/**
 * One type's measurement of one criterion: a value with a symmetric spread (sd or stderr, same
 * unit), or a median with the interval the latency protocol gives it.
 */
export type MeasuredPoint =
  | { readonly type: string; readonly value: number; readonly spread: number }
  | { readonly type: string; readonly value: number; readonly interval: { readonly low: number; readonly high: number } };

/** How large a spread is "large against its mean": half the mean (for an interval: its half-width). */
export const LARGE_RELATIVE_SPREAD = 0.5;

/** The point as a closed range [low, high] and how it is written, or null when nothing usable was measured. */
function rangeOf(p: MeasuredPoint, u: string): { low: number; high: number; halfWidth: number; text: string; range: string } | null {
  if (!Number.isFinite(p.value)) return null;
  if ("interval" in p) {
    const { low, high } = p.interval;
    if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) return null;
    const range = `[${fmt(low)}, ${fmt(high)}]`;
    return { low, high, halfWidth: (high - low) / 2, text: `${fmt(p.value)}${u} ${range}`, range };
  }
  if (!Number.isFinite(p.spread) || p.spread < 0) return null;
  return { low: p.value - p.spread, high: p.value + p.spread, halfWidth: p.spread, text: `${fmt(p.value)} ± ${fmt(p.spread)}${u}`, range: `± ${fmt(p.spread)}` };
}

/**
 * Warnings for one criterion measured over the candidate types (in the plan's order, least to most
 * aggressive): a spread above LARGE_RELATIVE_SPREAD of the value (an interval wider than the
 * median), and neighbouring types whose ranges overlap (value ± spread, or the intervals; ranges
 * that only touch are apart). Points with nothing usable measured are skipped.
 *
 * @example
 * noiseWarnings("latency", "ms/token", [
 *   { type: "q8_0", value: 8, spread: 51 },
 *   { type: "q4_K", value: 6, spread: 0.2 },
 * ])
 * // ["latency of q8_0 is 8 ± 51 ms/token: its spread exceeds half its mean, so plans that weigh latency rest on noise",
 * //  "latency of q8_0 and q4_K differ by 2 ms/token, less than their spreads together (± 51, ± 0.2): the plan cannot tell them apart on latency"]
 * noiseWarnings("latency", "ms/token", [
 *   { type: "q8_0", value: 8, interval: { low: 7, high: 9 } },
 *   { type: "q4_K", value: 6, interval: { low: 5.5, high: 7.5 } },
 * ])
 * // ["latency of q8_0 (8 ms/token [7, 9]) and q4_K (6 ms/token [5.5, 7.5]) overlap, not separable here: the plan cannot tell them apart on latency"]
 */
export function noiseWarnings(criterion: string, unit: string, points: readonly MeasuredPoint[]): string[] {
  const u = unit === "" ? "" : ` ${unit}`;
  const usable = points.flatMap((p) => {
    const r = rangeOf(p, u);
    return r ? [{ p, r }] : [];
  });
  const out: string[] = [];
  for (const { p, r } of usable) {
    if (r.halfWidth > LARGE_RELATIVE_SPREAD * Math.abs(p.value)) {
      out.push(
        "interval" in p
          ? `${criterion} of ${p.type} is ${r.text}: the interval is wider than the median, so plans that weigh ${criterion} rest on noise`
          : `${criterion} of ${p.type} is ${r.text}: its spread exceeds half its mean, so plans that weigh ${criterion} rest on noise`,
      );
    }
  }
  for (let i = 1; i < usable.length; i++) {
    const a = usable[i - 1]!;
    const b = usable[i]!;
    if (!(a.r.low < b.r.high && b.r.low < a.r.high)) continue;
    out.push(
      "interval" in a.p || "interval" in b.p
        ? `${criterion} of ${a.p.type} (${a.r.text}) and ${b.p.type} (${b.r.text}) overlap, not separable here: the plan cannot tell them apart on ${criterion}`
        : `${criterion} of ${a.p.type} and ${b.p.type} differ by ${fmt(Math.abs(a.p.value - b.p.value))}${u}, less than their spreads together (${a.r.range}, ${b.r.range}): ` +
            `the plan cannot tell them apart on ${criterion}`,
    );
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
