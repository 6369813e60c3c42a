import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { packageRoot } from "../../lib/core/package.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";
import { runOk } from "../helpers/run.js";

const dir = tempDir();
let mixed: string;

beforeAll(async () => {
  const model = await fixtureModel();
  const q4 = await quantize({ input: model, output: path.join(dir, "q4_K.gguf"), type: "q4_K" });
  const q8 = await quantize({ input: model, output: path.join(dir, "q8_0.gguf"), type: "q8_0" });
  const info = await inspect(model);
  const assignment: Record<string, string> = {};
  for (const layer of info.layers) for (const t of layer.tensors) assignment[t] = layer.kind === "ffn" ? "q4_K" : "q8_0";
  mixed = (await assemble({ base: q8.output, sources: { q4_K: q4.output, q8_0: q8.output }, assignment, output: path.join(dir, "mixed.gguf") })).output;
});

describe("interop", () => {
  it("node-llama-cpp's own prebuilt binary loads a mixed GGUF and generates text from it", async () => {
    const { stdout: out } = await runOk(process.execPath, [path.join(packageRoot, "test", "helpers", "node-llama-cpp-generate.mjs"), mixed], {
      cwd: packageRoot,
      timeout: slow(120_000),
    });
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as { text: string; tokens: number };
    expect(r.tokens).toBeGreaterThan(0);
  });
});
