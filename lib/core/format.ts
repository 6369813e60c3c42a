/** Number formatting shared by the commands' readable (non-JSON) output. */

/**
 * Bytes in decimal units, 3 significant digits.
 *
 * @example
 * formatBytes(4_620_000_000) // "4.62 GB"
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toPrecision(3)} ${units[unit]}`;
}

/**
 * A number to `digits` significant digits without exponent noise.
 *
 * @example
 * formatNumber(25.34567) // "25.35"
 */
export function formatNumber(value: number, digits = 4): string {
  return String(Number(value.toPrecision(digits)));
}

/**
 * Text from a file (metadata, tensor names, an error that quotes them) made safe to print on a
 * terminal: control characters (C0, DEL, C1; ESC starts the sequences that move the cursor,
 * retitle the window or worse) are shown as \u escapes; newlines and tabs stay.
 *
 * @example
 * printable("llama\u001b]0;pwned\u0007") // "llama\\u001b]0;pwned\\u0007"
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The latency fields a measurement may carry (LatencyMetrics in lib/pipeline, Spread in lib/report). */
export interface LatencyFields {
  /** median ms per generated token over the interleaved rounds (older profiles: the mean) */
  readonly latencyMsPerToken?: number;
  /** distribution-free interval of that median (absent in profiles measured before the protocol) */
  readonly latencyInterval?: { readonly low: number; readonly high: number };
  /** sd over the rounds: printed only where no interval was measured */
  readonly latencyMsPerTokenSd?: number;
}

/** Column headers of the tables that print {@link formatLatency} and {@link formatPerplexity}: one wording everywhere. */
export const LATENCY_HEADER = "latency/token [interval]";
export const PERPLEXITY_HEADER = "perplexity ± se";

/**
 * A latency as every table and report prints it: the median with its interval, `[low, high]`;
 * from a profile measured before the interleaved protocol (no interval), `± sd`; an estimate alone.
 * One formatter, so quantize, profile, eval and the report say the same thing.
 *
 * @example
 * formatLatency({ latencyMsPerToken: 12.3, latencyInterval: { low: 11.9, high: 12.8 } }) // "12.3 ms/token [11.9, 12.8]"
 * formatLatency({ latencyMsPerToken: 12.3, latencyMsPerTokenSd: 0.41 }) // "12.3 ms/token ± 0.41 sd"
 * formatLatency({ latencyMsPerToken: 12.3 }, "") // "12.3"
 */
export function formatLatency(m: LatencyFields, unit = " ms/token"): string {
  if (m.latencyMsPerToken === undefined || Number.isNaN(m.latencyMsPerToken)) return "";
  const i = m.latencyInterval;
  const spread = i
    ? ` [${formatNumber(i.low)}, ${formatNumber(i.high)}]`
    : m.latencyMsPerTokenSd !== undefined && Number.isFinite(m.latencyMsPerTokenSd)
      ? ` ± ${formatNumber(m.latencyMsPerTokenSd)} sd`
      : "";
  return `${formatNumber(m.latencyMsPerToken)}${unit}${spread}`;
}

/**
 * A perplexity with its stderr (llama-perplexity's ±), or alone for an estimate.
 *
 * @example
 * formatPerplexity({ perplexity: 56.4213, perplexityStderr: 10.534 }) // "56.42 ± 10.53"
 * formatPerplexity({ perplexity: 56.51 }) // "56.51"
 */
export function formatPerplexity(m: { readonly perplexity?: number; readonly perplexityStderr?: number }): string {
  if (m.perplexity === undefined || Number.isNaN(m.perplexity)) return "";
  const se = m.perplexityStderr;
  return se === undefined || !Number.isFinite(se) ? formatNumber(m.perplexity) : `${formatNumber(m.perplexity)} ± ${formatNumber(se)}`;
}
