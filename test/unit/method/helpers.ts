// Shared fixtures for the method's unit tests: a seeded PRNG and small profiles.
import type { LayerName, Profile } from "../../../lib/method/index.js";

export { prng } from "../../../scripts/shared/prng.js";

/** Layer names of a model with `blocks` blocks, in block order. */
export function blockOrder(blocks: number): LayerName[] {
  return Array.from({ length: 2 * blocks }, (_, i) => `blk.${i >> 1}.${i & 1 ? "ffn" : "attn"}` as LayerName);
}

/** The five default types with plausible, strictly ordered metrics (no layerBytes). */
export const FIVE_TYPES: Profile = {
  types: {
    q8_0: { memoryBytes: 8.5e9, latencyMsPerToken: 40, perplexity: 5.8 },
    q6_K: { memoryBytes: 6.6e9, latencyMsPerToken: 33, perplexity: 5.81 },
    q5_K: { memoryBytes: 5.5e9, latencyMsPerToken: 29, perplexity: 5.85 },
    q4_K: { memoryBytes: 4.6e9, latencyMsPerToken: 25, perplexity: 5.95 },
    q3_K: { memoryBytes: 3.5e9, latencyMsPerToken: 22, perplexity: 6.4 },
  },
};
