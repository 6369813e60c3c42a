// Issue 6, item 3: output to a full disk. A 1 MiB tmpfs is mounted inside the test's temp dir (CI
// runs as root, as does this machine); it holds a fixture's metadata but not its tensors, so the
// writers fail mid-file. An injected failure (RLIMIT_FSIZE) would give EFBIG, not ENOSPC, and would
// not exercise llama.cpp's own writer, so without permission to mount the tests skip and say why.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { listing, tempDir } from "../helpers/tmp.js";

const small = path.join(tempDir(), "small");
mkdirSync(small);
let cannotMount = "";
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small], { stdio: "pipe" });
} catch (e) {
  cannotMount = `cannot mount a small tmpfs here (${((e as { stderr?: Buffer }).stderr?.toString() ?? String(e)).trim()})`;
}
afterAll(() => {
  if (!cannotMount) execFileSync("umount", ["-l", small]);
  rmSync(small, { recursive: true, force: true });
});

let model = "";
let q4 = "";
beforeAll(async () => {
  if (cannotMount) return;
  model = await fixtureModel();
  q4 = path.join(path.dirname(model), "full-disk-q4_K.gguf");
  // a failed setup fails the tests that need it, with its own reason (not a later "file not found")
  await quantize({ input: model, output: q4, type: "q4_K" });
});

describe.skipIf(cannotMount !== "")(`a full disk gives "no space left on device", no partial output, no temp file${cannotMount ? `: ${cannotMount}` : ""}`, () => {
  it("the tmpfs is smaller than the outputs", async () => {
    expect(statSync(model).size).toBeGreaterThan(2 ** 20);
    expect(listing(small)).toEqual([]);
  });

  it("quantize: llama.cpp's writer runs out of space", async () => {
    const before = statSync(model);
    const output = path.join(small, "out.gguf");
    await expect(quantize({ input: model, output, type: "q8_0" })).rejects.toThrow(`cannot write ${output}: no space left on device`);
    expect(listing(small)).toEqual([]);
    const after = statSync(model);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
  });

  it("assemble: our streaming writer runs out of space", async () => {
    const output = path.join(small, "mixed.gguf");
    const names = (await inspect(model)).tensors.filter((t) => t.quantizable).map((t) => t.name);
    await expect(
      assemble({ base: model, sources: { q4: q4 }, assignment: Object.fromEntries(names.map((n) => [n, "q4"])), output }),
    ).rejects.toThrow(`cannot write ${output}: no space left on device`);
    expect(listing(small)).toEqual([]);
  });

  it("the space is free again: no temp file holds it", async () => {
    const df = execFileSync("df", ["--output=used", "-B1", small]).toString().trim().split("\n")[1]!;
    expect(Number(df)).toBeLessThan(64 * 1024);
  });
});
