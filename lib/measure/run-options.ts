/** Options shared by every call that runs a model, validated in one place. */
import { invalidOption } from "../errors.js";
import { requireInputFile } from "../files.js";
import type { JobOptions } from "../native/job.js";

export interface ModelRunOptions extends JobOptions {
  /** GGUF model file */
  readonly model: string;
  /** CPU threads; default: all cores */
  readonly threads?: number;
  /** layers to offload to the GPU (CUDA builds); 0 = CPU only, -1 = all */
  readonly gpuLayers?: number;
}

export async function validateRun(o: ModelRunOptions): Promise<{ model: string; threads: number; gpuLayers: number }> {
  const model = await requireInputFile(o.model, "model");
  const threads = o.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) throw invalidOption("threads", "a whole number ≥ 0", o.threads);
  const gpuLayers = o.gpuLayers ?? 0;
  if (!Number.isInteger(gpuLayers) || gpuLayers < -1) throw invalidOption("gpuLayers", "a whole number ≥ -1", o.gpuLayers);
  return { model, threads, gpuLayers };
}

export function requireInt(value: unknown, option: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalidOption(option, `a whole number ≥ ${min}`, value);
  return value;
}
