/** Options shared by every call that runs a model, validated in one place. */
import { requireInputFile } from "../files.js";
import { inspect } from "../gguf/inspect.js";
import { binding } from "../native/binding.js";
import type { JobOptions } from "../native/job.js";
import { checkGpuOffload } from "./gpu-offload.js";
import { requireInt, requireOptions, validateJobOptions } from "../validate.js";

export { requireInt } from "../validate.js";

export interface ModelRunOptions extends JobOptions {
  /** GGUF model file */
  readonly model: string;
  /** CPU threads; default: all cores */
  readonly threads?: number;
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
  // offload that cannot happen is an error here, before any load (a header read is cheap)
  if (gpuLayers !== 0) checkGpuOffload(await inspect(model, o.signal ? { signal: o.signal } : {}), gpuLayers, binding().buildInfo());
  return { model, threads, gpuLayers };
}
