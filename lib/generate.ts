/** generate(): greedy continuation of a prompt with llama.cpp — a quick check that a GGUF runs. */
import { validateRun } from "./measure/run-options.js";
import { binding, type RawGenerateResult } from "./native/binding.js";
import { runJob, type JobOptions } from "./native/job.js";
import { requireInt, requireNonEmptyString } from "./validate.js";

export interface GenerateOptions extends JobOptions {
  readonly model: string;
  readonly prompt: string;
  readonly nPredict?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export async function generate(options: GenerateOptions): Promise<RawGenerateResult> {
  const run = await validateRun(options, "generate");
  const prompt = requireNonEmptyString(options.prompt, "prompt");
  const nPredict = requireInt(options.nPredict ?? 16, "nPredict", 1);
  return runJob(options, (job) => binding().generate({ ...run, prompt, nPredict, ...job }));
}
