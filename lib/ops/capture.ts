/**
 * captureSimilarity(): for every calibration token and every block, the cosine similarity of the
 * residual stream across the attention and the FFN sub-layer, computed on the device that runs
 * the layer (vendor/patches/0002-layer-similarity.patch). Layout: cos[t·2B + 2b + (0 attn | 1 ffn)].
 */
import { invalidOption } from "../core/errors.js";
import { requireOutputPath, writeAtomically } from "../core/files.js";
import { binding, type RawCaptureResult } from "../native/binding.js";
import { runJob } from "../native/job.js";
import { optionalBoolean } from "../core/validate.js";
import { requireInt, validateRun, type ModelRunOptions } from "./run-options.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export interface CaptureOptions extends ModelRunOptions {
  readonly texts: readonly string[];
  /** window length in tokens; longer texts are split, each later window starting with BOS */
  readonly nCtx?: number;
  readonly nBatch?: number;
  /** compute on the host from the full hidden states instead (slow; for checking the device path) */
  readonly reference?: boolean;
  /** false: no similarity (a plain forward pass, e.g. to collect only the imatrix); default true */
  readonly similarity?: boolean;
  /** also collect llama-imatrix's statistics in the same pass and write them here (its GGUF format) */
  readonly imatrix?: string;
  /** the calibration file's name, recorded in the imatrix (imatrix.datasets) */
  readonly dataset?: string;
  /**
   * true: llama-imatrix's windows (whole chunks of nCtx, remainder dropped, BOS replacing each
   * chunk's first token) instead of the default (every token, later windows starting with an added BOS)
   */
  readonly chunked?: boolean;
}

export type SimilarityCapture = RawCaptureResult;

export async function captureSimilarity(options: CaptureOptions): Promise<SimilarityCapture> {
  const run = await validateRun(options, "captureSimilarity");
  if (!Array.isArray(options.texts) || options.texts.length === 0 || options.texts.some((t) => typeof t !== "string" || t.length === 0)) {
    throw invalidOption("texts", "a non-empty array of non-empty strings", options.texts);
  }
  optionalBoolean(options.reference, "reference");
  optionalBoolean(options.similarity, "similarity");
  optionalBoolean(options.chunked, "chunked");
  if (options.similarity === false && options.reference) throw invalidOption("reference", "false when similarity is false", options.reference);
  const imatrix = options.imatrix === undefined ? undefined : await requireOutputPath(options.imatrix, "imatrix", [{ path: run.model, option: "model" }]);
  if (options.dataset !== undefined && typeof options.dataset !== "string") throw invalidOption("dataset", "a string", options.dataset);
  const nCtx = requireInt(options.nCtx ?? DEFAULT_CTX, "nCtx", 2);
  const nBatch = requireInt(options.nBatch ?? Math.min(512, nCtx), "nBatch", 1);
  const capture = (imatrixTemp: string | undefined) =>
    runJob(options, (job) =>
      binding().captureSimilarity({
        ...run,
        texts: options.texts,
        nCtx,
        nBatch,
        mode: options.similarity === false ? "none" : options.reference ? "reference" : "device",
        ...(imatrixTemp ? { imatrix: imatrixTemp, dataset: options.dataset ?? "" } : {}),
        ...(options.chunked ? { chunked: true } : {}),
        ...job,
      }),
    );
  // the native side writes the importance matrix into the unique temp file made here (O_EXCL,
  // no-follow), renamed over the destination on success: never a fixed "<output>.tmp" (issue 22)
  return imatrix === undefined ? capture(undefined) : writeAtomically(imatrix, capture);
}
