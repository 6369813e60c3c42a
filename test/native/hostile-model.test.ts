// Issue 12, item 1: files that gguf's parser accepts (consistent offsets) but that llama.cpp used to
// abort on (SIGABRT/SIGFPE) are rejected before any load, naming the file and the reason; the valid
// alignments that made the quantizer write a short file now work. Every file is written by the
// test from the generated fixture (scripts/shared/gguf-edit.ts rewrites the offsets).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { GgufType, gv, rewriteGguf, stringArray, type GgufModel } from "../../scripts/shared/gguf-edit.js";
import { listing, tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let model: string;
const TEXT = "The river remembers the morning light, and the old mill turns slowly while the village wakes.";
const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

beforeAll(async () => {
  model = await fixtureModel({ nLayer: 2 });
});

function variant(name: string, edit: (m: GgufModel) => void, alignment?: number): string {
  return rewriteGguf(model, path.join(dir, `${name}.gguf`), edit, { fitData: true, ...(alignment ? { alignment } : {}) });
}

const tensor = (m: GgufModel, name: string) => {
  const t = m.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

describe("rejected before llama.cpp sees them (quantize and a model load)", () => {
  const cases: Array<[string, (m: GgufModel) => void, RegExp, number?]> = [
    [
      "general.alignment = 1 (valid GGUF, tensors not 32-byte aligned)",
      (m) => m.kvs.set("general.alignment", gv.u32(1)),
      /not a multiple of 32 \(general\.alignment is 1\); llama\.cpp needs tensor data aligned to 32 bytes/,
      1,
    ],
    [
      "general.alignment = 8",
      (m) => m.kvs.set("general.alignment", gv.u32(8)),
      /not a multiple of 32 \(general\.alignment is 8\)/,
      8,
    ],
    [
      "a per-layer head_count_kv array that contradicts the shapes",
      (m) => m.kvs.set("llama.attention.head_count_kv", gv.array(GgufType.U32, [2, 1])),
      /metadata llama\.attention\.head_count_kv is 1 for layer 1 and 2 for layer 0, but blk\.1\.attn_k\.weight has ne\[1\] = 128 where blk\.0\.attn_k\.weight has ne\[1\] = 128/,
    ],
    [
      "a per-layer feed_forward_length array that contradicts the shapes",
      (m) => m.kvs.set("llama.feed_forward_length", gv.array(GgufType.U32, [768, 1536])),
      /metadata llama\.feed_forward_length is 1536 for layer 1 and 768 for layer 0, but blk\.1\.ffn_up\.weight has ne\[1\] = 768/,
    ],
    [
      "query heads not a multiple of key/value heads, with shapes made to match",
      (m) => {
        m.kvs.set("llama.attention.head_count_kv", gv.u32(3));
        for (const il of [0, 1]) for (const w of ["attn_k", "attn_v"]) tensor(m, `blk.${il}.${w}.weight`).shape = [256n, 192n];
      },
      /layer 0 has 4 attention heads \(llama\.attention\.head_count\), not a multiple of its 3 key\/value heads/,
    ],
    [
      "one token string twice in the vocabulary",
      (m) => {
        const tokens = stringArray(m.kvs.get("tokenizer.ggml.tokens")!);
        tokens[1000] = tokens[1001]!;
        m.kvs.set("tokenizer.ggml.tokens", gv.array(GgufType.STRING, tokens));
      },
      /tokenizer\.ggml\.tokens has the token ".*" twice \(again at id 1001\)/,
    ],
    [
      "byte tokens with a tokenizer that has none (bert): token_to_byte's GGML_ABORT (found by the fuzzer)",
      (m) => void m.kvs.set("tokenizer.ggml.model", gv.string("bert")),
      /token \d+ is a byte token, but tokenizer\.ggml\.model "bert" has no byte tokens/,
    ],
    [
      "a zero dimension with consistent offsets",
      (m) => {
        tensor(m, "blk.0.ffn_norm.weight").shape = [0n];
      },
      /tensor blk\.0\.ffn_norm\.weight has a zero dimension \[0, 1, 1, 1\]/,
    ],
    [
      "a zero first dimension of a matrix",
      (m) => {
        tensor(m, "blk.1.attn_q.weight").shape = [0n, 256n];
      },
      /tensor blk\.1\.attn_q\.weight has a zero dimension \[0, 256, 1, 1\]/,
    ],
  ];
  for (const [what, edit, message, alignment] of cases) {
    it(what, async () => {
      const file = variant(what.replace(/\W+/g, "-"), edit, alignment);
      const before = listing(dir);
      const hash = sha(file);
      const prefix = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a valid GGUF file: `);
      for (const call of [
        () => quantize({ input: file, output: path.join(dir, "out.gguf"), type: "q8_0" }),
        () => captureSimilarity({ model: file, texts: [TEXT], nCtx: 32, nBatch: 32, threads: 1 }),
      ]) {
        const e = await call().then(() => undefined, (err: unknown) => err);
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(prefix);
        expect((e as Error).message).toMatch(message);
      }
      expect(listing(dir)).toEqual(before);
      expect(sha(file)).toBe(hash);
    });
  }
});

describe("alignments the quantizer used to get wrong", () => {
  for (const alignment of [64, 4096]) {
    it(`general.alignment = ${alignment}: quantize writes a complete file that loads`, async () => {
      const file = variant(`align-${alignment}`, (m) => m.kvs.set("general.alignment", gv.u32(alignment)), alignment);
      const out = path.join(dir, `align-${alignment}-q8_0.gguf`);
      await quantize({ input: file, output: out, type: "q8_0" });
      const info = await inspect(out); // checks every tensor's data lies inside the file
      expect(info.tensors.length).toBeGreaterThan(0);
      const cap = await captureSimilarity({ model: out, texts: [TEXT], nCtx: 32, nBatch: 32, threads: 1 });
      expect(cap.blocks).toBe(2);
    });
  }
});

describe("very low-bit types without an importance matrix", () => {
  for (const [what, opts] of [
    ["outputType iq2_xxs", { type: "q4_K", outputType: "iq2_xxs" }],
    ["tokenEmbeddingType iq1_s", { type: "q4_K", tokenEmbeddingType: "iq1_s" }],
    ["pure iq2_xs", { type: "iq2_xs" }],
  ] as const) {
    it(`${what}: an Error, not GGML_ASSERT(imatrix != NULL)`, async () => {
      const before = listing(dir);
      await expect(quantize({ input: model, output: path.join(dir, "lowbit.gguf"), ...opts })).rejects.toThrow(
        /importance matrix|imatrix/,
      );
      expect(listing(dir)).toEqual(before);
    });
  }
});

describe("NaN weights", () => {
  it("perplexity says the model gives non-finite outputs instead of returning NaN", async () => {
    // output.weight filled with f16 NaN (0x7e00): every logit is NaN
    const file = variant("nan-output", (m) => {
      const t = tensor(m, "output.weight");
      expect(t.type).toBe(1);
      for (let i = 0; i + 1 < t.data.length; i += 2) t.data.writeUInt16LE(0x7e00, i);
    });
    await expect(perplexity({ model: file, text: TEXT.repeat(4), nCtx: 16, nBatch: 16, chunks: 2, threads: 1 })).rejects.toThrow(
      /nan-output\.gguf gives non-finite outputs \(NaN or Inf logits\)/,
    );
  });
});
