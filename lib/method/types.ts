// The ggml tensor types the method can allocate, ordered least → most
// aggressive. Bits per weight are ggml's block size / type size (e.g. q4_K:
// 144 bytes per 256 weights = 4.5), so the order is the order of how much a
// type compresses; the method gives the most important layers the first ones.
import { MethodInputError, describeValue, nearestName } from "./errors.js";

/**
 * ggml's lower-case type names as llama.cpp prints them, least aggressive
 * first. Where two types have the same bits per weight the one listed first
 * (the K-quant, usually the more accurate) counts as less aggressive.
 *
 * @example
 * GGML_TYPE_TABLE.find((t) => t.name === "q4_K")?.bitsPerWeight // 4.5
 */
export const GGML_TYPE_TABLE = [
  { name: "f32", bitsPerWeight: 32 },
  { name: "f16", bitsPerWeight: 16 },
  { name: "bf16", bitsPerWeight: 16 },
  { name: "q8_0", bitsPerWeight: 8.5 },
  { name: "q6_K", bitsPerWeight: 6.5625 },
  { name: "q5_1", bitsPerWeight: 6 },
  { name: "q5_K", bitsPerWeight: 5.5 },
  { name: "q5_0", bitsPerWeight: 5.5 },
  { name: "q4_1", bitsPerWeight: 5 },
  { name: "q4_K", bitsPerWeight: 4.5 },
  { name: "iq4_nl", bitsPerWeight: 4.5 },
  { name: "q4_0", bitsPerWeight: 4.5 },
  { name: "iq4_xs", bitsPerWeight: 4.25 },
  { name: "q3_K", bitsPerWeight: 3.4375 },
  { name: "iq3_s", bitsPerWeight: 3.4375 },
  { name: "iq3_xxs", bitsPerWeight: 3.0625 },
  { name: "q2_K", bitsPerWeight: 2.625 },
  { name: "iq2_s", bitsPerWeight: 2.5625 },
  { name: "iq2_xs", bitsPerWeight: 2.3125 },
  { name: "iq2_xxs", bitsPerWeight: 2.0625 },
  { name: "tq2_0", bitsPerWeight: 2.0625 },
  { name: "iq1_m", bitsPerWeight: 1.75 },
  { name: "tq1_0", bitsPerWeight: 1.6875 },
  { name: "iq1_s", bitsPerWeight: 1.5625 },
] as const;

/** A ggml type name the method knows, e.g. `"q4_K"`. */
export type GgmlType = (typeof GGML_TYPE_TABLE)[number]["name"];

/**
 * The paper's candidate set, least aggressive first.
 *
 * @example
 * DEFAULT_TYPES // ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]
 */
export const DEFAULT_TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"];

const RANK = new Map<string, number>(GGML_TYPE_TABLE.map((t, i) => [t.name, i]));
const BPW = new Map<string, number>(GGML_TYPE_TABLE.map((t) => [t.name, t.bitsPerWeight]));

/**
 * Whether `name` is a known ggml type name (exact, case-sensitive).
 *
 * @example
 * isGgmlType("q4_K") // true
 * isGgmlType("Q4_K") // false
 */
export function isGgmlType(name: string): name is GgmlType {
  return RANK.has(name);
}

/**
 * Bits per weight of a type.
 *
 * @example
 * bitsPerWeight("q6_K") // 6.5625
 */
export function bitsPerWeight(type: GgmlType): number {
  return BPW.get(type) as number;
}

/**
 * Validates a type name, suggesting the nearest known one on a typo.
 *
 * @example
 * parseGgmlType("q4_K") // "q4_K"
 * parseGgmlType("q4_k") // throws: unknown type "q4_k"; did you mean "q4_K"?
 */
export function parseGgmlType(name: unknown): GgmlType {
  if (typeof name !== "string") throw new MethodInputError(`type must be a string (got ${describeValue(name)})`);
  if (isGgmlType(name)) return name;
  const near = nearestName(name, GGML_TYPE_TABLE.map((t) => t.name));
  throw new MethodInputError(
    near === undefined ? `unknown type ${JSON.stringify(name)}` : `unknown type ${JSON.stringify(name)}; did you mean ${JSON.stringify(near)}?`,
  );
}

/**
 * Sorts types least → most aggressive and rejects duplicates and an empty
 * list; returns a new array.
 *
 * @example
 * orderTypes(["q4_K", "q8_0", "q6_K"]) // ["q8_0", "q6_K", "q4_K"]
 */
export function orderTypes(types: readonly GgmlType[]): GgmlType[] {
  if (types.length === 0) throw new MethodInputError("types must list at least one type (got none)");
  const seen = new Set<string>();
  for (const t of types) {
    const type = parseGgmlType(t);
    if (seen.has(type)) throw new MethodInputError(`type ${JSON.stringify(type)} is listed twice`);
    seen.add(type);
  }
  return [...types].sort((a, b) => (RANK.get(a) as number) - (RANK.get(b) as number));
}
