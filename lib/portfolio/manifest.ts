/**
 * portfolio.json: a set of mixes of one model, each with what it costs and what it is worth,
 * measured, so a device can pick one at run time (see choose.ts). Per variant: the file, its
 * content hash and size, the bytes of weights it loads, its latency on every device it was
 * profiled on (decode and prefill, each mean ± sd, with the hardware and build fingerprint, a
 * list so `apreqel portfolio profile DIR` on another device appends to it), its accuracy
 * (perplexity ± stderr, KLD ± stderr when measured) with the text and build it was measured with,
 * and the weights or limits that chose it.
 *
 * The manifest is meant to be shipped and occasionally hand-edited, so the parser is strict:
 * an unknown field is an error naming the nearest known one (a typo must not silently drop a
 * limit), every number is checked, and names, files and hashes must be unique.
 */
import { InputError, describeValue, nearestName } from "../core/errors.js";
import type { Constraints } from "../method/plan.js";
import { CRITERIA, WEIGHT_SUM_TOLERANCE, type Criterion, type Weights } from "../method/weights.js";
import type { BuildDescription, Hardware } from "../pipeline/hardware.js";

/** What `format` must say: a manifest is recognisable without its file name. */
export const PORTFOLIO_FORMAT = "apreqel-portfolio";
/** The schema version this code reads and writes. */
export const PORTFOLIO_VERSION = 1;
/** The manifest's file name inside a portfolio folder. */
export const MANIFEST_FILE = "portfolio.json";

/** A measured mean and its spread over repetitions. */
export interface MeanSd {
  readonly mean: number;
  readonly sd: number;
}

/** The machine and build a measurement ran on; `fingerprint` is {@link fingerprint}({ hardware, build }). */
export interface DeviceDescription {
  readonly fingerprint: string;
  readonly hardware: Hardware;
  readonly build: BuildDescription;
}

/**
 * Tokens/s seen while serving on this device, kept beside (never mixed into) the benchmark:
 * requests have other prompt lengths and batch sizes than the benchmark.
 */
export interface ObservedLatency {
  /** running mean of decode ms per token over `samples` requests */
  readonly decodeMsPerToken: number;
  readonly samples: number;
  readonly updatedAt: string;
}

/** One device's latency of one variant (ms per token, llama-bench's rules). */
export interface LatencyMeasurement {
  readonly device: DeviceDescription;
  /** bench settings: nGen, nPrompt, reps, threads, gpuLayers, … */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly measuredAt: string;
  /** ms per generated token */
  readonly decode: MeanSd;
  /** ms per prompt token; null when the prompt phase was not measured */
  readonly prefill: MeanSd | null;
  readonly observed?: ObservedLatency;
}

/** KL divergence from the source model, as llama-perplexity reports it. */
export interface KldMeasurement {
  readonly mean: number;
  readonly stderr: number;
  readonly sameTopPercent: number;
}

/** Accuracy of one variant, and on what it was measured. */
export interface AccuracyMeasurement {
  readonly perplexity: { readonly value: number; readonly stderr: number };
  readonly kld?: KldMeasurement;
  /** the evaluation text (never the calibration text): where it came from and its hash */
  readonly text: { readonly source: string; readonly sha256: string };
  /** nCtx, chunks, evalTokens, … */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly device: DeviceDescription;
  readonly measuredAt: string;
}

/** Why a variant is in the portfolio. */
export type Selection =
  /** the best plan under these weights (and limits) */
  | { readonly by: "weights"; readonly weights: Weights; readonly weighting?: string; readonly limits?: Constraints }
  /** the best plan under these limits alone */
  | { readonly by: "limits"; readonly limits: Constraints }
  /** the front's end that is best on one criterion */
  | { readonly by: "extreme"; readonly criterion: Criterion };

export interface Variant {
  /** unique within the portfolio; what `pick` prints and `current` refers to */
  readonly name: string;
  /** file name inside the portfolio folder (no folders) */
  readonly file: string;
  readonly sha256: string;
  /** file size */
  readonly bytes: number;
  /** bytes of parameters llama.cpp loads (what memory fit is judged on) */
  readonly weightBytes: number;
  /** bytes of weights on the GPU when every layer is offloaded (absent: all of weightBytes) */
  readonly gpuBytes?: number;
  /** how many layers got each type (informational) */
  readonly distribution?: Readonly<Record<string, number>>;
  /** one entry per device profiled, at most one per device fingerprint */
  readonly latency: readonly LatencyMeasurement[];
  readonly accuracy: AccuracyMeasurement;
  /** at least one: several selections may have produced the same mix (deduplicated) */
  readonly chosenBy: readonly Selection[];
}

export interface PortfolioManifest {
  readonly format: typeof PORTFOLIO_FORMAT;
  readonly version: typeof PORTFOLIO_VERSION;
  /** the source model the variants were made from */
  readonly model: { readonly name: string; readonly sha256: string };
  readonly createdAt: string;
  readonly variants: readonly Variant[];
}

/**
 * Validates a parsed portfolio.json; `what` names it in messages (e.g. its path). Every error
 * is an InputError naming the field, e.g. `portfolio.json: variants[2].latency[0].decode.mean
 * must be a positive number (got -3)`.
 *
 * @example
 * parseManifest(JSON.parse(text), "out/portfolio.json").variants.map((v) => v.name) // ["memory", "balanced", "accuracy"]
 * parseManifest({ ...m, version: 2 })  // throws: portfolio: version 2 is not supported (this apreqel reads version 1); …
 * parseManifest({ ...m, varaints: [] }) // throws: portfolio: unknown field "varaints"; did you mean "variants"?
 */
export function parseManifest(value: unknown, what = "portfolio"): PortfolioManifest {
  const root = object(value, what, what);
  if (root["format"] !== PORTFOLIO_FORMAT) {
    throw new InputError(`${what}: format must be ${JSON.stringify(PORTFOLIO_FORMAT)} (got ${describeValue(root["format"])}); is this an apreqel portfolio manifest?`);
  }
  const version = root["version"];
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new InputError(`${what}: version must be a positive integer (got ${describeValue(version)})`);
  }
  if (version !== PORTFOLIO_VERSION) {
    throw new InputError(
      `${what}: version ${version} is not supported (this apreqel reads version ${PORTFOLIO_VERSION})` +
        (version > PORTFOLIO_VERSION ? "; update apreqel to read it" : ""),
    );
  }
  const r = new Fields(root, what, what, ["format", "version", "model", "createdAt", "variants"]);
  const model = r.object("model", ["name", "sha256"]);
  const parsedModel = { name: model.string("name"), sha256: model.sha256("sha256") };
  const createdAt = r.time("createdAt");
  const list = r.array("variants");
  if (list.length === 0) throw new InputError(`${what}: variants must list at least one variant (got none)`);
  const variants = list.map((v, i) => parseVariant(v, `variants[${i}]`, what));
  unique(variants, "name", (v) => v.name, what);
  unique(variants, "file", (v) => v.file, what);
  unique(variants, "sha256", (v) => v.sha256, what);
  return { format: PORTFOLIO_FORMAT, version: PORTFOLIO_VERSION, model: parsedModel, createdAt, variants };
}

/**
 * The latency measurement of `variant` on the device with this fingerprint, if it was profiled there.
 *
 * @example
 * latencyOn(variant, session.deviceFingerprint)?.decode.mean // 21.3
 */
export function latencyOn(variant: Variant, deviceFingerprint: string): LatencyMeasurement | undefined {
  return variant.latency.find((m) => m.device.fingerprint === deviceFingerprint);
}

const VARIANT_FIELDS = ["name", "file", "sha256", "bytes", "weightBytes", "gpuBytes", "distribution", "latency", "accuracy", "chosenBy"];

function parseVariant(value: unknown, at: string, what: string): Variant {
  const r = new Fields(value, at, what, VARIANT_FIELDS);
  const name = r.string("name");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new InputError(`${what}: ${at}.name must be letters, digits, ".", "_" or "-" (got ${describeValue(name)})`);
  }
  const file = r.string("file");
  if (!/^[^/\\]+\.gguf$/.test(file) || file.startsWith(".")) {
    throw new InputError(`${what}: ${at}.file must be a .gguf file name inside the portfolio folder, without folders (got ${describeValue(file)})`);
  }
  const weightBytes = r.positiveInteger("weightBytes");
  const gpuBytes = r.has("gpuBytes") ? r.nonNegativeInteger("gpuBytes") : undefined;
  if (gpuBytes !== undefined && gpuBytes > weightBytes) {
    throw new InputError(`${what}: ${at}.gpuBytes (${gpuBytes}) cannot exceed weightBytes (${weightBytes})`);
  }
  let distribution: Record<string, number> | undefined;
  if (r.has("distribution")) {
    const d = r.object("distribution", null);
    distribution = {};
    for (const key of d.keys()) distribution[key] = d.nonNegativeInteger(key);
  }
  const latency = r.array("latency").map((m, i) => parseLatency(m, `${at}.latency[${i}]`, what));
  unique(latency, "device.fingerprint", (m) => m.device.fingerprint, what, `${at}.latency`);
  const chosenBy = r.array("chosenBy").map((s, i) => parseSelection(s, `${at}.chosenBy[${i}]`, what));
  if (chosenBy.length === 0) throw new InputError(`${what}: ${at}.chosenBy must list at least one selection (got none)`);
  return {
    name,
    file,
    sha256: r.sha256("sha256"),
    bytes: r.positiveInteger("bytes"),
    weightBytes,
    ...(gpuBytes !== undefined ? { gpuBytes } : {}),
    ...(distribution !== undefined ? { distribution } : {}),
    latency,
    accuracy: parseAccuracy(r.value("accuracy"), `${at}.accuracy`, what),
    chosenBy,
  };
}

function parseLatency(value: unknown, at: string, what: string): LatencyMeasurement {
  const r = new Fields(value, at, what, ["device", "settings", "measuredAt", "decode", "prefill", "observed"]);
  const prefill = r.value("prefill") === null ? null : meanSd(r, "prefill");
  let observed: ObservedLatency | undefined;
  if (r.has("observed")) {
    const o = r.object("observed", ["decodeMsPerToken", "samples", "updatedAt"]);
    observed = { decodeMsPerToken: o.positiveNumber("decodeMsPerToken"), samples: o.positiveInteger("samples"), updatedAt: o.time("updatedAt") };
  }
  return {
    device: parseDevice(r, "device"),
    settings: r.object("settings", null).raw,
    measuredAt: r.time("measuredAt"),
    decode: meanSd(r, "decode"),
    prefill,
    ...(observed !== undefined ? { observed } : {}),
  };
}

function parseAccuracy(value: unknown, at: string, what: string): AccuracyMeasurement {
  const r = new Fields(value, at, what, ["perplexity", "kld", "text", "settings", "device", "measuredAt"]);
  const p = r.object("perplexity", ["value", "stderr"]);
  const text = r.object("text", ["source", "sha256"]);
  let kld: KldMeasurement | undefined;
  if (r.has("kld")) {
    const k = r.object("kld", ["mean", "stderr", "sameTopPercent"]);
    const sameTopPercent = k.nonNegativeNumber("sameTopPercent");
    if (sameTopPercent > 100) throw new InputError(`${what}: ${at}.kld.sameTopPercent must be at most 100 (got ${sameTopPercent})`);
    kld = { mean: k.nonNegativeNumber("mean"), stderr: k.nonNegativeNumber("stderr"), sameTopPercent };
  }
  return {
    perplexity: { value: p.positiveNumber("value"), stderr: p.nonNegativeNumber("stderr") },
    ...(kld !== undefined ? { kld } : {}),
    text: { source: text.string("source"), sha256: text.sha256("sha256") },
    settings: r.object("settings", null).raw,
    device: parseDevice(r, "device"),
    measuredAt: r.time("measuredAt"),
  };
}

function parseSelection(value: unknown, at: string, what: string): Selection {
  const by = object(value, at, what)["by"];
  if (by === "weights") {
    const r = new Fields(value, at, what, ["by", "weights", "weighting", "limits"]);
    return {
      by,
      weights: parseWeightsField(r),
      ...(r.has("weighting") ? { weighting: r.string("weighting") } : {}),
      ...(r.has("limits") ? { limits: parseLimits(r) } : {}),
    };
  }
  if (by === "limits") return { by, limits: parseLimits(new Fields(value, at, what, ["by", "limits"])) };
  if (by === "extreme") {
    const r = new Fields(value, at, what, ["by", "criterion"]);
    const criterion = r.string("criterion");
    if (!(CRITERIA as readonly string[]).includes(criterion)) throw r.expected("criterion", `one of ${CRITERIA.join(", ")}`, criterion);
    return { by, criterion: criterion as Criterion };
  }
  throw new InputError(`${what}: ${at}.by must be "weights", "limits" or "extreme" (got ${describeValue(by)})`);
}

function parseWeightsField(r: Fields): Weights {
  const w = r.object("weights", CRITERIA);
  const out = { memory: 0, latency: 0, accuracy: 0 };
  for (const c of CRITERIA) {
    const v = w.nonNegativeNumber(c);
    if (v > 1) throw w.expected(c, "a number between 0 and 1", v);
    out[c] = v;
  }
  const sum = out.memory + out.latency + out.accuracy;
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) throw new InputError(`${r.what}: ${r.at}.weights must sum to 1 (got ${Number(sum.toPrecision(12))})`);
  return out;
}

function parseLimits(r: Fields): Constraints {
  const l = r.object("limits", ["maxMemoryBytes", "maxLatencyMs", "maxPerplexity"]);
  if (l.keys().length === 0) throw new InputError(`${r.what}: ${r.at}.limits must set at least one of maxMemoryBytes, maxLatencyMs, maxPerplexity`);
  return {
    ...(l.has("maxMemoryBytes") ? { maxMemoryBytes: l.positiveNumber("maxMemoryBytes") } : {}),
    ...(l.has("maxLatencyMs") ? { maxLatencyMs: l.positiveNumber("maxLatencyMs") } : {}),
    ...(l.has("maxPerplexity") ? { maxPerplexity: l.positiveNumber("maxPerplexity") } : {}),
  };
}

function meanSd(r: Fields, key: string): MeanSd {
  const m = r.object(key, ["mean", "sd"]);
  return { mean: m.positiveNumber("mean"), sd: m.nonNegativeNumber("sd") };
}

function parseDevice(r: Fields, key: string): DeviceDescription {
  const d = r.object(key, ["fingerprint", "hardware", "build"]);
  const fp = d.string("fingerprint");
  if (!/^[0-9a-f]{16}$/.test(fp)) throw d.expected("fingerprint", "a 16-digit hex fingerprint", fp);
  const h = d.object("hardware", ["cpu", "cores", "memoryBytes", "platform", "arch", "gpus"]);
  const gpus = h.array("gpus").map((g, i) => {
    if (typeof g !== "string") throw new InputError(`${h.what}: ${h.at}.gpus[${i}] must be a string (got ${describeValue(g)})`);
    return g;
  });
  const b = d.object("build", ["cuda", "apreqelVersion", "llamaCppCommit"]);
  const cuda = b.value("cuda");
  if (typeof cuda !== "boolean") throw b.expected("cuda", "true or false", cuda);
  return {
    fingerprint: fp,
    hardware: {
      cpu: h.string("cpu"),
      cores: h.positiveInteger("cores"),
      memoryBytes: h.positiveInteger("memoryBytes"),
      platform: h.string("platform"),
      arch: h.string("arch"),
      gpus,
    },
    build: { cuda, apreqelVersion: b.string("apreqelVersion"), llamaCppCommit: b.string("llamaCppCommit") },
  };
}

function unique<T>(items: readonly T[], field: string, key: (t: T) => string, what: string, at = "variants"): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) {
      throw new InputError(`${what}: ${at}[${first}] and ${at}[${i}] have the same ${field} ${JSON.stringify(k)}; each must be unique`);
    }
    seen.set(k, i);
  });
}

/**
 * One object's fields, read by name: every message says `<what>: <at>.<field> must be …
 * (got …)`, and fields outside `known` are refused with the nearest known name.
 */
class Fields {
  readonly raw: Readonly<Record<string, unknown>>;
  constructor(
    value: unknown,
    readonly at: string,
    readonly what: string,
    known: readonly string[] | null,
  ) {
    this.raw = object(value, at, what);
    if (known !== null) {
      for (const key of Object.keys(this.raw)) {
        if (known.includes(key)) continue;
        const near = nearestName(key, known);
        const hint = near === undefined ? `; known fields: ${known.join(", ")}` : `; did you mean "${near}"?`;
        throw new InputError(`${what}: unknown field ${JSON.stringify(key)} in ${at}${hint}`);
      }
    }
  }
  keys(): string[] {
    return Object.keys(this.raw);
  }
  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }
  value(key: string): unknown {
    if (!(key in this.raw)) throw new InputError(`${this.what}: ${this.path(key)} is missing`);
    return this.raw[key];
  }
  expected(key: string, expected: string, got: unknown): InputError {
    return new InputError(`${this.what}: ${this.path(key)} must be ${expected} (got ${describeValue(got)})`);
  }
  object(key: string, known: readonly string[] | null): Fields {
    return new Fields(this.value(key), this.path(key), this.what, known);
  }
  array(key: string): readonly unknown[] {
    const v = this.value(key);
    if (!Array.isArray(v)) throw this.expected(key, "an array", v);
    return v;
  }
  string(key: string): string {
    const v = this.value(key);
    if (typeof v !== "string" || v.length === 0) throw this.expected(key, "a non-empty string", v);
    return v;
  }
  sha256(key: string): string {
    const v = this.value(key);
    if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) throw this.expected(key, "a 64-digit lowercase hex SHA-256", v);
    return v;
  }
  time(key: string): string {
    const v = this.value(key);
    if (typeof v !== "string" || !/^\d{4}-\d\d-\d\dT/.test(v) || Number.isNaN(Date.parse(v))) throw this.expected(key, "an ISO 8601 time like 2026-12-01T23:00:00Z", v);
    return v;
  }
  positiveNumber(key: string): number {
    const v = this.value(key);
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw this.expected(key, "a positive number", v);
    return v;
  }
  nonNegativeNumber(key: string): number {
    const v = this.value(key);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw this.expected(key, "a non-negative number", v);
    return v;
  }
  positiveInteger(key: string): number {
    const v = this.value(key);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw this.expected(key, "a positive integer", v);
    return v;
  }
  nonNegativeInteger(key: string): number {
    const v = this.value(key);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw this.expected(key, "a non-negative integer", v);
    return v;
  }
  private path(key: string): string {
    return this.at === this.what ? key : `${this.at}.${key}`;
  }
}

function object(value: unknown, at: string, what: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(at === what ? `${what} must be a JSON object (got ${describeValue(value)})` : `${what}: ${at} must be an object (got ${describeValue(value)})`);
  }
  return value as Readonly<Record<string, unknown>>;
}
