/**
 * countTokens(): how many tokens a text gives with a model's tokenizer, loading the vocabulary
 * only (no weights), so what a step needs of a text can be checked before any long work.
 */
import { invalidOption } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import type { JobOptions } from "../core/job-options.js";
import { requireInt, requireOptions, validateJobOptions } from "../core/validate.js";
import { binding } from "../native/binding.js";
import { runJob } from "../native/job.js";

export interface CountTokensOptions extends JobOptions {
  readonly model: string;
  readonly text: string;
  /** stop once a prefix of the text gives at least this many tokens (as perplexity does with a chunk count) */
  readonly atLeast?: number;
}

export interface TokenCount {
  /** tokens with the model's BOS rule (perplexity's) */
  readonly tokens: number;
  /** whether `tokens` counts the whole text (false: a prefix already gave at least `atLeast`) */
  readonly complete: boolean;
}

/**
 * @example
 * await countTokens({ model: "m.gguf", text: "Hello world", atLeast: 1024 }) // { tokens: 3, complete: true }
 */
export async function countTokens(options: CountTokensOptions): Promise<TokenCount> {
  requireOptions(options, "countTokens");
  validateJobOptions(options);
  const model = await requireInputFile(options.model, "model");
  if (typeof options.text !== "string") throw invalidOption("text", "a string", options.text);
  const atLeast = options.atLeast === undefined ? undefined : requireInt(options.atLeast, "atLeast", 1);
  return runJob(options, (job) => binding().countTokens({ model, text: options.text, ...(atLeast !== undefined ? { atLeast } : {}), ...job }));
}
