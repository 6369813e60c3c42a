// Step 4, the paper's Algorithm 1: walk the layers from most to least
// important and hand out the types from least to most aggressive, each in the
// number the chosen distribution asks for.
import { MethodInputError, describeValue } from "./errors.js";
import { layerOrder, parseLayerNames, type LayerName } from "./layers.js";
import { orderTypes, parseGgmlType, type GgmlType } from "./types.js";

/** Layers per type, e.g. `{ q8_0: 10, q4_K: 54 }`; key order does not matter. */
export type Distribution = Readonly<Partial<Record<GgmlType, number>>>;

/** Type per layer, keys in block order (attention before FFN). */
export type Allocation = Readonly<Record<LayerName, GgmlType>>;

/**
 * Assigns types to layers: the first `count` layers of the ranking (most
 * important first) get the least aggressive type of the distribution, the
 * next ones the next type, and so on. Counts must add up to the number of
 * layers.
 *
 * @example
 * allocate(["blk.0.ffn", "blk.0.attn", "blk.1.attn", "blk.1.ffn"], { q4_K: 3, q8_0: 1 })
 * // { "blk.0.attn": "q4_K", "blk.0.ffn": "q8_0", "blk.1.attn": "q4_K", "blk.1.ffn": "q4_K" }
 */
export function allocate(ranking: readonly LayerName[], distribution: Distribution): Allocation {
  const layers = parseLayerNames(ranking, "ranking");
  if (layers.length === 0) throw new MethodInputError("no layers to plan (L = 0)");
  const keys = Object.keys(distribution).map((k) => parseGgmlType(k));
  const types = orderTypes(keys);
  let total = 0;
  for (const type of types) {
    const count = distribution[type];
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) {
      throw new MethodInputError(`distribution.${type} must be a non-negative integer (got ${describeValue(count)})`);
    }
    total += count;
  }
  if (total !== layers.length) {
    throw new MethodInputError(`distribution counts sum to ${total} but there are ${layers.length} layers`);
  }
  const assigned = new Map<LayerName, GgmlType>();
  let next = 0;
  for (const type of types) {
    const end = next + (distribution[type] as number);
    for (; next < end; next++) assigned.set(layers[next] as LayerName, type);
  }
  const out: Partial<Record<LayerName, GgmlType>> = {};
  for (const layer of [...layers].sort((a, b) => layerOrder(a) - layerOrder(b))) out[layer] = assigned.get(layer) as GgmlType;
  return out as Allocation;
}
