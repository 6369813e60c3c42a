import { openSync, readSync, closeSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { llamaTool, TOOLS_MISSING } from "../helpers/tools.js";
import { runOk } from "../helpers/run.js";

const dir = tempDir();
const tool = llamaTool("llama-imatrix");
const text = "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(60);
let model = "";

/** Every F32 tensor of a GGUF, by name. */
async function readF32(file: string): Promise<Map<string, Float32Array>> {
  const info = await inspect(file);
  const fd = openSync(file, "r");
  const out = new Map<string, Float32Array>();
  try {
    for (const t of info.tensors) {
      const buf = Buffer.alloc(t.bytes);
      readSync(fd, buf, 0, t.bytes, t.offset);
      out.set(t.name, new Float32Array(buf.buffer, buf.byteOffset, t.bytes / 4));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

beforeAll(async () => {
  model = await fixtureModel();
});

describe("imatrix from the calibration pass", () => {
  it("collects Σx² per input column of every block matmul, in llama-imatrix's format", async () => {
    const out = path.join(dir, "ours.gguf");
    const r = await captureSimilarity({ model, texts: [text], nCtx: 128, threads: 2, similarity: false, imatrix: out, dataset: "calibration.txt", chunked: true });
    const info = await inspect(out);
    expect(info.metadata["general.type"]).toBe("imatrix");
    expect(info.metadata["imatrix.chunk_size"]).toBe(128);
    const chunks = info.metadata["imatrix.chunk_count"] as number;
    expect(chunks).toBe(Math.floor(r.tokens / 128));
    // 4 blocks × 7 weights, each with in_sum2 and counts
    expect(r.imatrixTensors).toBe(28);
    expect(info.tensors).toHaveLength(56);
    const v = await readF32(out);
    for (let b = 0; b < 4; b++) {
      expect(v.get(`blk.${b}.attn_q.weight.counts`)![0]).toBe(r.tokens);
      const q = v.get(`blk.${b}.attn_q.weight.in_sum2`)!;
      expect(q).toHaveLength(256);
      expect(q.every((x) => x > 0)).toBe(true);
      // q, k and v read the same normalised input, gate and up the same FFN input: equal statistics
      expect(v.get(`blk.${b}.attn_k.weight.in_sum2`)).toEqual(q);
      expect(v.get(`blk.${b}.attn_v.weight.in_sum2`)).toEqual(q);
      expect(v.get(`blk.${b}.ffn_up.weight.in_sum2`)).toEqual(v.get(`blk.${b}.ffn_gate.weight.in_sum2`));
      expect(v.get(`blk.${b}.ffn_down.weight.in_sum2`)).toHaveLength(768);
    }
    // llama-quantize reads it: a type that needs an imatrix quantizes with ours
    const q = await quantize({ input: model, output: path.join(dir, "iq2.gguf"), type: "iq2_xxs", imatrix: out, tokenEmbeddingType: "q8_0", outputType: "q8_0" });
    expect(q.tensors.filter((t) => t.name.endsWith("attn_q.weight")).every((t) => t.type === "iq2_xxs")).toBe(true);
  });

  it.skipIf(!tool)(`equals llama-imatrix's on the same text${tool ? "" : ` (skipped: ${TOOLS_MISSING})`}`, async () => {
    const file = path.join(dir, "calibration.txt");
    writeFileSync(file, text);
    const theirs = path.join(dir, "theirs.gguf");
    await runOk(tool!, ["-m", model, "-f", file, "-o", theirs, "-c", "128", "-t", "2"]);
    const ours = path.join(dir, "ours-cmp.gguf");
    await captureSimilarity({ model, texts: [text], nCtx: 128, threads: 2, similarity: false, imatrix: ours, chunked: true });
    const a = await readF32(ours);
    const b = await readF32(theirs);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, x] of a) {
      const y = b.get(name)!;
      x.forEach((xi, i) => expect(Math.abs(xi - y[i]!) / Math.max(1e-12, Math.abs(y[i]!)), name).toBeLessThan(1e-4));
    }
  });

  it("a text shorter than one window is an error", async () => {
    await expect(captureSimilarity({ model, texts: ["too short"], nCtx: 128, similarity: false, imatrix: path.join(dir, "short.gguf"), chunked: true })).rejects.toThrow(/fewer than the 128 tokens/);
  });
});
