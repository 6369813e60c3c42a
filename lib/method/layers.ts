// Sub-layer names. The method treats attention and FFN of each transformer
// block as separate "layers", so a 32-block model has 64 of them, named like
// the GGUF tensor prefix they cover.
import { MethodInputError, describeValue } from "./errors.js";

/** `blk.N.attn` or `blk.N.ffn`. */
export type LayerName = `blk.${number}.attn` | `blk.${number}.ffn`;

/** Which half of a transformer block a sub-layer is. */
export type LayerKind = "attn" | "ffn";

const PATTERN = /^blk\.(0|[1-9][0-9]*)\.(attn|ffn)$/;

/**
 * Name of the sub-layer at flat index `i` (attention before FFN in a block).
 *
 * @example
 * layerNameAt(3) // "blk.1.ffn"
 */
export function layerNameAt(index: number): LayerName {
  return `blk.${index >> 1}.${index & 1 ? "ffn" : "attn"}`;
}

/**
 * Splits a layer name into block and kind, rejecting anything else.
 *
 * @example
 * parseLayerName("blk.12.ffn") // { block: 12, kind: "ffn" }
 */
export function parseLayerName(name: unknown, what = "layer name"): { readonly block: number; readonly kind: LayerKind } {
  const match = typeof name === "string" ? PATTERN.exec(name) : null;
  if (match === null) {
    throw new MethodInputError(`${what} must look like "blk.N.attn" or "blk.N.ffn" (got ${describeValue(name)})`);
  }
  return { block: Number(match[1]), kind: match[2] as LayerKind };
}

/**
 * Position of a layer in block order (attention before FFN).
 *
 * @example
 * layerOrder("blk.1.ffn") // 3
 */
export function layerOrder(name: LayerName): number {
  const { block, kind } = parseLayerName(name);
  return 2 * block + (kind === "ffn" ? 1 : 0);
}

/**
 * Validates a list of distinct layer names; returns them typed.
 *
 * @example
 * parseLayerNames(["blk.0.attn", "blk.0.ffn"], "ranking")
 */
export function parseLayerNames(names: readonly unknown[], what: string): LayerName[] {
  const seen = new Set<string>();
  return names.map((name, i) => {
    parseLayerName(name, `${what}[${i}]`);
    const layer = name as LayerName;
    if (seen.has(layer)) throw new MethodInputError(`${what} lists ${JSON.stringify(layer)} twice`);
    seen.add(layer);
    return layer;
  });
}
