/** Options shared by every call that runs a model, validated in one place. */
import { requireInputFile } from "../core/files.js";
import { inspect } from "./inspect.js";
import { buildInfo } from "./build-info.js";
import type { JobOptions } from "../core/job-options.js";
import { checkGpuOffload } from "./gpu-offload.js";
import { requireInt, requireOptions, validateJobOptions } from "../core/validate.js";

export { requireInt } from "../core/validate.js";

/** Options of every call that does CPU work: the long-call options and the thread count. */
export interface RunOptions extends JobOptions {
  /** CPU threads; default: all cores */
  readonly threads?: number;
}

/** Options of every call that runs a model (generate, capture, perplexity, bench). */
export interface ModelRunOptions extends RunOptions {
  /** GGUF model file */
  readonly model: string;
  /** layers to offload to the GPU (CUDA builds); 0 = CPU only, -1 = all */
  readonly gpuLayers?: number;
}

/** Checks the options every model-running call shares; `fn` names the call in messages. */
export async function validateRun(o: ModelRunOptions, fn: string): Promise<{ model: string; threads: number; gpuLayers: number }> {
  requireOptions(o, fn);
  validateJobOptions(o);
  const threads = requireInt(o.threads ?? 0, "threads", 0);
  const gpuLayers = requireInt(o.gpuLayers ?? 0, "gpuLayers", -1);
  const model = await requireInputFile(o.model, "model");
  await checkOffload([model], gpuLayers, o.signal);
  return { model, threads, gpuLayers };
}

/** Offload that cannot happen is an error before any load (header reads are cheap); `models` load at once. */
export async function checkOffload(models: readonly string[], gpuLayers: number, signal?: AbortSignal): Promise<void> {
  if (gpuLayers === 0) return;
  const layouts = await Promise.all(models.map((m) => inspect(m, signal ? { signal } : {})));
  checkGpuOffload(layouts, gpuLayers, buildInfo());
}
