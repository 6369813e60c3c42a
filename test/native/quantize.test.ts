import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { tensorBytes } from "../helpers/bytes.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { listing, tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let model: string;

beforeAll(async () => {
  model = await fixtureModel();
});

describe("quantize", () => {
  it("reports the type of every tensor as inspect reads it back", async () => {
    const out = path.join(dir, "q4_K.gguf");
    const result = await quantize({ input: model, output: out, type: "q4_K" });
    const info = await inspect(out);
    expect(result.tensors).toEqual(info.tensors.map((t) => ({ name: t.name, type: t.type, bytes: t.bytes })));
    // pure: every 2-D weight is q4_K (rows of 256 fit); norms stay f32
    for (const t of info.tensors) expect(t.type).toBe(t.quantizable ? "q4_K" : "f32");
  });

  it("overrides giving every block tensor type T equal a pure type-T quantization", async () => {
    const pure = await quantize({ input: model, output: path.join(dir, "pure-q5_K.gguf"), type: "q5_K" });
    const base = await inspect(model);
    const overrides: Record<string, string> = {};
    for (const t of base.tensors) if (t.subLayer !== null && t.quantizable) overrides[t.name] = "q5_K";
    expect(Object.keys(overrides).length).toBe(4 * 7);
    const mixed = await quantize({ input: model, output: path.join(dir, "override-q5_K.gguf"), type: "q8_0", overrides });
    const a = await inspect(pure.output);
    const b = await inspect(mixed.output);
    for (const name of Object.keys(overrides)) {
      expect(b.tensors.find((t) => t.name === name)?.type).toBe("q5_K");
      expect(tensorBytes(b, name).equals(tensorBytes(a, name))).toBe(true);
    }
    // the tensors outside the blocks keep the base type
    expect(b.tensors.find((t) => t.name === "token_embd.weight")?.type).toBe("q8_0");
  });

  it("override names are matched exactly, not as regular expressions", async () => {
    // llama.cpp matches tt_overrides with regex_search: unescaped and unanchored,
    // "blk.1.attn_q.weight" would also hit blk.11.attn_q.weight in a 12-block model.
    const twelve = await fixtureModel({ nEmbd: 256, nFf: 256, nLayer: 12, nHead: 4, nHeadKv: 2 });
    const out = path.join(dir, "one-override.gguf");
    const r = await quantize({ input: twelve, output: out, type: "q8_0", overrides: { "blk.1.attn_q.weight": "q3_K" } });
    const changed = r.tensors.filter((t) => t.type === "q3_K").map((t) => t.name);
    expect(changed).toEqual(["blk.1.attn_q.weight"]);
  });

  it("falls back as llama.cpp does where rows do not fit the type, and reports it", async () => {
    // n_embd 288 is not a multiple of 256: K-quants cannot hold these rows
    const odd = await fixtureModel({ nEmbd: 288, nFf: 768, nLayer: 1, nHead: 4, nHeadKv: 2 });
    const r = await quantize({ input: odd, output: path.join(dir, "fallback.gguf"), type: "q4_K" });
    const q = r.tensors.find((t) => t.name === "blk.0.attn_q.weight");
    expect(q?.type).not.toBe("q4_K");
    expect(q?.type).toMatch(/^(q5_0|q4_0|q5_1|q4_1|q8_0|iq4_nl)$/);
  });

  it("quantizes to llama.cpp presets", async () => {
    const r = await quantize({ input: model, output: path.join(dir, "Q4_K_M.gguf"), preset: "Q4_K_M" });
    const types = new Set(r.tensors.filter((t) => t.name.includes("blk.")).map((t) => t.type));
    expect(types.has("q4_K")).toBe(true);
    expect(types.has("q6_K")).toBe(true); // Q4_K_M keeps some ffn_down / attn_v at q6_K
  });

  it("reports progress from 0 to 1", async () => {
    const seen: number[] = [];
    await quantize({ input: model, output: path.join(dir, "progress.gguf"), type: "q8_0", onProgress: (f) => seen.push(f) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it("a progress callback that throws stops the call, which rejects with that exception and writes nothing", async () => {
    const mistake = new Error("the caller's progress bar broke");
    let calls = 0;
    const output = path.join(dir, "throwing-progress.gguf");
    await expect(
      quantize({ input: model, output, type: "q8_0", onProgress: () => { calls++; throw mistake; } }),
    ).rejects.toBe(mistake);
    expect(calls).toBe(1); // stopped at the first exception, not called again
    expect(listing(dir).filter((f) => f.includes("throwing-progress"))).toEqual([]);
  });
});
