// Shared fixtures for the method's unit tests: a seeded PRNG and small profiles.
import type { CostTable, LayerName, Profile } from "../../../lib/method/index.js";

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

// Three units × three types with small integers, so every sum is exact and a
// 64 × 64 grid gives each distinct (size, latency) pair its own cell: the DP is
// then exact and the front must equal the brute-force front.
export const TINY: CostTable = {
  types: ["q8_0", "q6_K", "q4_K"],
  units: [
    { name: "a", tensors: ["blk.0.attn_q.weight"], params: 8, costs: { q8_0: { bytes: 8, latencyMs: 8, kld: 0 }, q6_K: { bytes: 6, latencyMs: 6, kld: 1 }, q4_K: { bytes: 4, latencyMs: 5, kld: 4 } } },
    { name: "b", tensors: ["blk.0.attn_k.weight"], params: 8, costs: { q8_0: { bytes: 8, latencyMs: 8, kld: 0 }, q6_K: { bytes: 6, latencyMs: 7, kld: 3 }, q4_K: { bytes: 4, latencyMs: 4, kld: 5 } } },
    { name: "c", tensors: ["blk.0.ffn_down.weight"], params: 16, costs: { q8_0: { bytes: 16, latencyMs: 10, kld: 0 }, q6_K: { bytes: 12, latencyMs: 9, kld: 1 }, q4_K: { bytes: 8, latencyMs: 8, kld: 2 } } },
  ],
  fixed: { bytes: 100, latencyMs: 1, kld: 0.5 },
};

