// Reading profile.json: the uniform measurements the distribution search
// interpolates between. The contract is `{ types: { <ggml type>: { memoryBytes,
// latencyMsPerToken, perplexity, ... } } }`; this module adds two optional
// extensions that let the weighted estimator be exact about memory:
// per-type `layerBytes` (bytes of each sub-layer's tensors when the whole model
// is quantized to that type) and `fixedBytes` (the tensors outside the blocks),
// and a top-level `layerParams` (weights per sub-layer).
import { MethodInputError, expectCount, expectObject, expectPositiveNumber } from "./errors.js";
import { parseLayerName, type LayerName } from "./layers.js";
import { parseGgmlType, type GgmlType } from "./types.js";

/** Measurements of the model uniformly quantized to one type. */
export interface TypeProfile {
  /** Measured memory of the uniform model, bytes. */
  readonly memoryBytes: number;
  readonly latencyMsPerToken: number;
  readonly perplexity: number;
  /** Optional: tensor bytes of each sub-layer in the uniform model. */
  readonly layerBytes?: Readonly<Partial<Record<LayerName, number>>>;
  /** Optional, informational: tensor bytes outside the blocks (embeddings, output, norms). */
  readonly fixedBytes?: number;
}

/** The profile.json contract (validated). */
export interface Profile {
  readonly types: Readonly<Partial<Record<GgmlType, TypeProfile>>>;
  /** Optional: parameter count per sub-layer (otherwise derived from layerBytes). */
  readonly layerParams?: Readonly<Partial<Record<LayerName, number>>>;
}

/**
 * Validates a parsed profile.json. Type names must be ggml's (a typo gets a
 * suggestion); metrics must be finite and positive; extra fields are allowed
 * and dropped.
 *
 * @example
 * parseProfile({ types: { q4_K: { memoryBytes: 4.1e9, latencyMsPerToken: 21, perplexity: 6.1 } } })
 * parseProfile({ types: {} }) // throws: profile.types must list at least one type (got none)
 */
export function parseProfile(value: unknown): Profile {
  const root = expectObject(value, "profile");
  const typesObject = expectObject(root["types"], "profile.types");
  const names = Object.keys(typesObject);
  if (names.length === 0) throw new MethodInputError("profile.types must list at least one type (got none)");
  const types: Partial<Record<GgmlType, TypeProfile>> = {};
  for (const key of names) {
    const type = parseGgmlType(key);
    const what = `profile.types.${type}`;
    const entry = expectObject(typesObject[key], what);
    const parsed: {
      memoryBytes: number;
      latencyMsPerToken: number;
      perplexity: number;
      layerBytes?: Partial<Record<LayerName, number>>;
      fixedBytes?: number;
    } = {
      memoryBytes: expectPositiveNumber(entry["memoryBytes"], `${what}.memoryBytes`),
      latencyMsPerToken: expectPositiveNumber(entry["latencyMsPerToken"], `${what}.latencyMsPerToken`),
      perplexity: expectPositiveNumber(entry["perplexity"], `${what}.perplexity`),
    };
    if (entry["layerBytes"] !== undefined) parsed.layerBytes = parseLayerMap(entry["layerBytes"], `${what}.layerBytes`);
    if (entry["fixedBytes"] !== undefined) parsed.fixedBytes = expectCount(entry["fixedBytes"], `${what}.fixedBytes`);
    types[type] = parsed;
  }
  if (root["layerParams"] === undefined) return { types };
  return { types, layerParams: parseLayerMap(root["layerParams"], "profile.layerParams") };
}

/**
 * The measurements of one type, or an error naming what the profile has.
 *
 * @example
 * profileEntry(profile, "q3_K") // throws: profile has no measurements for type "q3_K" (it has q8_0, q4_K)
 */
export function profileEntry(profile: Profile, type: GgmlType): TypeProfile {
  const entry = profile.types[type];
  if (entry === undefined) {
    throw new MethodInputError(
      `profile has no measurements for type ${JSON.stringify(type)} (it has ${Object.keys(profile.types).join(", ")})`,
    );
  }
  return entry;
}

function parseLayerMap(value: unknown, what: string): Partial<Record<LayerName, number>> {
  const o = expectObject(value, what);
  const out: Partial<Record<LayerName, number>> = {};
  for (const key of Object.keys(o)) {
    parseLayerName(key, `a key of ${what}`);
    const n = expectCount(o[key], `${what}["${key}"]`);
    out[key as LayerName] = n;
  }
  if (Object.keys(out).length === 0) throw new MethodInputError(`${what} must list at least one layer (got none)`);
  return out;
}
