/**
 * profile.json as `apreqel profile` writes it: the method's contract (`types.<type>.memoryBytes`,
 * `latencyMsPerToken`, `perplexity`, optional `layerBytes`/`fixedBytes`, top-level `layerParams`)
 * extended with which model was measured and, per type and metric, on what hardware, build and
 * settings. A profile may be partial (`profile --only latency` on the target device,
 * `--only accuracy` elsewhere); {@link mergeProfiles} joins such halves and refuses to mix models.
 */
import { asInputError, describeValue, InputError } from "../core/errors.js";
import { parseLayerName, type LayerName } from "../method/layers.js";
import { parseProfile, type Profile } from "../method/profile.js";
import { parseGgmlType, type GgmlType } from "../method/types.js";
import { canonicalJson } from "../core/json.js";
import type { BuildDescription, Hardware } from "./hardware.js";

/** What `profile --only` can restrict a run to, and what each measurement belongs to. */
export type MetricGroup = "memory" | "latency" | "accuracy";

/** The metric groups, in the order of the method's criteria. */
export const METRIC_GROUPS: readonly MetricGroup[] = ["memory", "latency", "accuracy"];

/** The contract field each group must supply. */
export const GROUP_METRIC: Readonly<Record<MetricGroup, "memoryBytes" | "latencyMsPerToken" | "perplexity">> = {
  memory: "memoryBytes",
  latency: "latencyMsPerToken",
  accuracy: "perplexity",
};

// Known per-type fields and the group whose run produces them. "structure" fields come from
// the uniform file itself, so two profiles of the same model must agree on them.
const FIELD_GROUP: Readonly<Record<string, MetricGroup | "structure">> = {
  memoryBytes: "memory",
  modelBytes: "memory",
  peakRssBytes: "memory",
  latencyMsPerToken: "latency",
  latencyMsPerTokenSd: "latency",
  tokensPerSecond: "latency",
  promptTokensPerSecond: "latency",
  latencyInterval: "latency",
  promptMsPerToken: "latency",
  latencyMachine: "latency",
  perplexity: "accuracy",
  perplexityStderr: "accuracy",
  evalTokens: "accuracy",
  kld: "accuracy",
  layerBytes: "structure",
  fixedBytes: "structure",
  fileBytes: "structure",
};

/** Where and how one metric group was measured. */
export interface Provenance {
  readonly hardware: Hardware;
  readonly build: BuildDescription;
  /** The measurement's settings (context size, chunks, threads, GPU layers, text hash, …). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** ISO time of the measurement. */
  readonly measuredAt?: string;
}

/** The measured model. `sha256` is what merging compares. */
export interface ModelIdentity {
  readonly sha256: string;
  readonly name: string;
  readonly architecture?: string;
  readonly blocks?: number;
  /** Number of sub-layers the method plans (2 per block). */
  readonly layers?: number;
}

/** One uniform type's measurements; any metric may be absent in a partial profile. */
export interface TypeMeasurements {
  readonly memoryBytes?: number;
  readonly latencyMsPerToken?: number;
  readonly perplexity?: number;
  readonly layerBytes?: Readonly<Partial<Record<LayerName, number>>>;
  readonly fixedBytes?: number;
  /** Per metric group present above: what it was measured with. */
  readonly measuredWith: Readonly<Partial<Record<MetricGroup, Provenance>>>;
  /** Further fields (stderr, sd, kld, …) are kept as they are. */
  readonly [field: string]: unknown;
}

/** A (possibly partial) profile.json written by `apreqel profile`. */
export interface ProfileFile {
  readonly model: ModelIdentity;
  /** Settings that shape the uniform files themselves (non-layer tensor type, imatrix, …); merged profiles must agree. */
  readonly quantization?: Readonly<Record<string, unknown>>;
  readonly types: Readonly<Partial<Record<GgmlType, TypeMeasurements>>>;
  readonly layerParams?: Readonly<Partial<Record<LayerName, number>>>;
}

/**
 * Validates a parsed profile.json (`what` names it in messages, e.g. the file path). Metrics
 * present must be finite and positive, and each present metric group must say what it was
 * measured with; `model.sha256` is required (it is what makes merging safe).
 *
 * @example
 * parseProfileFile(JSON.parse(text), "edge.json").types.q4_K?.latencyMsPerToken // 21.3
 */
export function parseProfileFile(value: unknown, what = "profile"): ProfileFile {
  const root = object(value, what);
  if (root["model"] === undefined) {
    throw new InputError(`${what} does not say which model it measured (no "model"); only profiles written by \`apreqel profile\` can be merged`);
  }
  const model = object(root["model"], `${what}: model`);
  const sha256 = model["sha256"];
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new InputError(`${what}: model.sha256 must be the model's 64-digit hex SHA-256 (got ${describeValue(sha256)})`);
  }
  if (typeof model["name"] !== "string") throw new InputError(`${what}: model.name must be a string (got ${describeValue(model["name"])})`);
  const types = object(root["types"], `${what}: types`);
  const parsedTypes: Partial<Record<GgmlType, TypeMeasurements>> = {};
  for (const key of Object.keys(types)) {
    const type = asInputError(() => parseGgmlType(key), what);
    parsedTypes[type] = parseType(object(types[key], `${what}: types.${key}`), `${what}: types.${key}`);
  }
  if (Object.keys(parsedTypes).length === 0) throw new InputError(`${what}: types must list at least one type (got none)`);
  if (root["quantization"] !== undefined) object(root["quantization"], `${what}: quantization`);
  if (root["layerParams"] !== undefined) checkLayerMap(root["layerParams"], `${what}: layerParams`);
  return { ...(root as object), model: model as unknown as ModelIdentity, types: parsedTypes } as ProfileFile;
}

/**
 * Joins two profiles of the same model: per type, each metric group comes from the profile
 * that measured it, with its provenance. Refuses different models (sha256), different
 * quantization settings, a metric group measured in both (ambiguous: which device?), and
 * structure fields (`layerBytes`, …) that disagree. Pure; `names` label the two in messages.
 *
 * @example
 * const full = mergeProfiles(edgeLatency, serverAccuracy, ["edge.json", "server.json"]);
 * full.types.q4_K?.measuredWith.latency?.hardware.cpu // the edge box's CPU
 */
export function mergeProfiles(a: ProfileFile, b: ProfileFile, names: readonly [string, string] = ["the first profile", "the second profile"]): ProfileFile {
  const [nameA, nameB] = names;
  if (a.model.sha256 !== b.model.sha256) {
    throw new InputError(
      `cannot merge profiles of different models: ${nameA} measured ${a.model.name} (sha256 ${a.model.sha256.slice(0, 12)}…), ` +
        `${nameB} measured ${b.model.name} (sha256 ${b.model.sha256.slice(0, 12)}…)`,
    );
  }
  if (canonicalJson(a.quantization ?? {}) !== canonicalJson(b.quantization ?? {})) {
    throw new InputError(
      `cannot merge profiles quantized differently: ${nameA} has quantization ${canonicalJson(a.quantization ?? {})}, ${nameB} has ${canonicalJson(b.quantization ?? {})}`,
    );
  }
  const types: Partial<Record<GgmlType, TypeMeasurements>> = {};
  const all = new Set([...Object.keys(a.types), ...Object.keys(b.types)] as GgmlType[]);
  for (const type of all) {
    const ta = a.types[type];
    const tb = b.types[type];
    types[type] = ta === undefined ? (tb as TypeMeasurements) : tb === undefined ? ta : mergeType(type, ta, tb, nameA, nameB);
  }
  const layerParams = a.layerParams ?? b.layerParams;
  if (a.layerParams !== undefined && b.layerParams !== undefined && canonicalJson(a.layerParams) !== canonicalJson(b.layerParams)) {
    throw new InputError(`cannot merge: ${nameA} and ${nameB} disagree on layerParams (same model, so one of them is corrupt)`);
  }
  return {
    model: { ...b.model, ...a.model },
    ...(a.quantization !== undefined ? { quantization: a.quantization } : b.quantization !== undefined ? { quantization: b.quantization } : {}),
    types,
    ...(layerParams !== undefined ? { layerParams } : {}),
  };
}

/**
 * Which metric groups each type lacks (empty when the profile is complete for `types`).
 *
 * @example
 * missingMetrics(edgeOnly, ["q4_K"]) // { q4_K: ["accuracy"] }
 */
export function missingMetrics(profile: ProfileFile, types: readonly GgmlType[]): Partial<Record<GgmlType, MetricGroup[]>> {
  const out: Partial<Record<GgmlType, MetricGroup[]>> = {};
  for (const type of types) {
    const entry = profile.types[type];
    const missing = METRIC_GROUPS.filter((g) => entry?.[GROUP_METRIC[g]] === undefined);
    if (missing.length > 0) out[type] = missing;
  }
  return out;
}

/**
 * The method's view of a complete profile for `types`; a missing measurement is an error that
 * says which and how to get it.
 *
 * @example
 * plan({ profile: toMethodProfile(merged, types), scores, weights, types })
 */
export function toMethodProfile(profile: ProfileFile, types: readonly GgmlType[]): Profile {
  const missing = missingMetrics(profile, types);
  const lines = Object.entries(missing).map(([type, groups]) => `${type} has no ${(groups as MetricGroup[]).join(", ")} measurement`);
  if (lines.length > 0) {
    throw new InputError(
      `the profile is incomplete: ${lines.join("; ")} (run \`apreqel profile\` for those, e.g. \`--only latency\` on the target device, and pass every profile with --profile)`,
    );
  }
  return asInputError(() => parseProfile(profile), "profile");
}

/**
 * Whether a parsed JSON value is an apreqel profile file (has `model.sha256`) rather than a
 * bare contract profile from another tool.
 *
 * @example
 * isProfileFile({ types: {} }) // false
 */
export function isProfileFile(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { model?: { sha256?: unknown } }).model?.sha256 === "string";
}

function mergeType(type: GgmlType, a: TypeMeasurements, b: TypeMeasurements, nameA: string, nameB: string): TypeMeasurements {
  const out: Record<string, unknown> = {};
  const measuredWith: Partial<Record<MetricGroup, Provenance>> = {};
  for (const group of METRIC_GROUPS) {
    const inA = a[GROUP_METRIC[group]] !== undefined;
    const inB = b[GROUP_METRIC[group]] !== undefined;
    if (inA && inB) {
      throw new InputError(
        `cannot merge: both ${nameA} (on ${where(a, group)}) and ${nameB} (on ${where(b, group)}) measure ${group} of ${type}; ` +
          "merge profiles that measure different things (e.g. `profile --only latency` with `profile --only accuracy`)",
      );
    }
    const from = inA ? a : inB ? b : undefined;
    if (from === undefined) continue;
    const provenance = from.measuredWith[group];
    if (provenance !== undefined) measuredWith[group] = provenance;
    for (const [field, g] of Object.entries(FIELD_GROUP)) if (g === group && from[field] !== undefined) out[field] = from[field];
  }
  for (const source of [a, b]) {
    for (const [field, value] of Object.entries(source)) {
      if (field === "measuredWith" || FIELD_GROUP[field] === "memory" || FIELD_GROUP[field] === "latency" || FIELD_GROUP[field] === "accuracy") continue;
      if (out[field] !== undefined && canonicalJson(out[field]) !== canonicalJson(value)) {
        throw new InputError(`cannot merge: ${nameA} and ${nameB} disagree on ${type}.${field} (the uniform ${type} files differ)`);
      }
      out[field] = value;
    }
  }
  return { ...out, measuredWith } as TypeMeasurements;
}

function where(entry: TypeMeasurements, group: MetricGroup): string {
  const p = entry.measuredWith[group];
  return p === undefined ? "unknown hardware" : `${p.hardware.cpu}${p.hardware.gpus.length > 0 ? ` + ${p.hardware.gpus.join(", ")}` : ""}`;
}

function parseType(entry: Readonly<Record<string, unknown>>, what: string): TypeMeasurements {
  const measuredWith = entry["measuredWith"] === undefined ? {} : object(entry["measuredWith"], `${what}.measuredWith`);
  for (const key of Object.keys(measuredWith)) {
    if (!(METRIC_GROUPS as readonly string[]).includes(key)) {
      throw new InputError(`${what}.measuredWith has ${JSON.stringify(key)}; expected ${METRIC_GROUPS.join(", ")}`);
    }
    const p = object(measuredWith[key], `${what}.measuredWith.${key}`);
    object(p["hardware"], `${what}.measuredWith.${key}.hardware`);
    object(p["build"], `${what}.measuredWith.${key}.build`);
    object(p["settings"], `${what}.measuredWith.${key}.settings`);
  }
  let any = false;
  for (const group of METRIC_GROUPS) {
    const field = GROUP_METRIC[group];
    if (entry[field] === undefined) continue;
    any = true;
    const v = entry[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new InputError(`${what}.${field} must be a positive number (got ${describeValue(v)})`);
    if (measuredWith[group] === undefined) throw new InputError(`${what} has ${field} but no measuredWith.${group} (what it was measured on)`);
  }
  if (!any) throw new InputError(`${what} has none of memoryBytes, latencyMsPerToken, perplexity`);
  if (entry["layerBytes"] !== undefined) checkLayerMap(entry["layerBytes"], `${what}.layerBytes`);
  // the tables and reports read these: a null there was accepted, then threw after the mix was written (issue 22)
  if (entry["latencyInterval"] !== undefined) checkInterval(entry["latencyInterval"], `${what}.latencyInterval`);
  if (entry["promptMsPerToken"] !== undefined && entry["promptMsPerToken"] !== null) checkInterval(entry["promptMsPerToken"], `${what}.promptMsPerToken`);
  return { ...entry, measuredWith } as TypeMeasurements;
}

function checkInterval(value: unknown, what: string): void {
  const o = object(value, what);
  for (const key of ["low", "high"]) {
    const v = o[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InputError(`${what}.${key} must be a number ≥ 0 (got ${describeValue(v)})`);
  }
  if ((o["low"] as number) > (o["high"] as number)) throw new InputError(`${what}: low (${String(o["low"])}) must not exceed high (${String(o["high"])})`);
}

function checkLayerMap(value: unknown, what: string): void {
  const o = object(value, what);
  for (const [key, n] of Object.entries(o)) {
    asInputError(() => parseLayerName(key, `a key of ${what}`), what);
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InputError(`${what}["${key}"] must be a non-negative integer (got ${describeValue(n)})`);
  }
}

function object(value: unknown, what: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError(`${what} must be an object (got ${describeValue(value)})`);
  return value as Readonly<Record<string, unknown>>;
}

