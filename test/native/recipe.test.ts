// The front's recipe through the vendored stock llama-quantize: every unit's
// tensor gets the type the recipe names, with exactly the bytes the cost
// table says, and the file's tensors add up to the table's size estimate.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { estimateMix, parseCostTable, quantizeRecipe, type CostTable, type GgmlType } from "../../lib/method/index.js";
import { ggmlTypes } from "../../lib/ops/ggml-types.js";
import { inspect } from "../../lib/ops/inspect.js";
import { prng } from "../../scripts/shared/prng.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { TOOLS_MISSING, llamaTool } from "../helpers/tools.js";
import { runProcess } from "../helpers/run.js";

const tool = llamaTool("llama-quantize");
const TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_0", "q4_K"];

describe.skipIf(tool === null)(`recipe round trip through llama-quantize${tool === null ? ` (skipped: ${TOOLS_MISSING})` : ""}`, () => {
  it("tensor types and bytes are the table's, the total is the estimate", async () => {
    const dir = tempDir();
    const model = await fixtureModel();
    const info = await inspect(model);
    const sizes = ggmlTypes();
    const bytesIn = (elements: number, type: GgmlType): number => {
      const t = sizes.get(type);
      if (t === undefined) throw new Error(`no ggml type ${type}`);
      return (elements / t.blockSize) * t.typeSize;
    };
    const random = prng(15);
    const units: CostTable["units"][number][] = [];
    let fixedBytes = 0;
    for (const tensor of info.tensors) {
      const elements = tensor.shape.reduce((a, b) => a * b, 1);
      if (!tensor.quantizable) {
        fixedBytes += tensor.bytes;
        continue;
      }
      // Only the types this shape holds (no llama-quantize fallback).
      const fits = TYPES.filter((t) => (tensor.shape[0] as number) % (sizes.get(t)?.blockSize as number) === 0);
      units.push({
        name: tensor.name.replace(/\.weight$/, ""),
        tensors: [tensor.name],
        params: elements,
        costs: Object.fromEntries(fits.map((t) => [t, { bytes: bytesIn(elements, t), kld: random(), latencyMs: random() }])),
      });
    }
    expect(units.length).toBeGreaterThan(8);
    const dense = parseCostTable({ types: TYPES, units, fixed: { bytes: fixedBytes, latencyMs: 0, kld: 0 } });
    // A mix that uses every type somewhere.
    const mix = Uint8Array.from(units, (u, i) => {
      const allowed = TYPES.map((t, j) => (u.costs[t] === undefined ? -1 : j)).filter((j) => j >= 0);
      return allowed[i % allowed.length] as number;
    });
    const recipe = quantizeRecipe(dense, mix, {
      input: model,
      output: path.join(dir, "mix.gguf"),
      recipeFile: path.join(dir, "mix.txt"),
      tool: tool as string,
      threads: 2,
    });
    writeFileSync(path.join(dir, "mix.txt"), recipe.text);
    const run = await runProcess(recipe.argv[0] as string, recipe.argv.slice(1));
    expect(run.status, `${run.stdout}\n${run.stderr}`.slice(-3000)).toBe(0);
    const out = await inspect(path.join(dir, "mix.gguf"));
    const byName = new Map(out.tensors.map((t) => [t.name, t]));
    units.forEach((u, i) => {
      const tensor = byName.get(u.tensors?.[0] as string);
      const type = TYPES[mix[i] as number] as GgmlType;
      expect({ name: tensor?.name, type: tensor?.type, bytes: tensor?.bytes }).toEqual({ name: u.tensors?.[0], type, bytes: u.costs[type]?.bytes });
    });
    const total = out.tensors.reduce((s, t) => s + t.bytes, 0);
    expect(total).toBe(estimateMix(dense, mix).sizeBytes);
  });
});
