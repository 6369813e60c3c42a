/**
 * `eval`: memory, latency and accuracy of any GGUF files, measured as the uniform set is, with
 * KL divergence from a base model when one is given (usually the F16/F32 original).
 */
import path from "node:path";
import { measureModel, type AccuracySettings, type LatencySettings, type MeasuredModel } from "./measure-file.js";
import { openSession } from "./session.js";
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
  const s = await openSession({
    model: o.base ?? o.models[0]!,
    ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  });
  const out = [];
  for (const file of o.models) {
    const metrics = await measureModel(s, path.resolve(file), path.basename(file), { latency: o.latency, accuracy: { ...o.accuracy, kld: o.base !== undefined } });
    out.push({ file: path.resolve(file), metrics });
  }
  return out;
}
