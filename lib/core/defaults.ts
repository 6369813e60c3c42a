/**
 * The run defaults the lowest layers need (ops/ validates and defaults its own options; it cannot
 * import lib/pipeline): the one place these numbers are written. lib/pipeline/settings.ts's
 * `DEFAULTS` table is the whole set and refers to these.
 */

/** Tokens per window of perplexity, the calibration pass and the probes: llama-perplexity's -c default. */
export const DEFAULT_CTX = 512;

/**
 * The latency protocol: generated tokens and prompt tokens per run (llama-bench's tg 128 and pp
 * 512), interleaved rounds; 6 is the fewest whose [min, max] is a 95% interval for the median.
 */
export const DEFAULT_LATENCY_PROTOCOL = { nGen: 128, nPrompt: 512, reps: 6 } as const;
