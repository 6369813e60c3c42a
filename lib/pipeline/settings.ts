/**
 * A run's settings: one table of defaults ({@link DEFAULTS}) and one function that derives every
 * dependent default from the options given ({@link resolveSettings}). The CLI parses its flags into
 * these options and calls it; the library's entry points (quantizeModel, sweep) call it on what
 * they are given. So a library call with no options means exactly what `apreqel quantize` with no
 * flags means, as llama.cpp keeps every quantization default in `llama_model_quantize_default_params()`.
 *
 * What is derived, and why:
 * - the sensitivity and its granularity follow the method: the front plans on each tensor's
 *   measured Δ KLD (docs/results.md: 0.5–0.6× the presets' KLD at their sizes), the paper's method
 *   ranks sub-layers by cosine scores;
 * - a front planned on a measured Δ KLD table also measures the KLD of what it writes, so the
 *   result stands beside its estimate on the same axis;
 * - the paper's method given a sensitivity table plans with the `measured` estimator;
 * - the uniform files are quantized with the importance matrix the calibration pass collects,
 *   unless a file or none (`imatrix: false`) is given;
 * - a size target (`targetSizeBytes`, `targetBpw`, `targetPreset`) with neither weights nor a
 *   priority is a budget to spend: all weight on accuracy, the most accurate mix within it;
 * - the window length and the latency test's prompt are the model's context when that is shorter
 *   than the default (a 256-token model works without flags); a length given is never changed
 *   (openSession refuses one too long).
 *
 * Errors name the command-line option of the same meaning (one wording for both doors).
 */
import { hashFile } from "../cache/cache.js";
import { DEFAULT_CTX, DEFAULT_LATENCY_PROTOCOL } from "../core/defaults.js";
import { OptionError, unknownName } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { requireInt } from "../core/validate.js";
import { GRANULARITIES, type Granularity } from "../gguf/units.js";
import type { EstimatorName } from "../method/estimators.js";
import type { FrontLimits } from "../method/front-limits.js";
import { DEFAULT_GAMMA } from "../method/scores.js";
import { DEFAULT_PROBE_BUDGET, type ProbeBudget } from "../method/probe-plan.js";
import { DEFAULT_TYPES, orderTypes, type GgmlType } from "../method/types.js";
import { DEFAULT_PRIORITY, PRIORITIES, priorityWeighting, type Priority, type WeightChoice } from "../method/weightings.js";
import { validateWeights, type Weights } from "../method/weights.js";
import { inspect, type ModelInfo } from "../ops/inspect.js";
import { LATENCY_CRITERIA, type LatencyCriterion } from "./latency-criterion.js";
import type { AccuracySettings, LatencySettings } from "./measure-file.js";
import type { ScoreOptions } from "./scores.js";
import { readCalibration, readEvalText, type CalibrationSet, type EvalText } from "./texts.js";
import { DEFAULT_NON_LAYER_TYPE, type UniformOptions } from "./uniform.js";
import { LATENCY_MODELS, type LatencyModelName } from "./unit-latency.js";

/** How a plan is made: the paper's enumeration + Algorithm 1, or the Pareto front of per-unit costs. */
export type MethodName = "paper" | "front";
export const METHODS: readonly MethodName[] = ["paper", "front"];

/** What a unit's sensitivity is measured as: probes (Δ KLD), the paper's cosine scores, or the quantization-error proxy. */
export type SensitivityChoice = "measured" | "cosine" | "proxy";
export const SENSITIVITY_CHOICES: readonly SensitivityChoice[] = ["measured", "cosine", "proxy"];

/** The types llama.cpp quantizes only with an importance matrix (ggml asserts one; llama-quant refuses). */
export const IMATRIX_TYPES: ReadonlySet<string> = new Set(["iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s", "iq3_xxs"]);

/** Every default of a run, in one table (the usage texts print them from here). */
export const DEFAULTS = {
  /** the front: at every llama.cpp preset's size a mix of lower KLD than the paper's method (docs/results.md, "The front") */
  method: "front" as MethodName,
  types: DEFAULT_TYPES,
  priority: DEFAULT_PRIORITY,
  /** the weights of a size target given without weights or a priority: the most accurate mix within it */
  budgetWeights: { memory: 0, latency: 0, accuracy: 1 } as Weights,
  sensitivity: { front: "measured", paper: "cosine" } as Readonly<Record<MethodName, SensitivityChoice>>,
  granularity: { front: "tensor", paper: "sublayer" } as Readonly<Record<MethodName, Granularity>>,
  /** calibration chunks of nCtx tokens each probe runs */
  probeChunks: 8,
  /** what the measured table's probes may spend (method/probe-plan.ts: until the choice settles, at most 15 minutes) */
  probeBudget: DEFAULT_PROBE_BUDGET,
  /** mixes the front's verify step measures (0: none) */
  verify: 0,
  nonLayerType: DEFAULT_NON_LAYER_TYPE,
  /** tokens per window of perplexity, the calibration pass and the probes (at most the model's context) */
  nCtx: DEFAULT_CTX,
  /** 0: all cores */
  threads: 0,
  gpuLayers: 0,
  latency: DEFAULT_LATENCY_PROTOCOL,
  latencyCriterion: "decode" as LatencyCriterion,
  latencyModel: "share" as LatencyModelName,
  gamma: DEFAULT_GAMMA,
  measureResult: true,
} as const;

/** The limits a mix must meet, all upper bounds (the front honours all; the paper's method the first three). */
export interface Limits extends FrontLimits {
  /** a llama.cpp preset name (e.g. "Q4_K_M"): at most the bytes its file would have for this model (presetSize) */
  readonly targetPreset?: string;
}

/** What a run measures with: the options every pipeline step shares. */
export interface RunSettingsOptions {
  /** calibration prompts (a file to read, or a set already read); default the built-in 72 prompts */
  readonly calibration?: string | CalibrationSet;
  /** the text perplexity is measured on; default a small built-in text (indicative only) */
  readonly evalText?: string | EvalText;
  /** the importance matrix of the uniform files: a GGUF file, or false for none; default the calibration pass's */
  readonly imatrix?: string | { readonly path: string; readonly sha256: string } | false;
  readonly nonLayerType?: string;
  readonly nCtx?: number;
  /** perplexity chunks to evaluate (default all) */
  readonly chunks?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
  readonly nGen?: number;
  readonly nPrompt?: number;
  readonly reps?: number;
  readonly latencyCriterion?: LatencyCriterion;
  readonly latencyModel?: LatencyModelName;
  readonly gamma?: number;
  /** also measure KL divergence from the source model */
  readonly kld?: boolean;
}

/** Everything a quantization run can be told; every field optional ({@link DEFAULTS}). */
export interface SettingsOptions extends RunSettingsOptions {
  readonly method?: MethodName;
  readonly types?: readonly GgmlType[];
  /** memory, latency, accuracy weights summing to 1; not together with `priority` */
  readonly weights?: Weights;
  readonly priority?: Priority;
  readonly limits?: Limits;
  /** the paper's method: which estimator (default measured with a sensitivity table, else the method's own choice) */
  readonly estimator?: EstimatorName;
  readonly sensitivity?: SensitivityChoice;
  readonly granularity?: Granularity;
  readonly probeChunks?: number;
  /** measured sensitivity: what the probes may spend, the other cells predicted; "all": every cell */
  readonly probeBudget?: ProbeBudget | "all";
  /** the front: assemble the chosen mix, measure its KLD on the calibration chunks and re-plan, at most this many mixes */
  readonly verify?: number;
  /** measure the written mix too */
  readonly measureResult?: boolean;
}

/** The measuring part of a run's settings, resolved. */
export interface RunSettings {
  readonly nCtx: number;
  readonly uniform: UniformOptions;
  readonly latency: LatencySettings;
  readonly latencyCriterion: LatencyCriterion;
  readonly latencyModel: LatencyModelName;
  readonly accuracy: AccuracySettings;
  readonly score: ScoreOptions;
}

/** Weights and where they came from: a priority, weights given, or a size target's budget. */
export type RunWeights = WeightChoice | { readonly source: "budget"; readonly weights: Weights };

/** A quantization run's settings, every default resolved. */
export interface Settings extends RunSettings {
  readonly method: MethodName;
  readonly types: readonly GgmlType[];
  readonly weights: RunWeights;
  readonly limits: Limits;
  readonly estimator?: EstimatorName;
  /** what the score step measures besides the cosines (undefined: cosine scores only); also in score.measure */
  readonly measure: ScoreOptions["measure"];
  readonly measureResult: boolean;
  readonly verify: number;
}

/** The model facts defaults depend on: its training context (from the header). */
export interface ModelFacts {
  readonly contextLength?: number;
}

/** A model's training context from its header, when it records one. */
export function modelFacts(info: Pick<ModelInfo, "architecture" | "metadata">): ModelFacts {
  const trained = info.metadata[`${info.architecture}.context_length`];
  return typeof trained === "number" && trained > 0 ? { contextLength: trained } : {};
}

/** {@link modelFacts} of a model file; none when its header cannot be read (opening the session reports why). */
export async function readModelFacts(file: string): Promise<ModelFacts> {
  try {
    return modelFacts(await inspect(file));
  } catch {
    return {};
  }
}

/**
 * The measuring settings of a run (uniform files, latency, accuracy, calibration), every default
 * filled in and every combination checked.
 *
 * @example
 * (await resolveRunSettings({})).nCtx                           // 512
 * (await resolveRunSettings({}, { contextLength: 256 })).nCtx   // 256: the model's context is shorter (nPrompt too)
 * (await resolveRunSettings({ latencyCriterion: "prefill", nPrompt: 0 })) // throws: --latency prefill needs a prompt to time …
 */
export async function resolveRunSettings(o: RunSettingsOptions, model: ModelFacts = {}): Promise<RunSettings> {
  const threads = o.threads ?? DEFAULTS.threads;
  const gpuLayers = o.gpuLayers ?? DEFAULTS.gpuLayers;
  const nCtx = o.nCtx === undefined ? Math.min(DEFAULTS.nCtx, model.contextLength ?? DEFAULTS.nCtx) : requireInt(o.nCtx, "nCtx", 8);
  const nGen = o.nGen === undefined ? DEFAULTS.latency.nGen : requireInt(o.nGen, "nGen", 1);
  const nPrompt = o.nPrompt === undefined ? Math.min(DEFAULTS.latency.nPrompt, model.contextLength ?? DEFAULTS.latency.nPrompt) : requireInt(o.nPrompt, "nPrompt", 0);
  const reps = o.reps === undefined ? DEFAULTS.latency.reps : requireInt(o.reps, "reps", 1);
  const latencyCriterion = o.latencyCriterion ?? DEFAULTS.latencyCriterion;
  if (!LATENCY_CRITERIA.includes(latencyCriterion)) throw unknownName("--latency", "latency criterion", latencyCriterion, LATENCY_CRITERIA);
  if (latencyCriterion === "prefill" && nPrompt === 0) throw new OptionError("--latency", "--latency prefill needs a prompt to time: --n-prompt must be at least 1 (it is 0)");
  const latencyModel = o.latencyModel ?? DEFAULTS.latencyModel;
  if (!LATENCY_MODELS.includes(latencyModel)) throw unknownName("--latency-model", "latency model", latencyModel, LATENCY_MODELS);
  const nonLayerType = o.nonLayerType ?? DEFAULTS.nonLayerType;
  if (IMATRIX_TYPES.has(nonLayerType) && o.imatrix === false) {
    throw new OptionError("--non-layer-type", `--non-layer-type: ${nonLayerType} needs an importance matrix (leave out --no-imatrix, or give --imatrix FILE), or choose another type`);
  }
  const [calibration, evalText] = await Promise.all([
    typeof o.calibration === "object" ? o.calibration : readCalibration(o.calibration, "calibration"),
    typeof o.evalText === "object" ? o.evalText : readEvalText(o.evalText, "evalText"),
  ]);
  const run = { threads, gpuLayers };
  // the importance matrix: the given file, else (unless false) the calibration pass's — the same pass `score` runs
  const imatrix: Pick<UniformOptions, "imatrix" | "imatrixFrom"> =
    typeof o.imatrix === "string"
      ? { imatrix: await hashedFile(o.imatrix) }
      : typeof o.imatrix === "object"
        ? { imatrix: o.imatrix }
        : o.imatrix === false
          ? {}
          : { imatrixFrom: { calibration, nCtx, ...run } };
  return {
    nCtx,
    uniform: { nonLayerType, threads, ...imatrix },
    latency: { nGen, nPrompt, reps, ...run },
    latencyCriterion,
    latencyModel,
    accuracy: { evalText, nCtx, ...(o.chunks !== undefined ? { chunks: o.chunks } : {}), kld: o.kld ?? false, ...run },
    score: { calibration, nCtx, ...(o.gamma !== undefined ? { gamma: o.gamma } : {}), ...run },
  };
}

async function hashedFile(file: string): Promise<{ path: string; sha256: string }> {
  const path = await requireInputFile(file, "imatrix");
  return { path, sha256: await hashFile(path) };
}

/**
 * Every setting of a quantization run (see the module comment for what is derived).
 *
 * @example
 * const s = await resolveSettings({});
 * s.method                 // "front"
 * s.measure?.kind          // "measured", per tensor
 * s.accuracy.kld           // true: a measured front measures the KLD of what it writes
 * (await resolveSettings({ limits: { targetSizeBytes: 8_270_016 } })).weights // { source: "budget", weights: { memory: 0, latency: 0, accuracy: 1 } }
 */
export async function resolveSettings(o: SettingsOptions, model: ModelFacts = {}): Promise<Settings> {
  const method = o.method ?? DEFAULTS.method;
  if (!METHODS.includes(method)) throw unknownName("--method", "method", method, METHODS);
  const limits = o.limits ?? {};
  if (method === "paper") {
    for (const [key, option] of [["maxKld", "max-kld"], ["targetBpw", "target-bpw"], ["targetSizeBytes", "target-size"], ["targetPreset", "target-size"]] as const) {
      if (limits[key] !== undefined) throw new OptionError(`--${option}`, `--${option} goes with --method front`);
    }
    if (o.latencyModel !== undefined) throw new OptionError("--latency-model", "--latency-model goes with --method front (the paper's estimators split the uniform latency)");
  }
  if (method === "front" && o.estimator !== undefined) throw new OptionError("--estimator", "--estimator goes with --method paper (the front uses per-unit costs)");
  const types = orderTypes(o.types ?? DEFAULTS.types);
  const measuring = await resolveRunSettings(o, model);
  // a quantization plans on one latency criterion, and with decode (the default) nothing it writes or
  // prints uses the prompt's timing, which on a CPU costs more than the decode runs it sits beside
  // (prefill is compute-bound: on the 1B shape a q5_K file's 512-token prompt takes about 2.5× its
  // 128 decode tokens): timed only when planned on (--latency prefill) or asked for (--n-prompt).
  // profile, sweep and portfolio keep both: what they write serves either criterion later.
  const run = o.nPrompt === undefined && measuring.latencyCriterion === "decode" ? { ...measuring, latency: { ...measuring.latency, nPrompt: 0 } } : measuring;
  const measure = sensitivityFor(o, types, run.uniform, method);
  return {
    ...run,
    method,
    types,
    weights: weightsFor(o, method, limits),
    limits,
    ...(o.estimator !== undefined ? { estimator: o.estimator } : method === "paper" && measure ? { estimator: "measured" as const } : {}),
    accuracy: accuracyFor(run.accuracy, method, measure),
    score: { ...run.score, ...(measure ? { measure } : {}) },
    measure,
    measureResult: o.measureResult ?? DEFAULTS.measureResult,
    verify: o.verify === undefined ? DEFAULTS.verify : requireInt(o.verify, "verify", 0),
  };
}

/**
 * The weights of a run: as given, a priority's, a size target's budget (all on accuracy), or the
 * default priority's.
 *
 * @example
 * weightsFor({}, "front", {}).source                           // "priority" (balanced)
 * weightsFor({}, "front", { targetBpw: 4.5 }).weights          // { memory: 0, latency: 0, accuracy: 1 }
 * weightsFor({ priority: "memory" }, "front", { targetBpw: 4.5 }).source // "priority": a priority given wins
 */
export function weightsFor(o: Pick<SettingsOptions, "weights" | "priority">, method: MethodName, limits: Limits): RunWeights {
  if (o.weights !== undefined && o.priority !== undefined) {
    throw new OptionError("--weights", "--weights and --priority choose the same thing; give one of them");
  }
  if (o.weights !== undefined) return { source: "weights", weights: validateWeights(o.weights) };
  if (o.priority === undefined && method === "front" && (limits.targetSizeBytes !== undefined || limits.targetBpw !== undefined || limits.targetPreset !== undefined)) {
    return { source: "budget", weights: DEFAULTS.budgetWeights };
  }
  const priority = o.priority ?? DEFAULTS.priority;
  if (!PRIORITIES.includes(priority)) throw unknownName("--priority", "priority", priority, PRIORITIES);
  const weighting = priorityWeighting(priority);
  return { source: "priority", priority, weightingId: weighting.id, weights: weighting.weights };
}

/**
 * What the score step measures besides the cosines (undefined: cosine scores only), its defaults
 * by method.
 *
 * @example
 * sensitivityFor({}, types, uniform, "paper")        // undefined: cosine scores only
 * sensitivityFor({}, types, uniform, "front")?.kind  // "measured" (granularity "tensor")
 */
export function sensitivityFor(
  o: Pick<SettingsOptions, "sensitivity" | "granularity" | "probeChunks" | "probeBudget">,
  types: readonly GgmlType[],
  uniform: UniformOptions,
  method: MethodName,
): ScoreOptions["measure"] {
  const kind = o.sensitivity ?? DEFAULTS.sensitivity[method];
  if (!SENSITIVITY_CHOICES.includes(kind)) throw unknownName("--sensitivity", "sensitivity", kind, ["cosine", "measured", "proxy"]);
  if (kind === "cosine") {
    if (o.granularity !== undefined || o.probeChunks !== undefined) throw new OptionError(o.granularity !== undefined ? "--granularity" : "--probe-chunks", "--granularity and --probe-chunks go with --sensitivity measured (--granularity also with proxy)");
    if (o.probeBudget !== undefined) throw new OptionError("--probe-budget", "--probe-budget goes with --sensitivity measured");
    return undefined;
  }
  if (kind === "proxy" && o.probeBudget !== undefined) throw new OptionError("--probe-budget", "--probe-budget goes with --sensitivity measured; the proxy runs no probes");
  const granularity = o.granularity ?? DEFAULTS.granularity[method];
  if (!GRANULARITIES.includes(granularity)) throw unknownName("--granularity", "granularity", granularity, GRANULARITIES);
  if (kind === "proxy" && o.probeChunks !== undefined) throw new OptionError("--probe-chunks", "--probe-chunks goes with --sensitivity measured; the proxy runs no probes");
  const chunks = o.probeChunks === undefined ? DEFAULTS.probeChunks : requireInt(o.probeChunks, "probeChunks", 1);
  // a budget plans the probes (planSensitivity); "all" measures every cell
  const budget = kind === "measured" && o.probeBudget !== "all" ? { budget: o.probeBudget ?? DEFAULTS.probeBudget } : {};
  return { kind, granularity, types: orderTypes(types), uniform, chunks, ...budget };
}

/**
 * The accuracy settings of a run: a front planned on a measured Δ KLD table measures the KLD of
 * what it writes too, so the result stands beside its estimate on the same axis.
 */
export function accuracyFor(accuracy: AccuracySettings, method: MethodName, measure: ScoreOptions["measure"]): AccuracySettings {
  return method === "front" && measure?.kind === "measured" && !accuracy.kld ? { ...accuracy, kld: true } : accuracy;
}
