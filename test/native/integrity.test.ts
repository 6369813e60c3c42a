// Issue 22, items 3, 4 and 7 through the native layer: temp files made exclusively (never through a
// planted symlink), NUL bytes refused before fopen, library outputs claimed as the CLI claims them,
// and a model with 200k metadata keys quantized in linear time.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { checkImatrix, coverageNote } from "../../lib/ops/imatrix-check.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { InputError, OptionError } from "../../lib/core/errors.js";
import { readLayout } from "../../scripts/fuzz/gguf-layout.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("apreqel-integrity-");
let model: string;
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const TEXTS = ["The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(8)];

beforeAll(async () => {
  model = path.join(dir, "model.gguf");
  copyFileSync(await fixtureModel({ nLayer: 2 }), model);
});

describe("temp files (issue 22, item 3)", () => {
  it("an imatrix output whose old fixed temp name is a symlink to the model leaves the model alone", async () => {
    const before = sha(model);
    const out = path.join(dir, "out.gguf");
    symlinkSync(model, `${out}.tmp`);
    const r = await captureSimilarity({ model, texts: TEXTS, nCtx: 64, similarity: false, imatrix: out, threads: 2 });
    expect(r.imatrixTensors).toBeGreaterThan(0);
    expect(sha(model)).toBe(before);
    expect(readFileSync(out).subarray(0, 4).toString("latin1")).toBe("GGUF");
    expect((await inspect(out)).metadata["apreqel.writer"]).toBe("apreqel imatrix");
    // nothing left beside it but the planted link
    expect(readdirSync(dir).filter((n) => n.includes("out.gguf")).sort()).toEqual(["out.gguf", "out.gguf.tmp"]);
  });
});

describe("library paths (issue 22, item 4)", () => {
  it("a NUL byte in a path is refused before anything is opened", async () => {
    const before = sha(model);
    const e = await quantize({ input: model, output: path.join(dir, "hidden.gguf\0"), type: "q8_0" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OptionError);
    expect((e as Error).message).toMatch(/^expected a file path without NUL bytes for option output but received /);
    expect(await quantize({ input: `${model}\0.x`, output: path.join(dir, "x.gguf"), type: "q8_0" }).catch((x: unknown) => x)).toBeInstanceOf(OptionError);
    expect(sha(model)).toBe(before);
    expect(existsSync(path.join(dir, "hidden.gguf"))).toBe(false);
  });

  it("quantize({ output: X, imatrix: X }) is refused: the importance matrix is an input", async () => {
    const imatrix = path.join(dir, "im.gguf");
    await captureSimilarity({ model, texts: TEXTS, nCtx: 64, similarity: false, imatrix, threads: 2 });
    const before = sha(imatrix);
    const e = await quantize({ input: model, output: imatrix, imatrix, type: "q4_K" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(`output: the output ${imatrix} is also an input (imatrix); choose another output path (inputs are never overwritten)`);
    expect(sha(imatrix)).toBe(before);
  });

  it("quantize({ output }) onto a file apreqel did not write is refused, as the CLI refuses it; force replaces it", async () => {
    const notes = path.join(dir, "notes.txt");
    writeFileSync(notes, "my notes, not a model\n");
    const e = await quantize({ input: model, output: notes, type: "q8_0" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(`output: ${notes} exists and is not a file apreqel wrote; pass force: true to replace it, or choose another path`);
    expect(readFileSync(notes, "utf8")).toBe("my notes, not a model\n");
    await quantize({ input: model, output: notes, type: "q8_0", force: true });
    expect(readFileSync(notes).subarray(0, 4).toString("latin1")).toBe("GGUF");
  });
});

/**
 * `src` with `count` extra u32 keys ("apreqel.test.kNNNNNNN", 36 bytes each) inserted after its
 * metadata. count is a multiple of 8, so the insertion (36 × 8 = 288 = 9 × 32 bytes) keeps the
 * data section's 32-byte alignment and every tensor offset stays valid.
 */
function withManyKeys(src: string, dst: string, count: number): void {
  const buf = readFileSync(src);
  const layout = readLayout(buf);
  if (count % 8 !== 0 || layout.alignment !== 32) throw new Error("withManyKeys: count must be a multiple of 8 and the alignment 32");
  const insertAt = layout.kvs[layout.kvs.length - 1]!.end;
  const extra = Buffer.alloc(count * 36);
  for (let i = 0; i < count; i++) {
    const at = i * 36;
    extra.writeBigUInt64LE(20n, at);
    extra.write(`apreqel.test.k${String(i).padStart(6, "0")}`, at + 8, "latin1");
    extra.writeUInt32LE(4, at + 28); // GGUF_TYPE_UINT32
    extra.writeUInt32LE(i, at + 32);
  }
  const out = Buffer.concat([buf.subarray(0, insertAt), extra, buf.subarray(insertAt)]);
  out.writeBigUInt64LE(BigInt(layout.kvs.length + count), layout.kvCount.offset);
  writeFileSync(dst, out);
}

describe("the metadata copy (issue 22, item 7)", () => {
  it("quantizes a model with 200,000 metadata keys, every key copied (linear: gguf_set_kv was O(n²), minutes)", async () => {
    const many = path.join(dir, "many-keys.gguf");
    withManyKeys(model, many, 200_000);
    const out = path.join(dir, "many-keys-q8.gguf");
    await quantize({ input: many, output: out, type: "q8_0", threads: 2 });
    const info = await inspect(out);
    const keys = Object.keys(info.metadata).filter((k) => k.startsWith("apreqel.test.k"));
    expect(keys).toHaveLength(200_000);
    expect(info.metadata["apreqel.test.k199999"]).toBe(199_999);
  }, 120_000);
});

describe("options checked against the context, and only the options used (issue 22, item 7)", () => {
  let short: string;
  beforeAll(async () => {
    short = path.join(dir, "short-context.gguf");
    copyFileSync(await fixtureModel({ nLayer: 2, nCtx: 128 }), short);
  });

  it("eval refuses an --n-prompt longer than the model's context, before anything runs", async () => {
    const cache = path.join(dir, "cache-eval");
    const r = await runCli(["eval", short, "--ctx", "64", "--n-prompt", "1000000", "--cache-dir", cache]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--n-prompt: 1000000 tokens is more than ${short}'s context of 128 tokens`);
    expect(existsSync(cache)).toBe(false);
  });

  it("score accepts a model whose context is under 512 tokens (it times nothing)", async () => {
    const out = path.join(dir, "scores.json");
    const r = await runCli(["score", short, "-o", out, "--ctx", "64", "--cache-dir", path.join(dir, "cache-score"), "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(readFileSync(out, "utf8")) as { layers: unknown[] }).layers).toHaveLength(2 * 2);
  }, 60_000);

  const debian = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F16.gguf");
  it.skipIf(!debian)(`score accepts debian-prose-11m (context 256) with --ctx 256${debian ? "" : ` (skipped: ${skipReason("models/debian-prose-11m")})`}`, async () => {
    const out = path.join(dir, "debian-scores.json");
    const calibration = path.join(dir, "two-prompts.txt");
    writeFileSync(calibration, "The package manager installs the program.\n\nThe kernel loads the module at boot.\n");
    const r = await runCli(["score", debian!, "-o", out, "--ctx", "256", "--calibration", calibration, "--cache-dir", path.join(dir, "cache-debian"), "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 120_000);
});

describe("an --imatrix checked for meaning (issue 22, item 6)", () => {
  let imatrix: string;
  let info: Awaited<ReturnType<typeof inspect>>;
  beforeAll(async () => {
    imatrix = path.join(dir, "own.imatrix.gguf");
    await captureSimilarity({ model, texts: TEXTS, nCtx: 64, similarity: false, imatrix, threads: 2 });
    info = await inspect(model);
  });

  it("its own model's matrix covers every block tensor", async () => {
    const c = await checkImatrix(info, imatrix, "--imatrix");
    expect(c.missing).toEqual([]);
    expect(c.covered).toBe(info.tensors.filter((t) => t.subLayer !== null && t.quantizable && t.shape.length >= 2).length);
  });

  it("a deeper model: the blocks it lacks are named once, in one note", async () => {
    const deeper = await inspect(await fixtureModel({ nLayer: 3 }));
    const c = await checkImatrix(deeper, imatrix, "--imatrix");
    expect(c.missing.length).toBeGreaterThan(0);
    expect(c.missing.every((n) => n.startsWith("blk.2."))).toBe(true);
    expect(coverageNote("--imatrix x", c)).toMatch(new RegExp(`^--imatrix x covers ${c.covered} of ${c.covered + c.missing.length} block tensors; quantized without importance weights: blk\\.2\\.`));
  });

  it("names that match nothing (another model's matrix) are refused, also by the CLI with exit 2", async () => {
    const other = path.join(dir, "renamed.imatrix.gguf");
    const buf = readFileSync(imatrix);
    const header = buf.subarray(0, readLayout(buf).dataStart);
    header.set(Buffer.from(header.toString("latin1").replaceAll("blk.", "xyz."), "latin1"));
    writeFileSync(other, buf);
    await expect(checkImatrix(info, other, "--imatrix")).rejects.toThrow(/none of its \d+ entries \(xyz\.0\..*\) is a tensor of .*model\.gguf; is it another model's importance matrix\?/);
    const r = await runCli(["profile", model, "--imatrix", other, "-o", path.join(dir, "p.json"), "--cache-dir", path.join(dir, "cache-im")]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/is it another model's importance matrix\?/);
    // the library's own quantize refuses it too, before it writes anything
    const out = path.join(dir, "other-im.gguf");
    await expect(quantize({ input: model, output: out, type: "q4_K", imatrix: other })).rejects.toThrow(/^imatrix .*: none of its \d+ entries .* is it another model's importance matrix\?/);
    expect(existsSync(out)).toBe(false);
  });

  it("the same names at another width are refused", async () => {
    const wider = await inspect(await fixtureModel({ nLayer: 2, nEmbd: 512 }));
    await expect(checkImatrix(wider, imatrix, "--imatrix")).rejects.toThrow(/has \d+ importance values, the model's tensor \d+ columns; is it another model's importance matrix\?/);
  });

  it("a zero or negative activation count is refused", async () => {
    for (const value of [0, -3]) {
      const bad = path.join(dir, `count${value}.imatrix.gguf`);
      const buf = readFileSync(imatrix);
      const im = await inspect(imatrix);
      const counts = im.tensors.find((t) => t.name.endsWith(".counts"))!;
      buf.writeFloatLE(value, counts.offset);
      writeFileSync(bad, buf);
      await expect(checkImatrix(info, bad, "--imatrix")).rejects.toThrow(new RegExp(`activation count is ${value}; counts must be positive`));
    }
  });
});
