/**
 * `eval`: memory, latency and accuracy of any GGUF files, measured as the uniform set is, with
 * KL divergence from a base model when one is given (usually the F16/F32 original).
 */
import path from "node:path";
import { measureAccuracy, measureLatencies, measureMemory, type AccuracySettings, type LatencySettings, type MeasuredModel } from "./measure-file.js";
import { requireEvalTokens } from "./preflight.js";
import { inspect } from "../ops/inspect.js";
import { requireInputFile } from "../core/files.js";
import { openSession, requireContext } from "./session.js";
import type { StepReporter } from "./session.js";

export interface EvaluateOptions {
  readonly models: readonly string[];
  /** the model KL divergence is measured from; when absent, perplexity only */
  readonly base?: string;
  readonly latency: LatencySettings;
  readonly accuracy: Omit<AccuracySettings, "kld">;
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly onStep?: StepReporter;
}

export async function evaluate(o: EvaluateOptions): Promise<{ readonly file: string; readonly metrics: MeasuredModel }[]> {
  if (o.models.length === 0) throw new Error("eval needs at least one model");
  // every model measured must hold the prompt, the generated tokens and the perplexity window
  // (a 1,000,000-token --n-prompt on a 256-token model was run, not refused): checked from each
  // header before anything is hashed or measured
  const contextUse = [
    { option: "--ctx", tokens: o.accuracy.nCtx },
    { option: "--n-prompt", tokens: o.latency.nPrompt },
    { option: "--n-gen", tokens: o.latency.nGen },
  ];
  for (const file of o.models) {
    const model = await requireInputFile(file, "MODEL");
    requireContext({ model, info: await inspect(model, o.signal ? { signal: o.signal } : {}) }, contextUse);
  }
  const s = await openSession({
    contextUse,
    model: o.base ?? o.models[0]!,
    measureOnly: true,
    // a text too short for two chunks fails now, before anything is measured
    checks: [(model, _info, job) => requireEvalTokens(model, o.accuracy, job)],
    ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  });
  const files = o.models.map((file) => ({ file: path.resolve(file), label: path.basename(file) }));
  // the files are compared with each other: their latency is measured together, interleaved
  const latencies = await measureLatencies(s, files, o.latency);
  const out = [];
  for (const [i, { file, label }] of files.entries()) {
    const metrics = { ...(await measureMemory(file)), ...latencies[i]!, ...(await measureAccuracy(s, file, label, { ...o.accuracy, kld: o.base !== undefined })) };
    out.push({ file, metrics });
  }
  return out;
}
