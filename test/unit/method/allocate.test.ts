import { describe, expect, it } from "vitest";
import { allocate, GGML_TYPE_TABLE, type GgmlType, type LayerName } from "../../../lib/method/index.js";
import { blockOrder, prng } from "./helpers.js";

describe("allocate (Algorithm 1)", () => {
  it("gives the most important layers the least aggressive types", () => {
    const allocation = allocate(["blk.0.ffn", "blk.0.attn", "blk.1.attn", "blk.1.ffn"], { q4_K: 2, q8_0: 1, q6_K: 1 });
    // Keys in block order, whatever the ranking.
    expect(Object.entries(allocation)).toEqual([
      ["blk.0.attn", "q6_K"],
      ["blk.0.ffn", "q8_0"],
      ["blk.1.attn", "q4_K"],
      ["blk.1.ffn", "q4_K"],
    ]);
  });

  it("respects the counts and never gives a lower-ranked layer a less aggressive type", () => {
    const random = prng(42);
    const ranking: LayerName[] = blockOrder(32);
    for (let i = ranking.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ranking[i], ranking[j]] = [ranking[j] as LayerName, ranking[i] as LayerName];
    }
    const distribution = { q3_K: 9, q8_0: 5, q5_K: 20, q6_K: 10, q4_K: 20 } as const;
    const allocation = allocate(ranking, distribution);
    const counts: Partial<Record<GgmlType, number>> = {};
    for (const type of Object.values(allocation)) counts[type] = (counts[type] ?? 0) + 1;
    expect(counts).toEqual(distribution);
    const aggressiveness = (t: GgmlType): number => GGML_TYPE_TABLE.findIndex((e) => e.name === t);
    const byRank = ranking.map((layer) => aggressiveness(allocation[layer] as GgmlType));
    for (let r = 1; r < byRank.length; r++) expect(byRank[r]).toBeGreaterThanOrEqual(byRank[r - 1] as number);
  });

  it("rejects counts that do not cover the layers", () => {
    expect(() => allocate(blockOrder(2), { q8_0: 1, q4_K: 2 })).toThrow("distribution counts sum to 3 but there are 4 layers");
    expect(() => allocate(blockOrder(1), { q8_0: -1, q4_K: 3 })).toThrow("distribution.q8_0 must be a non-negative integer (got -1)");
    expect(() => allocate([], { q8_0: 0 })).toThrow("no layers to plan (L = 0)");
    expect(() => allocate(blockOrder(1), { q4_k: 2 } as never)).toThrow('unknown type "q4_k"; did you mean "q4_K"?');
    expect(() => allocate(["blk.0.attn", "blk.0.attn"], { q8_0: 2 })).toThrow('ranking lists "blk.0.attn" twice');
  });
});
