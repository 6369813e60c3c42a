/**
 * Options of the commands that run the pipeline (quantize, profile, score, sweep, eval, demo):
 * one table, one usage text, one parser, so every command spells and validates them alike.
 */
import { hashFile } from "../cache/cache.js";
import { requireInputFile } from "../core/files.js";
import { DEFAULT_GAMMA } from "../method/scores.js";
import type { AccuracySettings, LatencySettings } from "../pipeline/measure-file.js";
import { openSession, type Session, type StepReporter } from "../pipeline/session.js";
import { readCalibration, readEvalText, BUILTIN_EVAL_NOTE } from "../pipeline/texts.js";
import { DEFAULT_NON_LAYER_TYPE, type UniformOptions } from "../pipeline/uniform.js";
import type { ScoreOptions } from "../pipeline/scores.js";
import { quantizeTypes, requireGgmlType } from "../ops/ggml-types.js";
import { buildInfo } from "../ops/build-info.js";
import { unknownName } from "../core/errors.js";
import { GRANULARITIES, type Granularity } from "../gguf/units.js";
import { orderTypes, type GgmlType } from "../method/types.js";
import { parsePositiveNumber } from "./options.js";
import type { CommandContext } from "./args.js";
import { progressMode, startProgress, type StepProgress } from "./progress.js";
import { OptionError } from "../core/errors.js";
import { parseInteger } from "../core/validate.js";

export const PIPELINE_OPTIONS = {
  calibration: { type: "string" },
  "eval-text": { type: "string" },
  imatrix: { type: "string" },
  "non-layer-type": { type: "string" },
  "gpu-layers": { type: "string" },
  threads: { type: "string" },
  "cache-dir": { type: "string" },
  ctx: { type: "string" },
  chunks: { type: "string" },
  "n-gen": { type: "string" },
  "n-prompt": { type: "string" },
  reps: { type: "string" },
  gamma: { type: "string" },
  kld: { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const PIPELINE_OPTIONS_USAGE = `  --calibration FILE    calibration prompts (JSON array, or paragraphs separated by blank lines);
                        default: the built-in set of 72 prompts
  --eval-text FILE      text perplexity is measured on; default: a small built-in text (indicative only)
  --imatrix FILE        importance matrix (GGUF from llama-imatrix) for the quantizations
  --non-layer-type T    type of token embeddings and output head in every file (default ${DEFAULT_NON_LAYER_TYPE})
  --gpu-layers N        layers to offload to the GPU (CUDA builds; -1 = all)
  --threads N           CPU threads (default: all cores)
  --cache-dir DIR       cache of uniform files and measurements (default $APREQEL_CACHE_DIR,
                        $XDG_CACHE_HOME/apreqel or ~/.cache/apreqel)
  --ctx N               perplexity chunk and calibration window, tokens (default 512)
  --chunks N            perplexity chunks to evaluate (default: all)
  --n-gen N, --n-prompt N, --reps N
                        latency test: generated tokens (128), prompt tokens (512), interleaved rounds (6)
  --gamma G             layer-score threshold γ (default ${DEFAULT_GAMMA})
  --kld                 also measure KL divergence from the source model
  --json                print only the final JSON on stdout`;

export interface PipelineValues {
  readonly calibration?: string | undefined;
  readonly "eval-text"?: string | undefined;
  readonly imatrix?: string | undefined;
  readonly "non-layer-type"?: string | undefined;
  readonly "gpu-layers"?: string | undefined;
  readonly threads?: string | undefined;
  readonly "cache-dir"?: string | undefined;
  readonly ctx?: string | undefined;
  readonly chunks?: string | undefined;
  readonly "n-gen"?: string | undefined;
  readonly "n-prompt"?: string | undefined;
  readonly reps?: string | undefined;
  readonly gamma?: string | undefined;
  readonly kld?: boolean | undefined;
  readonly json?: boolean | undefined;
}

export interface PipelineSettings {
  readonly uniform: UniformOptions;
  readonly latency: LatencySettings;
  readonly accuracy: AccuracySettings;
  readonly score: ScoreOptions;
  readonly cacheDir?: string;
  readonly json: boolean;
  /** caveats to print with the results (e.g. perplexity on the built-in text) */
  readonly notes: readonly string[];
}

function int(text: string | undefined, option: string, fallback: number, min = 1): number {
  return text === undefined ? fallback : parseInteger(text, option, min);
}

/** Options of the commands that can measure sensitivity (score, quantize, sweep). */
export const SENSITIVITY_OPTIONS = {
  sensitivity: { type: "string" },
  granularity: { type: "string" },
  "probe-chunks": { type: "string" },
} as const;

export const SENSITIVITY_OPTIONS_USAGE = `  --sensitivity S       cosine (the paper's layer scores; the default) | measured (also measure each
                        unit's Δ KLD by in-process probes over the calibration text; plans then use
                        the measured estimator) | proxy (each unit's imatrix-weighted squared
                        quantization error instead: no forward pass; it ranks, it does not give KLD)
  --granularity G       sublayer (blk.N.attn / blk.N.ffn; the default) | tensor (each weight alone,
                        token embeddings and output head included); with --sensitivity measured
  --probe-chunks N      calibration chunks of --ctx tokens each probe runs (default 8)`;

export const DEFAULT_PROBE_CHUNKS = 8;

/** `--sensitivity`, `--granularity`, `--probe-chunks` → what scoreLayers measures (undefined: cosine only). */
export function sensitivitySettings(
  v: { readonly sensitivity?: string | undefined; readonly granularity?: string | undefined; readonly "probe-chunks"?: string | undefined },
  types: readonly GgmlType[],
  uniform: UniformOptions,
): ScoreOptions["measure"] {
  const kind = v.sensitivity ?? "cosine";
  if (kind !== "cosine" && kind !== "measured" && kind !== "proxy") throw unknownName("--sensitivity", "sensitivity", kind, ["cosine", "measured", "proxy"]);
  if (kind === "cosine") {
    if (v.granularity !== undefined || v["probe-chunks"] !== undefined) throw new OptionError(v.granularity !== undefined ? "--granularity" : "--probe-chunks", "--granularity and --probe-chunks go with --sensitivity measured (--granularity also with proxy)");
    return undefined;
  }
  const granularity = v.granularity ?? "sublayer";
  if (!(GRANULARITIES as readonly string[]).includes(granularity)) throw unknownName("--granularity", "granularity", granularity, GRANULARITIES);
  if (kind === "proxy" && v["probe-chunks"] !== undefined) throw new OptionError("--probe-chunks", "--probe-chunks goes with --sensitivity measured; the proxy runs no probes");
  return {
    kind,
    granularity: granularity as Granularity,
    types: orderTypes(types),
    uniform,
    chunks: v["probe-chunks"] === undefined ? DEFAULT_PROBE_CHUNKS : parseInteger(v["probe-chunks"], "--probe-chunks", 1),
  };
}

/** Validates the options and reads the texts (every check before any long work starts). */
export async function pipelineSettings(v: PipelineValues): Promise<PipelineSettings> {
  const threads = int(v.threads, "--threads", 0, 0);
  const gpuLayers = int(v["gpu-layers"], "--gpu-layers", 0, -1);
  // refused before any long work; whether the weights fit is checked when each model is loaded
  if (gpuLayers !== 0 && !buildInfo().gpuOffload) {
    throw new OptionError("--gpu-layers", `--gpu-layers: this build of apreqel has no GPU backend (CPU only); leave it out, or build with CUDA (npx apreqel build --cuda)`);
  }
  const nCtx = int(v.ctx, "--ctx", 512, 8);
  const chunks = v.chunks === undefined ? undefined : parseInteger(v.chunks, "--chunks", 1);
  const gamma = v.gamma === undefined ? undefined : parsePositiveNumber(v.gamma, "--gamma");
  const nonLayerType = v["non-layer-type"] === undefined ? DEFAULT_NON_LAYER_TYPE : requireGgmlType(v["non-layer-type"], "--non-layer-type", quantizeTypes());
  const imatrixPath = v.imatrix === undefined ? undefined : await requireInputFile(v.imatrix, "--imatrix");
  const [calibration, evalText] = await Promise.all([readCalibration(v.calibration), readEvalText(v["eval-text"])]);
  const run = { threads, gpuLayers };
  return {
    uniform: { nonLayerType, threads, ...(imatrixPath ? { imatrix: { path: imatrixPath, sha256: await hashFile(imatrixPath) } } : {}) },
    latency: { nGen: int(v["n-gen"], "--n-gen", 128), nPrompt: int(v["n-prompt"], "--n-prompt", 512, 0), reps: int(v.reps, "--reps", 6), ...run },
    accuracy: { evalText, nCtx, ...(chunks !== undefined ? { chunks } : {}), kld: v.kld ?? false, ...run },
    score: { calibration, nCtx, ...(gamma !== undefined ? { gamma } : {}), ...run },
    ...(v["cache-dir"] !== undefined ? { cacheDir: v["cache-dir"] } : {}),
    json: v.json ?? false,
    notes: evalText.source.kind === "builtin" ? [BUILTIN_EVAL_NOTE] : [],
  };
}

/**
 * Runs a command's long work with a progress display on stderr (nothing with --json): the step
 * running when `work` rejects is shown as failed, the last one as done when it resolves.
 */
export async function withProgress<T>(json: boolean, work: (onStep: StepReporter) => Promise<T>): Promise<T> {
  const progress = stepProgress(json);
  try {
    const result = await work(progress.onStep);
    progress.finish();
    return result;
  } catch (e) {
    progress.fail();
    throw e;
  }
}

/**
 * The one way a pipeline command runs: opens the session on `model` (cache, hash, header) with
 * the command's cache folder, interrupt signal and progress display, then runs `work` in it
 * (see {@link withProgress} for how a failed step is shown).
 */
export function withSession<T>(model: string, settings: PipelineSettings, context: CommandContext, work: (s: Session) => Promise<T>): Promise<T> {
  return withProgress(settings.json, async (onStep) =>
    work(await openSession({ model, ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}), onStep, ...(context.signal ? { signal: context.signal } : {}) })),
  );
}

/** A step reporter drawing one progress line/bar per step on stderr (nothing with --json). */
function stepProgress(json: boolean): { readonly onStep: StepReporter; finish(): void; fail(): void } {
  const mode = progressMode({ json, isTTY: process.stderr.isTTY });
  let current: { name: string; bar: StepProgress } | null = null;
  return {
    onStep(step, fraction) {
      if (current?.name !== step) {
        current?.bar.done();
        current = { name: step, bar: startProgress(step, { mode }) };
      }
      current.bar.update(fraction);
    },
    finish() {
      current?.bar.done();
      current = null;
    },
    fail() {
      current?.bar.fail();
      current = null;
    },
  };
}
