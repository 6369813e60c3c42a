/**
 * The one quantize entry: `quantizeModel(session, options)` resolves the settings (settings.ts:
 * the same defaults `apreqel quantize` has), turns a preset size target into bytes, and runs the
 * method asked for: the front (front.ts) or the paper's enumeration + Algorithm 1 (adaptive.ts).
 * One `limits` object carries every bound (memory, latency, KLD or perplexity, target size or bpw).
 */
import { unknownName } from "../core/errors.js";
import type { JobOptions } from "../core/job-options.js";
import { nameIgnoringCase } from "../core/validate.js";
import { quantizePlan } from "../ops/quantize.js";
import { quantizePresets } from "../ops/ggml-types.js";
import { quantizeAdaptive, type AdaptiveResult } from "./adaptive.js";
import { quantizeFront, type FrontResult } from "./front.js";
import type { ProfileFile } from "./profile-file.js";
import { jobOptions, type Session, type SessionOptions } from "./session.js";
import { requireEvalTokens, requireProbeTokens, requireReachableLimits, type MemoryLimit } from "./preflight.js";
import { runOnModel } from "./runner.js";
import type { InputRef } from "../core/files.js";
import { DEFAULTS, modelFacts, readModelFacts, resolveSettings, type Limits, type Settings, type SettingsOptions } from "./settings.js";

/**
 * What to quantize with: options (every one optional, resolved here against the model: settings.ts),
 * or settings already resolved (the CLI resolves them before the session opens, to check them).
 */
export type QuantizeModelOptions = (SettingsOptions | { readonly settings: Settings }) & {
  /** the mixed GGUF to write */
  readonly output: string;
  /** a profile to plan on instead of profiling here (e.g. latency measured on the edge device) */
  readonly profile?: ProfileFile;
};

/** What quantizeModel did: the settings it resolved, and the method's result. */
export type QuantizeModelResult =
  | { readonly method: "front"; readonly settings: Settings; readonly result: FrontResult }
  | { readonly method: "paper"; readonly settings: Settings; readonly result: AdaptiveResult };

/**
 * Quantizes the session's model into one mixed-precision GGUF under the user's weights and limits.
 *
 * @example
 * const s = await openSession({ model: "model-f16.gguf" });
 * const { result } = await quantizeModel(s, { output: "model-mixed.gguf", limits: { targetPreset: "Q4_K_M" } });
 * // the most accurate mix no larger than llama-quantize's Q4_K_M file of this model
 */
export async function quantizeModel(s: Session, options: QuantizeModelOptions): Promise<QuantizeModelResult> {
  const settings = "settings" in options ? options.settings : await resolveSettings(options, modelFacts(s.info));
  const limits = await limitsInBytes(s.model, settings.limits, jobOptions(s, "preset size"));
  const common = {
    ...settings.uniform,
    output: options.output,
    types: settings.types,
    weights: settings.weights.weights,
    ...(settings.weights.source === "priority" ? { weighting: settings.weights.weightingId } : {}),
    latency: settings.latency,
    latencyCriterion: settings.latencyCriterion,
    accuracy: settings.accuracy,
    score: settings.score,
    measureResult: settings.measureResult,
    ...(options.profile ? { profile: options.profile } : {}),
  };
  if (settings.method === "front") {
    return { method: "front", settings, result: await quantizeFront(s, { ...common, limits, latencyModel: settings.latencyModel, ...(settings.verify > 0 ? { verify: settings.verify } : {}) }) };
  }
  const { maxMemoryBytes, maxLatencyMs, maxPerplexity } = limits;
  const constraints = {
    ...(maxMemoryBytes !== undefined ? { maxMemoryBytes } : {}),
    ...(maxLatencyMs !== undefined ? { maxLatencyMs } : {}),
    ...(maxPerplexity !== undefined ? { maxPerplexity } : {}),
  };
  return { method: "paper", settings, result: await quantizeAdaptive(s, { ...common, constraints, ...(settings.estimator ? { estimator: settings.estimator } : {}) }) };
}

/** Where and how {@link quantizeFile} runs: the session's cache, signal and progress, and whether outputs may replace files. */
export type QuantizeFileOptions = QuantizeModelOptions & Pick<SessionOptions, "cacheDir" | "signal" | "onStep"> & { readonly force?: boolean };

/**
 * `apreqel quantize MODEL -o OUTPUT` as one call: the output claimed against every input, the
 * settings resolved against the model's header, every check that needs no long work (eval and
 * calibration text long enough, size limits some mix can meet) before the model is hashed, then
 * quantizeModel.
 *
 * @example
 * const { result } = await quantizeFile("model-f16.gguf", { output: "mix.gguf", limits: { targetPreset: "Q4_K_M" } });
 */
export async function quantizeFile(model: string, options: QuantizeFileOptions): Promise<QuantizeModelResult> {
  const { cacheDir, signal, onStep, force, ...rest } = options;
  const settings = "settings" in rest ? rest.settings : await resolveSettings(rest, await readModelFacts(model));
  const { calibration } = settings.score;
  const { evalText } = settings.accuracy;
  const inputs: InputRef[] = [
    ...(calibration.source.kind === "file" ? [{ path: calibration.source.path, option: "calibration" }] : []),
    ...(evalText.source.kind === "file" ? [{ path: evalText.source.path, option: "evalText" }] : []),
    ...(settings.uniform.imatrix ? [{ path: settings.uniform.imatrix.path, option: "imatrix" }] : []),
  ];
  const evalTextUsed = !(rest.profile && !settings.measureResult);
  return runOnModel(
    {
      model,
      outputs: [{ path: rest.output, option: "output", kind: "gguf" }],
      inputs,
      ...(force !== undefined ? { force } : {}),
      ...(cacheDir !== undefined ? { cacheDir } : {}),
      ...(signal ? { signal } : {}),
      ...(onStep ? { onStep } : {}),
      contextUse: [
        { option: "nCtx", tokens: settings.nCtx },
        { option: "nPrompt", tokens: settings.latency.nPrompt },
        { option: "nGen", tokens: settings.latency.nGen },
      ],
      checks: [...(evalTextUsed ? [(m: string, _i: unknown, job: JobOptions) => requireEvalTokens(m, settings.accuracy, job)] : []), ...quantizeChecks(settings)],
    },
    (s, [output]) => quantizeModel(s, { settings, output: output!, ...(rest.profile ? { profile: rest.profile } : {}) }),
  );
}

/**
 * The checks of a quantization run that need the model's header but no long work, the CLI's
 * and {@link quantizeFile}'s: size limits some mix can meet (a preset's size from the dry run),
 * calibration text long enough for the probes of a measured table.
 */
export function quantizeChecks(settings: Settings): NonNullable<SessionOptions["checks"]> {
  // the front at tensor granularity chooses the types of token_embd and output too
  const plan = { types: settings.types, nonLayerType: settings.uniform.nonLayerType ?? DEFAULTS.nonLayerType, plansNonLayer: settings.method === "front" && settings.measure?.granularity === "tensor" };
  const { maxMemoryBytes, targetSizeBytes, targetBpw, targetPreset } = settings.limits;
  return [
    async (model, info, job) => {
      const presetBytes = targetPreset === undefined ? undefined : await presetSize(model, targetPreset, job);
      const limits: MemoryLimit[] = [
        ...(maxMemoryBytes !== undefined ? [{ option: "--max-memory", kind: "bytes" as const, value: maxMemoryBytes }] : []),
        ...(targetSizeBytes !== undefined ? [{ option: "--target-size", kind: "bytes" as const, value: targetSizeBytes }] : []),
        ...(presetBytes !== undefined ? [{ option: "--target-size", kind: "bytes" as const, value: presetBytes }] : []),
        ...(targetBpw !== undefined ? [{ option: "--target-bpw", kind: "bpw" as const, value: targetBpw }] : []),
      ];
      requireReachableLimits(model, info, plan, limits);
    },
    ...(settings.measure?.kind === "measured" ? [(model: string, _info: unknown, job: JobOptions) => requireProbeTokens(model, settings.score.calibration, settings.nCtx, job)] : []),
  ];
}

/**
 * The limits with a preset's size turned into bytes (the smaller of it and any byte target given).
 *
 * @example
 * await limitsInBytes("model-f16.gguf", { targetPreset: "q4_k_m" }) // { targetSizeBytes: <Q4_K_M's file bytes> }
 */
export async function limitsInBytes(model: string, limits: Limits, job: JobOptions = {}): Promise<Omit<Limits, "targetPreset">> {
  const { targetPreset, ...rest } = limits;
  if (targetPreset === undefined) return rest;
  const bytes = await presetSize(model, targetPreset, job);
  return { ...rest, targetSizeBytes: Math.min(bytes, rest.targetSizeBytes ?? bytes) };
}

/**
 * The exact bytes of the file llama-quantize's `preset` would write for `model`, from llama.cpp's
 * dry run (ops/quantize.ts, quantizePlan): no tensor is quantized. Preset names ignore case.
 *
 * @example
 * await presetSize("model-f16.gguf", "Q4_K_M") // e.g. 8270016
 */
export async function presetSize(model: string, preset: string, job: JobOptions = {}): Promise<number> {
  const name = nameIgnoringCase(preset, quantizePresets());
  if (name === undefined) throw unknownName("--target-size", "llama.cpp preset", preset, quantizePresets());
  return (await quantizePlan({ input: model, preset: name, ...job })).fileBytes;
}
