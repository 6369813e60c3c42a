/**
 * The option vocabulary `quantize`, `sweep` and `plan` share: priorities and weights, candidate
 * types, the estimator, and constraints with units. Every parser is strict: a value it cannot
 * read is an OptionError that names the option, what it accepts and what it received; nothing
 * is coerced to a default.
 */
import { invalidOption, OptionError, unknownName } from "../core/errors.js";
import { parseMilliseconds, parseSize } from "../core/units.js";
import { MethodInputError } from "../method/errors.js";
import { ESTIMATOR_TABLE, ESTIMATORS, type EstimatorName } from "../method/estimators.js";
import type { Constraints } from "../method/plan.js";
import { orderTypes, parseGgmlType, DEFAULT_TYPES, GGML_TYPE_TABLE, type GgmlType } from "../method/types.js";
import { nameIgnoringCase } from "../core/validate.js";
import { parseWeights } from "../method/weights.js";
import { DEFAULT_PRIORITY, PRIORITIES, priorityWeighting, type Priority, type WeightChoice } from "../method/weightings.js";
import { quantizePresets } from "../ops/ggml-types.js";
import { DEFAULTS, METHODS, type MethodName } from "../pipeline/settings.js";

/** parseArgs definitions of the shared options, spread into each command's own table. */
export const WEIGHT_OPTIONS = {
  weights: { type: "string" },
  priority: { type: "string" },
} as const;

export const PLAN_OPTIONS = {
  ...WEIGHT_OPTIONS,
  types: { type: "string" },
  estimator: { type: "string" },
  "max-memory": { type: "string" },
  "max-latency": { type: "string" },
  "max-perplexity": { type: "string" },
} as const;

/** Usage lines for {@link PLAN_OPTIONS}, shared by the commands' help texts. */
export const PLAN_OPTIONS_USAGE = `  --weights M,L,A       memory, latency, accuracy weights, each in [0,1], summing to 1
  --priority P          memory | latency | accuracy (0.8 on it, 0.1 on each other) | balanced
                        (1/3 each; the default); not together with --weights
  --types T,...         candidate types (default ${DEFAULT_TYPES.join(",")})
  --estimator E         ${ESTIMATORS.map((name) => `${name} (${ESTIMATOR_TABLE[name].summary})`).join("\n                        | ")}
                        default: measured when scores.json has a sensitivity table, else sensitivity
                        when the profile has layerBytes and scores are known
  --max-memory SIZE     drop candidates estimated above SIZE, e.g. 2GB, 1.5GiB, 512MB
  --max-latency TIME    drop candidates estimated slower per token, e.g. 40ms, 0.04s
  --max-perplexity N    drop candidates estimated above this perplexity`;

/**
 * Resolves `--priority` / `--weights` (at most one) to validated weights.
 *
 * @example
 * resolveWeights({ priority: "latency" }).weights // { memory: 0.1, latency: 0.8, accuracy: 0.1 }
 * resolveWeights({ weights: "0.5,0.7,0" })         // throws: --weights: weights must sum to 1 (got 1.2)
 */
export function resolveWeights(values: { readonly weights?: string | undefined; readonly priority?: string | undefined }): WeightChoice {
  if (values.weights !== undefined && values.priority !== undefined) {
    throw new OptionError("--weights", "--weights and --priority choose the same thing; give one of them");
  }
  if (values.weights !== undefined) {
    return { source: "weights", weights: withOption("--weights", () => parseWeights(values.weights as string)) };
  }
  const priority = parsePriority(values.priority ?? DEFAULT_PRIORITY);
  const weighting = priorityWeighting(priority);
  return { source: "priority", priority, weightingId: weighting.id, weights: weighting.weights };
}

/**
 * Validates a `--priority` value.
 *
 * @example
 * parsePriority("memory") // "memory"
 * parsePriority("speed")  // throws: --priority: expected one of memory, latency, accuracy, balanced but received "speed"
 */
function parsePriority(text: string): Priority {
  if ((PRIORITIES as readonly string[]).includes(text)) return text as Priority;
  throw unknownName("--priority", "priority", text, PRIORITIES);
}

/**
 * Parses `--types q3_K,q4_K,...`, ordered least → most aggressive.
 *
 * @example
 * parseTypes("q4_K,q8_0") // ["q8_0", "q4_K"]
 * parseTypes("Q4_K,q8_0") // ["q8_0", "q4_K"]: names are matched ignoring case, as llama.cpp does
 * parseTypes("q4_Kx")     // throws: --types: unknown type "q4_Kx"; did you mean "q4_K"?
 */
export function parseTypes(text: string | undefined, option = "--types"): GgmlType[] {
  if (text === undefined) return [...DEFAULT_TYPES];
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw invalidOption(option, "a comma-separated list of ggml types like q4_K,q8_0", text);
  const names = GGML_TYPE_TABLE.map((t) => t.name);
  for (const p of parts) {
    // a user who thinks in presets: say what it is and where it goes, rather than the nearest type
    const preset = nameIgnoringCase(p, names) === undefined ? presetNamed(p) : undefined;
    if (preset !== undefined) throw new OptionError(option, `${option}: ${preset} is a llama.cpp preset (a mix of types), not a type; for a mix of its size give --target-size ${preset}, or list types like q4_K,q6_K`);
  }
  return withOption(option, () => orderTypes(parts.map((p) => parseGgmlType(nameIgnoringCase(p, names) ?? p))));
}

/**
 * `--target-size`: a size with a unit, a plain byte count (as `ls -l` prints it), or a llama.cpp
 * preset's name, ignoring case as llama-quantize does.
 *
 * @example
 * parseTargetSize("30MB")    // 30000000
 * parseTargetSize("8270016") // 8270016: bytes
 * parseTargetSize("q4_k_m")  // { preset: "Q4_K_M" }
 * parseTargetSize("Q4_K_X")  // throws: unknown llama.cpp preset "Q4_K_X" for option --target-size; did you mean "Q4_K_M"?
 */
export function parseTargetSize(text: string): number | { readonly preset: string } {
  if (/^\s*\d+\s*$/.test(text)) {
    const bytes = Number(text);
    if (Number.isSafeInteger(bytes) && bytes > 0) return bytes;
  }
  if (/^\s*[A-Za-z]/.test(text)) {
    // a size starts with a digit: a name is a preset's, or a misspelt one
    const preset = nameIgnoringCase(text.trim(), quantizePresets());
    if (preset === undefined) throw unknownName("--target-size", "llama.cpp preset", text.trim(), quantizePresets());
    return { preset };
  }
  return parseSize(text, "--target-size");
}

/** The preset `name` stands for, ignoring case, when the addon can say (it lists llama-quantize's presets). */
function presetNamed(name: string): string | undefined {
  try {
    return nameIgnoringCase(name, quantizePresets());
  } catch {
    return undefined;
  }
}

/**
 * Validates `--estimator`.
 *
 * @example
 * parseEstimator("linear") // "linear"
 */
export function parseEstimator(text: string | undefined): EstimatorName | undefined {
  if (text === undefined) return undefined;
  if ((ESTIMATORS as readonly string[]).includes(text)) return text as EstimatorName;
  throw unknownName("--estimator", "estimator", text, ESTIMATORS);
}

/**
 * Parses a finite positive number.
 *
 * @example
 * parsePositiveNumber("6.5", "--max-perplexity") // 6.5
 */
export function parsePositiveNumber(text: string, option: string): number {
  const n = /^\s*[0-9.eE+-]+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw invalidOption(option, "a positive number", text);
  return n;
}

/**
 * The constraints given as `--max-memory`, `--max-latency`, `--max-perplexity`.
 *
 * @example
 * parseConstraints({ "max-memory": "2GB", "max-latency": "40ms" }) // { maxMemoryBytes: 2e9, maxLatencyMs: 40 }
 */
export function parseConstraints(values: {
  readonly "max-memory"?: string | undefined;
  readonly "max-latency"?: string | undefined;
  readonly "max-perplexity"?: string | undefined;
}): Constraints {
  const out: { maxMemoryBytes?: number; maxLatencyMs?: number; maxPerplexity?: number } = {};
  if (values["max-memory"] !== undefined) out.maxMemoryBytes = parseSize(values["max-memory"], "--max-memory");
  if (values["max-latency"] !== undefined) out.maxLatencyMs = parseMilliseconds(values["max-latency"], "--max-latency");
  if (values["max-perplexity"] !== undefined) out.maxPerplexity = parsePositiveNumber(values["max-perplexity"], "--max-perplexity");
  return out;
}

/** Everything plan-like commands read from {@link PLAN_OPTIONS}, validated. */
export interface PlanChoices {
  readonly weights: WeightChoice;
  readonly types: readonly GgmlType[];
  readonly estimator: EstimatorName | undefined;
  readonly constraints: Constraints;
}

/**
 * Validates all of {@link PLAN_OPTIONS} at once (before any file is read).
 *
 * @example
 * parsePlanChoices({ priority: "memory", "max-memory": "2GB" }).constraints.maxMemoryBytes // 2e9
 */
export function parsePlanChoices(values: {
  readonly weights?: string | undefined;
  readonly priority?: string | undefined;
  readonly types?: string | undefined;
  readonly estimator?: string | undefined;
  readonly "max-memory"?: string | undefined;
  readonly "max-latency"?: string | undefined;
  readonly "max-perplexity"?: string | undefined;
}): PlanChoices {
  return {
    weights: resolveWeights(values),
    types: parseTypes(values.types),
    estimator: parseEstimator(values.estimator),
    constraints: parseConstraints(values),
  };
}

// The method's messages already say what is wrong; prefix the option they came from.
function withOption<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof MethodInputError) throw new OptionError(option, `${option}: ${e.message}`);
    throw e;
  }
}

/** How a plan is made (pipeline/settings.ts keeps the names and the default). */
export { METHODS, type MethodName } from "../pipeline/settings.js";
/**
 * The method a command uses when `--method` is not given: the front, which at every llama.cpp
 * preset's size gives a mix of lower KLD than the paper's method (docs/results.md, "The front").
 */
export const DEFAULT_METHOD: MethodName = DEFAULTS.method;

/**
 * `--method`, validated.
 *
 * @example
 * parseMethod(undefined) // DEFAULT_METHOD
 * parseMethod("fronts")  // throws: --method: unknown method "fronts" …
 */
export function parseMethod(text: string | undefined): MethodName {
  const method = text ?? DEFAULT_METHOD;
  if (!(METHODS as readonly string[]).includes(method)) throw unknownName("--method", "method", method, METHODS);
  return method as MethodName;
}

/** Options of the commands that can plan on the front (quantize, portfolio). */
export const FRONT_OPTIONS = {
  method: { type: "string" },
  "max-kld": { type: "string" },
  "target-bpw": { type: "string" },
  "target-size": { type: "string" },
} as const;

export const METHOD_USAGE = `  --method M            paper (the paper's enumeration of splits + Algorithm 1) | front (the
                        Pareto front of per-unit costs, TOPSIS on it; docs/method.md); default ${DEFAULT_METHOD}`;

export const FRONT_OPTIONS_USAGE = `${METHOD_USAGE}
  --max-kld N           --method front: drop mixes estimated above this KL divergence (needs a
                        measured table: --sensitivity measured)
  --target-bpw N        --method front: at most N bits per weight over the planned tensors
  --target-size SIZE    --method front: a file of at most SIZE: e.g. 30MB, 8270016 (bytes), or a
                        llama.cpp preset (Q4_K_M: the bytes its llama-quantize file would have).
                        With --target-size or --target-bpw and neither --weights nor --priority,
                        the most accurate mix within the size (all weight on accuracy)`;

/** The front's own limits, parsed (the shared ones come from {@link parseConstraints}). */
export interface FrontChoices {
  readonly method: MethodName;
  readonly maxKld?: number;
  readonly targetBpw?: number;
  readonly targetSizeBytes?: number;
  /** `--target-size Q4_K_M`: the size of that preset's file for the model (pipeline/preset-size.ts) */
  readonly targetPreset?: string;
}

/**
 * Validates {@link FRONT_OPTIONS}; the front's limits need `--method front`.
 *
 * @example
 * parseFrontChoices({ method: "front", "target-size": "30MB" }) // { method: "front", targetSizeBytes: 30000000 }
 * parseFrontChoices({ "target-bpw": "4.5" }) // throws: --target-bpw goes with --method front
 */
export function parseFrontChoices(values: {
  readonly method?: string | undefined;
  readonly "max-kld"?: string | undefined;
  readonly "target-bpw"?: string | undefined;
  readonly "target-size"?: string | undefined;
}): FrontChoices {
  const out: { method: MethodName; maxKld?: number; targetBpw?: number; targetSizeBytes?: number; targetPreset?: string } = { method: parseMethod(values.method) };
  if (values["max-kld"] !== undefined) out.maxKld = parsePositiveNumber(values["max-kld"], "--max-kld");
  if (values["target-bpw"] !== undefined) out.targetBpw = parsePositiveNumber(values["target-bpw"], "--target-bpw");
  if (values["target-size"] !== undefined) {
    const target = parseTargetSize(values["target-size"]);
    if (typeof target === "number") out.targetSizeBytes = target;
    else out.targetPreset = target.preset;
  }
  if (out.method === "paper") {
    for (const option of ["max-kld", "target-bpw", "target-size"] as const) {
      if (values[option] !== undefined) throw new OptionError(`--${option}`, `--${option} goes with --method front`);
    }
  }
  return out;
}
