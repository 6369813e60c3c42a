/** generate(): greedy continuation of a prompt with llama.cpp — a quick check that a GGUF runs. */
import { validateRun, type ModelRunOptions } from "./run-options.js";
import { binding, type RawGenerateResult } from "../native/binding.js";
import { runJob } from "../native/job.js";
import { requireInt, requireNonEmptyString } from "../core/validate.js";

export interface GenerateOptions extends ModelRunOptions {
  readonly prompt: string;
  /** tokens to generate; default 16 */
  readonly nPredict?: number;
}

export async function generate(options: GenerateOptions): Promise<RawGenerateResult> {
  const run = await validateRun(options, "generate");
  const prompt = requireNonEmptyString(options.prompt, "prompt");
  const nPredict = requireInt(options.nPredict ?? 16, "nPredict", 1);
  return runJob(options, (job) => binding().generate({ ...run, prompt, nPredict, ...job }));
}
