// Step 1 of the method: how much each sub-layer changes the hidden state.
// A token whose cosine between input and output of a sub-layer falls below γ
// was transformed a lot by it (reward); otherwise the sub-layer mostly passed
// it through (penalty). Layers with a high score matter more and are later
// given the least aggressive types.
import type { SensitivityTable } from "./sensitivity.js";
import { MethodInputError, describeValue } from "./errors.js";
import { layerNameAt, layerOrder, type LayerName } from "./layers.js";

/** One sub-layer's contribution, as stored in scores.json. */
export interface LayerScore {
  readonly name: LayerName;
  /** Tokens with cos < γ. */
  readonly reward: number;
  /** Tokens with cos ≥ γ. */
  readonly penalty: number;
  /** reward − penalty. */
  readonly score: number;
  /** Mean of (1 − cos) over tokens: breaks the frequent ties of integer scores. */
  readonly meanOneMinusCos: number;
}

/** The scores.json contract: γ and one entry per sub-layer in block order. */
export interface ScoresFile {
  readonly gamma: number;
  readonly layers: readonly LayerScore[];
  /** Δ KLD per unit and type, measured by probes (or the proxy); used by the `measured` estimator */
  readonly sensitivity?: SensitivityTable;
}

/** Input of {@link layerScores}. */
export interface CosineInput {
  /** Laid out `[token][2·block + (0 attn | 1 ffn)]`. */
  readonly cosines: Float32Array;
  readonly blocks: number;
  readonly tokens: number;
  /** Threshold; 0.9 when omitted. */
  readonly gamma?: number;
}

/** The paper's γ. */
export const DEFAULT_GAMMA = 0.9;

/**
 * Rewards, penalties, scores and mean (1 − cos) per sub-layer, in block order.
 *
 * @example
 * // 1 block, 2 tokens: attn cosines 0.5, 0.95; ffn cosines 0.99, 0.99
 * layerScores({ cosines: Float32Array.of(0.5, 0.99, 0.95, 0.99), blocks: 1, tokens: 2 })
 * // { gamma: 0.9, layers: [ { name: "blk.0.attn", reward: 1, penalty: 1, score: 0, meanOneMinusCos: ≈0.275 },
 * //                         { name: "blk.0.ffn",  reward: 0, penalty: 2, score: -2, meanOneMinusCos: ≈0.01 } ] }
 */
export function layerScores(input: CosineInput): ScoresFile {
  const { cosines, blocks, tokens } = input;
  const gamma = input.gamma ?? DEFAULT_GAMMA;
  if (!Number.isSafeInteger(blocks) || blocks <= 0) {
    throw new MethodInputError(`blocks must be a positive integer (got ${describeValue(blocks)})`);
  }
  if (!Number.isSafeInteger(tokens) || tokens <= 0) {
    throw new MethodInputError(`tokens must be a positive integer (got ${describeValue(tokens)})`);
  }
  if (!(cosines instanceof Float32Array)) throw new MethodInputError(`cosines must be a Float32Array (got ${describeValue(cosines)})`);
  if (typeof gamma !== "number" || !Number.isFinite(gamma) || gamma < -1 || gamma > 1) {
    throw new MethodInputError(`gamma must be a number between -1 and 1 (got ${describeValue(gamma)})`);
  }
  const width = 2 * blocks;
  if (cosines.length !== width * tokens) {
    throw new MethodInputError(
      `cosines must have tokens × 2·blocks = ${tokens} × ${width} = ${width * tokens} entries (got ${cosines.length})`,
    );
  }
  // Compare in float32, the cosines' precision, as PyTorch does for a float32
  // tensor against a Python scalar: a cosine stored as 0.9f is then not < γ = 0.9.
  const threshold = Math.fround(gamma);
  const rewards = new Float64Array(width);
  const sums = new Float64Array(width);
  for (let t = 0; t < tokens; t++) {
    const row = t * width;
    for (let l = 0; l < width; l++) {
      const cos = cosines[row + l] as number;
      if (!Number.isFinite(cos)) {
        throw new MethodInputError(`cosines[${row + l}] (token ${t}, ${layerNameAt(l)}) must be a finite number (got ${describeValue(cos)})`);
      }
      if (cos < threshold) rewards[l] = (rewards[l] as number) + 1;
      // a cosine computed in float can round to just above 1 (1 + 2^-23): its 1 − cos is 0, not a
      // negative sensitivity that the estimators rightly refuse
      sums[l] = (sums[l] as number) + Math.max(0, 1 - cos);
    }
  }
  const layers: LayerScore[] = [];
  for (let l = 0; l < width; l++) {
    const reward = rewards[l] as number;
    const penalty = tokens - reward;
    layers.push({ name: layerNameAt(l), reward, penalty, score: reward - penalty, meanOneMinusCos: (sums[l] as number) / tokens });
  }
  return { gamma, layers };
}

/**
 * Orders layers most important first: score descending, then mean (1 − cos)
 * descending, then block order (attention before FFN).
 *
 * @example
 * rankLayers([
 *   { name: "blk.0.attn", reward: 1, penalty: 1, score: 0, meanOneMinusCos: 0.2 },
 *   { name: "blk.0.ffn", reward: 2, penalty: 0, score: 2, meanOneMinusCos: 0.1 },
 * ]) // ["blk.0.ffn", "blk.0.attn"]
 */
export function rankLayers(layers: readonly LayerScore[]): LayerName[] {
  return layers
    .map((layer) => ({ layer, order: layerOrder(layer.name) }))
    .sort(
      (a, b) =>
        b.layer.score - a.layer.score || b.layer.meanOneMinusCos - a.layer.meanOneMinusCos || a.order - b.order,
    )
    .map(({ layer }) => layer.name);
}
