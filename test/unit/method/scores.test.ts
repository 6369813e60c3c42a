import { describe, expect, it } from "vitest";
import { layerScores, parseScores, rankLayers, type LayerScore } from "../../../lib/method/index.js";

describe("layerScores", () => {
  it("counts rewards below γ and penalties at or above it, per sub-layer", () => {
    // 2 blocks, 3 tokens; row = token, columns blk.0.attn, blk.0.ffn, blk.1.attn, blk.1.ffn.
    const cosines = Float32Array.of(
      0.5, 0.95, 0.9, 0.2, //
      0.8, 0.99, 0.95, 0.3, //
      0.95, 0.97, 0.91, 0.4,
    );
    const { gamma, layers } = layerScores({ cosines, blocks: 2, tokens: 3 });
    expect(gamma).toBe(0.9);
    expect(layers.map((l) => [l.name, l.reward, l.penalty, l.score])).toEqual([
      ["blk.0.attn", 2, 1, 1],
      ["blk.0.ffn", 0, 3, -3],
      // 0.9 stored as float32 is compared in float32: not below γ.
      ["blk.1.attn", 0, 3, -3],
      ["blk.1.ffn", 3, 0, 3],
    ]);
    // mean(1 − cos) of blk.0.attn: (0.5 + 0.2 + 0.05) / 3 = 0.25 (float32 inputs: 1e-7)
    expect(layers[0]?.meanOneMinusCos).toBeCloseTo(0.25, 6);
    expect(layers[3]?.meanOneMinusCos).toBeCloseTo((0.8 + 0.7 + 0.6) / 3, 6);
  });

  it("clamps 1 − cos at 0 for a cosine rounded just above 1 (1 + 2^-23)", () => {
    // float rounding of a dot product over norms: qwen3 gave 1 − cos = −1.75e-9, which the
    // sensitivity estimator refused ("must be a finite number ≥ 0")
    const above = Math.fround(1 + 2 ** -23);
    expect(above).toBeGreaterThan(1);
    const s = layerScores({ cosines: Float32Array.of(above, 0.5, above, 0.7), blocks: 1, tokens: 2 });
    expect(s.layers[0]!.meanOneMinusCos).toBe(0);
    // the other sub-layer is unaffected: (0.5 + 0.3) / 2 in float32 inputs
    expect(s.layers[1]!.meanOneMinusCos).toBeCloseTo((1 - Math.fround(0.5) + 1 - Math.fround(0.7)) / 2, 12);
  });

  it("takes γ as an option", () => {
    const { layers } = layerScores({ cosines: Float32Array.of(0.5, 0.7), blocks: 1, tokens: 1, gamma: 0.6 });
    expect(layers.map((l) => l.score)).toEqual([1, -1]);
  });

  it("rejects bad shapes and values", () => {
    expect(() => layerScores({ cosines: new Float32Array(0), blocks: 0, tokens: 1 })).toThrow("blocks must be a positive integer (got 0)");
    expect(() => layerScores({ cosines: new Float32Array(4), blocks: 1, tokens: 0 })).toThrow("tokens must be a positive integer (got 0)");
    expect(() => layerScores({ cosines: new Float32Array(3), blocks: 1, tokens: 2 })).toThrow(
      "cosines must have tokens × 2·blocks = 2 × 2 = 4 entries (got 3)",
    );
    expect(() => layerScores({ cosines: Float32Array.of(0.5, Number.NaN), blocks: 1, tokens: 1 })).toThrow(
      "cosines[1] (token 0, blk.0.ffn) must be a finite number (got NaN)",
    );
    expect(() => layerScores({ cosines: Float32Array.of(0.5, 0.5), blocks: 1, tokens: 1, gamma: 2 })).toThrow(
      "gamma must be a number between -1 and 1 (got 2)",
    );
  });
});

describe("rankLayers", () => {
  const layer = (name: LayerScore["name"], score: number, meanOneMinusCos: number): LayerScore => ({
    name,
    reward: score,
    penalty: 0,
    score,
    meanOneMinusCos,
  });

  it("orders by score, then mean (1 − cos), then block order", () => {
    const ranked = rankLayers([
      layer("blk.0.attn", 5, 0.1),
      layer("blk.0.ffn", 7, 0.1),
      layer("blk.1.attn", 5, 0.3),
      layer("blk.1.ffn", 5, 0.1),
      layer("blk.10.attn", 5, 0.1),
    ]);
    expect(ranked).toEqual(["blk.0.ffn", "blk.1.attn", "blk.0.attn", "blk.1.ffn", "blk.10.attn"]);
  });
});

describe("parseScores", () => {
  const good = {
    gamma: 0.9,
    extra: "kept out",
    layers: [
      { name: "blk.0.attn", reward: 3, penalty: 1, score: 2, meanOneMinusCos: 0.2 },
      { name: "blk.0.ffn", reward: 1, penalty: 3, score: -2, meanOneMinusCos: 0.05 },
    ],
  };

  it("round-trips what layerScores produces", () => {
    const scores = layerScores({ cosines: Float32Array.of(0.5, 0.99), blocks: 1, tokens: 1 });
    expect(parseScores(JSON.parse(JSON.stringify(scores)))).toEqual(scores);
    expect(parseScores(good).layers).toHaveLength(2);
  });

  it("rejects what breaks the contract", () => {
    expect(() => parseScores({ gamma: 0.9, layers: [] })).toThrow("no layers to plan (L = 0): scores.layers is empty");
    expect(() => parseScores({ ...good, gamma: Number.NaN })).toThrow("scores.gamma must be a finite number (got NaN)");
    const swapped = { ...good, layers: [good.layers[1], good.layers[0]] };
    expect(() => parseScores(swapped)).toThrow('scores.layers[1].name must come after the previous layer in block order (got "blk.0.attn")');
    const wrongScore = { ...good, layers: [{ ...good.layers[0], score: 3 }] };
    expect(() => parseScores(wrongScore)).toThrow("scores.layers[0].score must equal reward − penalty = 2 (got 3)");
    const badName = { ...good, layers: [{ ...good.layers[0], name: "blk.0.mlp" }] };
    expect(() => parseScores(badName)).toThrow('scores.layers[0].name must look like "blk.N.attn" or "blk.N.ffn" (got "blk.0.mlp")');
    const nanMean = { ...good, layers: [{ ...good.layers[0], meanOneMinusCos: Number.NaN }] };
    expect(() => parseScores(nanMean)).toThrow("scores.layers[0].meanOneMinusCos must be a finite number (got NaN)");
  });
});
