/**
 * perplexity(): as llama-perplexity computes it (chunks of nCtx from an empty cache, second half
 * scored, BOS first), optionally with the KL divergence from a base model run side by side.
 */
import { invalidOption } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { binding, type RawPerplexityResult } from "../native/binding.js";
import { runJob } from "../native/job.js";
import { checkOffload, requireInt, validateRun, type ModelRunOptions } from "./run-options.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export interface PerplexityOptions extends ModelRunOptions {
  readonly text: string;
  /** tokens per chunk (llama-perplexity's -c); default 512 */
  readonly nCtx?: number;
  /** evaluate only the first N chunks (--chunks); default all */
  readonly chunks?: number;
  /** logical batch; chunks share a batch when nBatch ≥ 2·nCtx (llama-perplexity's -b, default 2048) */
  readonly nBatch?: number;
  /** a base model (usually the F16/F32 original) for KL divergence */
  readonly klBase?: string;
}

export type PerplexityResult = RawPerplexityResult;

export async function perplexity(options: PerplexityOptions): Promise<PerplexityResult> {
  const run = await validateRun(options, "perplexity");
  if (typeof options.text !== "string" || options.text.length === 0) throw invalidOption("text", "a non-empty string", options.text);
  const nCtx = requireInt(options.nCtx ?? DEFAULT_CTX, "nCtx", 4);
  const nBatch = requireInt(options.nBatch ?? 2048, "nBatch", 1);
  if (nBatch >= nCtx && nBatch % nCtx !== 0) throw invalidOption("nBatch", `a value below nCtx or a multiple of nCtx (${nCtx})`, nBatch);
  const chunks = options.chunks === undefined ? -1 : requireInt(options.chunks, "chunks", 1);
  const klBase = options.klBase === undefined ? undefined : await requireInputFile(options.klBase, "klBase");
  // the base is loaded beside the model, with the same gpuLayers
  if (klBase) await checkOffload([run.model, klBase], run.gpuLayers, options.signal);
  return runJob(options, (job) =>
    binding().perplexity({ ...run, text: options.text, nCtx, nBatch, chunks, ...(klBase ? { klBase } : {}), ...job }),
  );
}
