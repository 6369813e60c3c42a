/**
 * bench(): latency as llama-bench measures it. ms per generated token comes from each
 * repetition's total time / tokens (then mean ± sd over repetitions), not from averaged tokens/s.
 */
import { invalidOption } from "../core/errors.js";
import { binding } from "../native/binding.js";
import { runJob } from "../native/job.js";
import { optionalBoolean } from "../core/validate.js";
import { requireInt, validateRun, type ModelRunOptions } from "./run-options.js";

export interface BenchOptions extends ModelRunOptions {
  /** generated tokens per tg repetition (llama-bench -n); default 128, 0 skips tg */
  readonly nGen?: number;
  /** prompt tokens per pp repetition (llama-bench -p); default 512, 0 skips pp */
  readonly nPrompt?: number;
  /** repetitions (llama-bench -r); default 5 */
  readonly reps?: number;
  readonly warmup?: boolean;
}

export interface MeanSd {
  readonly mean: number;
  readonly sd: number;
}

export interface PhaseTiming {
  readonly tokens: number;
  readonly msPerToken: MeanSd;
  readonly tokensPerSecond: MeanSd;
  /** per repetition, in ms */
  readonly repetitionsMs: readonly number[];
}

export interface BenchResult {
  readonly tg: PhaseTiming | null;
  readonly pp: PhaseTiming | null;
  /** bytes of the model's parameters (llama_model_size) */
  readonly modelBytes: number;
  readonly modelParams: number;
  /** the whole process's peak resident memory */
  readonly peakRssBytes: number;
}

export async function bench(options: BenchOptions): Promise<BenchResult> {
  const run = await validateRun(options, "bench");
  const nGen = requireInt(options.nGen ?? 128, "nGen", 0);
  const nPrompt = requireInt(options.nPrompt ?? 512, "nPrompt", 0);
  const reps = requireInt(options.reps ?? 5, "reps", 1);
  optionalBoolean(options.warmup, "warmup");
  if (nGen + nPrompt === 0) throw invalidOption("nGen", "a number > 0 when nPrompt is 0", nGen);
  const raw = await runJob(options, (job) => binding().bench({ ...run, nGen, nPrompt, reps, warmup: options.warmup ?? true, ...job }));
  return {
    tg: nGen > 0 ? phase(nGen, raw.tgSamplesNs) : null,
    pp: nPrompt > 0 ? phase(nPrompt, raw.ppSamplesNs) : null,
    modelBytes: raw.modelBytes,
    modelParams: raw.modelParams,
    peakRssBytes: raw.peakRssBytes,
  };
}

/** Mean and sample standard deviation (n − 1), as llama-bench reports them. */
export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, sd };
}

function phase(tokens: number, samplesNs: readonly number[]): PhaseTiming {
  const ms = samplesNs.map((ns) => ns / 1e6);
  return {
    tokens,
    msPerToken: meanSd(ms.map((m) => m / tokens)),
    tokensPerSecond: meanSd(ms.map((m) => (tokens * 1000) / m)),
    repetitionsMs: ms,
  };
}
