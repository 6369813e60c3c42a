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
import { jobOptions, type Session } from "./session.js";
import { modelFacts, resolveSettings, type Limits, type Settings, type SettingsOptions } from "./settings.js";

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
    return { method: "front", settings, result: await quantizeFront(s, { ...common, limits, latencyModel: settings.latencyModel }) };
  }
  const { maxMemoryBytes, maxLatencyMs, maxPerplexity } = limits;
  const constraints = {
    ...(maxMemoryBytes !== undefined ? { maxMemoryBytes } : {}),
    ...(maxLatencyMs !== undefined ? { maxLatencyMs } : {}),
    ...(maxPerplexity !== undefined ? { maxPerplexity } : {}),
  };
  return { method: "paper", settings, result: await quantizeAdaptive(s, { ...common, constraints, ...(settings.estimator ? { estimator: settings.estimator } : {}) }) };
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
