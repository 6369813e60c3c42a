/** Cache keys: a SHA-256 over everything that determines an entry's content. */
import { createHash } from "node:crypto";
import { describeValue } from "../core/errors.js";
import { canonicalJson } from "../core/json.js";

/** What the cache holds. */
export type CacheKind = "uniform" | "similarity" | "measurement" | "probe";

/** The inputs a key is made of (stored in the entry's manifest, so an entry says what it is). */
export interface CacheKeyInputs {
  /** SHA-256 of the source model's bytes. */
  readonly modelSha256: string;
  readonly kind: CacheKind;
  /** The ggml type the entry is for, or null when it covers several. */
  readonly type: string | null;
  /** Everything else that changes the content: threads do not, imatrix, context size, text hashes do. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Hardware/build fingerprint where the content depends on them (latency does; a quantized file only on the build). */
  readonly fingerprint: string;
}

/** A key: its hex id and the inputs it was made from. */
export interface CacheKey {
  readonly id: string;
  readonly inputs: CacheKeyInputs;
}

const KEY_VERSION = 1;

/**
 * The key of an entry: sha256 over the canonical JSON of its inputs (object keys sorted, so
 * the order settings are written in does not matter).
 *
 * @example
 * cacheKey({ modelSha256, kind: "uniform", type: "q4_K", settings: { nonLayerType: "q8_0" }, fingerprint }).id // 64 hex digits
 */
export function cacheKey(inputs: CacheKeyInputs): CacheKey {
  if (!/^[0-9a-f]{64}$/.test(inputs.modelSha256)) {
    throw new TypeError(`cache key: modelSha256 must be 64 hex digits (got ${describeValue(inputs.modelSha256)})`);
  }
  const id = createHash("sha256").update(canonicalJson({ v: KEY_VERSION, ...inputs })).digest("hex");
  return { id, inputs };
}
