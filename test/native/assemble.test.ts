import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { generate } from "../../lib/ops/generate.js";
import { inspect, type ModelInfo } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { tensorBytes } from "../helpers/bytes.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { readFileSync } from "node:fs";

const dir = tempDir();
let q4: ModelInfo;
let q8: ModelInfo;

beforeAll(async () => {
  const model = await fixtureModel();
  q4 = await inspect((await quantize({ input: model, output: path.join(dir, "q4_K.gguf"), type: "q4_K" })).output);
  q8 = await inspect((await quantize({ input: model, output: path.join(dir, "q8_0.gguf"), type: "q8_0" })).output);
});

describe("assemble", () => {
  it("taking every tensor from the q4_K file reproduces its tensor data byte for byte", async () => {
    const assignment = Object.fromEntries(q4.tensors.map((t) => [t.name, "q4_K"]));
    const r = await assemble({ base: q8.path, sources: { q4_K: q4.path, q8_0: q8.path }, assignment, output: path.join(dir, "all-q4.gguf") });
    for (const t of q4.tensors) {
      expect(r.model.tensors.find((x) => x.name === t.name)?.type).toBe(t.type);
      expect(tensorBytes(r.model, t.name).equals(tensorBytes(q4, t.name))).toBe(true);
    }
    // same metadata and layout as the q4_K file except the base's file type: the whole data section matches
    const a = readFileSync(r.output);
    const b = readFileSync(q4.path);
    expect(a.subarray(r.model.tensors[0]!.offset).equals(b.subarray(q4.tensors[0]!.offset))).toBe(true);
  });

  it("a q4_K/q8_0 mix has the assigned types, labels itself, and runs in llama.cpp", async () => {
    const assignment: Record<string, string> = {};
    for (const t of q4.tensors) {
      if (!t.quantizable) continue;
      assignment[t.name] = t.subLayer?.endsWith(".ffn") ? "q4_K" : "q8_0";
    }
    const r = await assemble({
      base: q8.path,
      sources: { q4_K: q4.path, q8_0: q8.path },
      assignment,
      output: path.join(dir, "mix.gguf"),
      metadata: { "apreqel.note": "test mix" },
    });
    for (const [name, type] of Object.entries(assignment)) {
      expect(r.model.tensors.find((t) => t.name === name)?.type).toBe(type);
    }
    expect(r.model.metadata["apreqel.note"]).toBe("test mix");
    const out = await generate({ model: r.output, prompt: "Once upon a time", nPredict: 8 });
    expect(out.tokens.length).toBeGreaterThan(0);
  });

  it("rejects a source whose tensor has another shape", async () => {
    const other = await fixtureModel({ nEmbd: 512, nFf: 768, nLayer: 4, nHead: 4, nHeadKv: 2 });
    await expect(
      assemble({ base: q8.path, sources: { other }, assignment: { "blk.0.attn_q.weight": "other" }, output: path.join(dir, "bad.gguf") }),
    ).rejects.toThrow(/blk\.0\.attn_q\.weight has a different shape/);
  });
});
