/**
 * captureSimilarity(): for every calibration token and every block, the cosine similarity of the
 * residual stream across the attention and the FFN sub-layer, computed on the device that runs
 * the layer (vendor/patches/0002-layer-similarity.patch). Layout: cos[t·2B + 2b + (0 attn | 1 ffn)].
 */
import { invalidOption } from "../core/errors.js";
import { binding, type RawCaptureResult } from "../native/binding.js";
import { runJob } from "../native/job.js";
import { optionalBoolean } from "../core/validate.js";
import { requireInt, validateRun, type ModelRunOptions } from "./run-options.js";

export interface CaptureOptions extends ModelRunOptions {
  readonly texts: readonly string[];
  /** window length in tokens; longer texts are split, each later window starting with BOS */
  readonly nCtx?: number;
  readonly nBatch?: number;
  /** compute on the host from the full hidden states instead (slow; for checking the device path) */
  readonly reference?: boolean;
}

export type SimilarityCapture = RawCaptureResult;

export async function captureSimilarity(options: CaptureOptions): Promise<SimilarityCapture> {
  const run = await validateRun(options, "captureSimilarity");
  if (!Array.isArray(options.texts) || options.texts.length === 0 || options.texts.some((t) => typeof t !== "string" || t.length === 0)) {
    throw invalidOption("texts", "a non-empty array of non-empty strings", options.texts);
  }
  optionalBoolean(options.reference, "reference");
  const nCtx = requireInt(options.nCtx ?? 512, "nCtx", 2);
  const nBatch = requireInt(options.nBatch ?? Math.min(512, nCtx), "nBatch", 1);
  return runJob(options, (job) =>
    binding().captureSimilarity({ ...run, texts: options.texts, nCtx, nBatch, mode: options.reference ? "reference" : "device", ...job }),
  );
}
