/**
 * quantizationError(): Σ_rows Σ_cols w_col · (dequant(q) − x)² of each tensor in each file against
 * the source model's tensor (native/quant_error.cpp), w_col the imatrix's mean squared activation
 * of input column col (1 without an imatrix). No forward pass: the cheap sensitivity proxy.
 */
import { invalidOption } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import type { JobOptions } from "../core/job-options.js";
import { requireOptions, validateJobOptions } from "../core/validate.js";
import { binding } from "../native/binding.js";
import { runJob } from "../native/job.js";

export interface QuantizationErrorOptions extends JobOptions {
  /** the source model (F16/F32) */
  readonly source: string;
  /** quantized files holding the same tensors */
  readonly files: readonly string[];
  readonly tensors: readonly string[];
  /** an imatrix GGUF (llama-imatrix's format); without one every column weighs 1 */
  readonly imatrix?: string;
}

/** errors[tensor][file], in the order given. */
export async function quantizationError(o: QuantizationErrorOptions): Promise<number[][]> {
  requireOptions(o, "quantizationError");
  validateJobOptions(o);
  if (!Array.isArray(o.tensors) || o.tensors.length === 0 || o.tensors.some((t) => typeof t !== "string" || t === "")) {
    throw invalidOption("tensors", "a non-empty array of tensor names", o.tensors);
  }
  if (!Array.isArray(o.files) || o.files.length === 0) throw invalidOption("files", "a non-empty array of GGUF files", o.files);
  const source = await requireInputFile(o.source, "source");
  const files: string[] = [];
  for (const [i, f] of o.files.entries()) files.push(await requireInputFile(f, `files[${i}]`));
  const imatrix = o.imatrix === undefined ? undefined : await requireInputFile(o.imatrix, "imatrix");
  const flat = await runJob(o, (job) => binding().quantizationError({ source, files, tensors: o.tensors, ...(imatrix ? { imatrix } : {}), ...job }));
  return o.tensors.map((_, i) => Array.from(flat.subarray(i * files.length, (i + 1) * files.length)));
}
