/** generate(): greedy continuation of a prompt with llama.cpp — a quick check that a GGUF runs. */
import { invalidOption } from "./errors.js";
import { requireInputFile } from "./files.js";
import { binding, type RawGenerateResult } from "./native/binding.js";
import { runJob, type JobOptions } from "./native/job.js";

export interface GenerateOptions extends JobOptions {
  readonly model: string;
  readonly prompt: string;
  readonly nPredict?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export async function generate(options: GenerateOptions): Promise<RawGenerateResult> {
  const model = await requireInputFile(options.model, "model");
  if (typeof options.prompt !== "string" || options.prompt.length === 0) throw invalidOption("prompt", "a non-empty string", options.prompt);
  const nPredict = options.nPredict ?? 16;
  if (!Number.isInteger(nPredict) || nPredict < 1) throw invalidOption("nPredict", "a whole number ≥ 1", nPredict);
  return runJob(options, (job) =>
    binding().generate({ model, prompt: options.prompt, nPredict, threads: options.threads ?? 0, gpuLayers: options.gpuLayers ?? 0, ...job }),
  );
}
