import { copyFileSync, openSync, closeSync, ftruncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { InputError } from "../../lib/core/errors.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { listing, tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let model: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  model = await fixtureModel();
  files.empty = path.join(dir, "empty.gguf");
  writeFileSync(files.empty, "");
  files.magic = path.join(dir, "magic.gguf");
  writeFileSync(files.magic, Buffer.concat([Buffer.from("GGML"), Buffer.alloc(60)]));
  files.random = path.join(dir, "random.gguf");
  let x = 12345;
  writeFileSync(files.random, Buffer.from(Array.from({ length: 4096 }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x & 255))));
  files.truncatedHeader = path.join(dir, "truncated-header.gguf");
  copyFileSync(model, files.truncatedHeader);
  let fd = openSync(files.truncatedHeader, "r+");
  ftruncateSync(fd, 3000);
  closeSync(fd);
  files.truncatedData = path.join(dir, "truncated-data.gguf");
  copyFileSync(model, files.truncatedData);
  fd = openSync(files.truncatedData, "r+");
  ftruncateSync(fd, 2_000_000);
  closeSync(fd);
});

describe("bad inputs give a clear JS Error, the process survives and nothing is written", () => {
  const cases: [string, () => string, RegExp][] = [
    ["missing file", () => path.join(dir, "nope.gguf"), /input: file not found: .*nope\.gguf/],
    ["empty file", () => files.empty!, /empty\.gguf is empty, not a GGUF file/],
    ["wrong magic", () => files.magic!, /magic\.gguf is not a valid GGUF file: .*magic/i],
    ["random bytes", () => files.random!, /random\.gguf is not a valid GGUF file/],
    ["truncated header", () => files.truncatedHeader!, /truncated-header\.gguf is not a valid GGUF file/],
    ["truncated tensor data", () => files.truncatedData!, /truncated-data\.gguf is not a valid GGUF file|lies outside the file \(truncated or corrupt GGUF\)/],
  ];
  for (const [what, file, message] of cases) {
    it(`quantize: ${what}`, async () => {
      const before = listing(dir);
      await expect(quantize({ input: file(), output: path.join(dir, "out.gguf"), type: "q4_K" })).rejects.toThrow(message);
      expect(listing(dir)).toEqual(before);
    });
  }

  it("inspect: each broken file is an Error", async () => {
    for (const [what, file, message] of cases) {
      await expect(inspect(file()), what).rejects.toThrow(what === "missing file" ? /model: file not found/ : message);
    }
  });

  // issue 26: README promises exit code 2 for a file that is not a GGUF (it was 1)
  it("each broken file is an InputError, and the CLI exits 2 on it", async () => {
    for (const [what, file] of cases) {
      await expect(inspect(file()), what).rejects.toBeInstanceOf(InputError);
      const r = await runCli(["inspect", file()]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
    }
  });

  it("unknown type name, with the nearest valid name", async () => {
    await expect(quantize({ input: model, output: path.join(dir, "out.gguf"), type: "q4_k" })).rejects.toThrow(
      'unknown quantization type "q4_k" for option type; did you mean "q4_K"?',
    );
  });

  it("output in a missing folder", async () => {
    await expect(quantize({ input: model, output: path.join(dir, "missing", "out.gguf"), type: "q4_K" })).rejects.toThrow(
      /output: the output folder .*missing does not exist/,
    );
  });

  it("output equal to input, also through another spelling", async () => {
    const before = listing(dir);
    await expect(quantize({ input: model, output: model, type: "q4_K" })).rejects.toThrow(/is also an input/);
    const spelled = path.join(path.dirname(model), ".", path.basename(model));
    await expect(quantize({ input: model, output: spelled, type: "q4_K" })).rejects.toThrow(/is also an input/);
    expect(listing(dir)).toEqual(before);
  });

  it("assemble: output equal to a source, unknown tensor and unknown source label", async () => {
    await expect(assemble({ base: model, sources: { a: model }, assignment: {}, output: model })).rejects.toThrow(/is also an input/);
    await expect(
      assemble({ base: model, sources: { a: model }, assignment: { "blk.0.attn_qq.weight": "a" }, output: path.join(dir, "x.gguf") }),
    ).rejects.toThrow('unknown tensor "blk.0.attn_qq.weight" for option assignment; did you mean "blk.0.attn_q.weight"?');
    await expect(
      assemble({ base: model, sources: { a: model }, assignment: { "blk.0.attn_q.weight": "b" }, output: path.join(dir, "x.gguf") }),
    ).rejects.toThrow(/unknown source "b"/);
  });
});
