import { describe, expect, it } from "vitest";
import { parseGgmlType, parseProfile, parseWeights, orderTypes } from "../../../lib/method/index.js";

describe("parseProfile", () => {
  it("accepts the contract, keeps the optional extensions and drops other fields", () => {
    const profile = parseProfile({
      model: "x.gguf",
      types: {
        q4_K: { memoryBytes: 10, latencyMsPerToken: 2, perplexity: 6, note: "drop", layerBytes: { "blk.0.attn": 3 }, fixedBytes: 4 },
      },
      layerParams: { "blk.0.attn": 7 },
    });
    expect(profile).toEqual({
      types: { q4_K: { memoryBytes: 10, latencyMsPerToken: 2, perplexity: 6, layerBytes: { "blk.0.attn": 3 }, fixedBytes: 4 } },
      layerParams: { "blk.0.attn": 7 },
    });
  });

  it("rejects broken profiles with the reason", () => {
    const ok = { memoryBytes: 10, latencyMsPerToken: 2, perplexity: 6 };
    expect(() => parseProfile(null)).toThrow("profile must be an object (got null)");
    expect(() => parseProfile({})).toThrow("profile.types must be an object (got undefined)");
    expect(() => parseProfile({ types: {} })).toThrow("profile.types must list at least one type (got none)");
    expect(() => parseProfile({ types: { Q4_K: ok } })).toThrow('unknown type "Q4_K"; did you mean "q4_K"?');
    expect(() => parseProfile({ types: { q4_K: { ...ok, perplexity: "6" } } })).toThrow('profile.types.q4_K.perplexity must be a number (got "6")');
    expect(() => parseProfile({ types: { q4_K: { ...ok, latencyMsPerToken: 0 } } })).toThrow(
      "profile.types.q4_K.latencyMsPerToken must be a positive number (got 0)",
    );
    expect(() => parseProfile({ types: { q4_K: { ...ok, layerBytes: { "blk.0.mlp": 1 } } } })).toThrow(
      'a key of profile.types.q4_K.layerBytes must look like "blk.N.attn" or "blk.N.ffn" (got "blk.0.mlp")',
    );
    expect(() => parseProfile({ types: { q4_K: { ...ok, layerBytes: { "blk.0.attn": 1.5 } } } })).toThrow(
      'profile.types.q4_K.layerBytes["blk.0.attn"] must be a non-negative integer (got 1.5)',
    );
  });
});

describe("types", () => {
  it("suggests the nearest name", () => {
    expect(parseGgmlType("q8_0")).toBe("q8_0");
    expect(() => parseGgmlType("Q8_0")).toThrow('unknown type "Q8_0"; did you mean "q8_0"?');
    expect(() => parseGgmlType("q4_KM")).toThrow('unknown type "q4_KM"; did you mean "q4_K"?');
    expect(() => parseGgmlType("banana")).toThrow('unknown type "banana"');
  });

  it("orders by bits per weight, least aggressive first", () => {
    expect(orderTypes(["q3_K", "q5_K", "q8_0", "q4_K", "q6_K"])).toEqual(["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]);
    expect(orderTypes(["q4_0", "q4_K", "f16", "q2_K"])).toEqual(["f16", "q4_K", "q4_0", "q2_K"]);
    expect(() => orderTypes([])).toThrow("types must list at least one type (got none)");
  });
});

describe("parseWeights", () => {
  it("reads memory,latency,accuracy", () => {
    expect(parseWeights("0.1,0.8,0.1")).toEqual({ memory: 0.1, latency: 0.8, accuracy: 0.1 });
    expect(() => parseWeights("0.1,0.8")).toThrow('weights must be three comma-separated numbers, memory,latency,accuracy (got "0.1,0.8")');
    expect(() => parseWeights("0.1,x,0.1")).toThrow('weights.latency must be a number (got "x")');
    expect(() => parseWeights("0.5,0.5,0.5")).toThrow("weights must sum to 1 (got 1.5)");
  });
});
