import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { llamaTool, TOOLS_MISSING } from "../helpers/tools.js";
import { runOk } from "../helpers/run.js";

const dir = tempDir();
const tool = llamaTool("llama-imatrix");

describe("quantize with an importance matrix", () => {
  it("a type that needs one is refused without it, with llama.cpp's reason", async () => {
    const model = await fixtureModel();
    await expect(quantize({ input: model, output: path.join(dir, "iq2.gguf"), type: "iq2_xxs" })).rejects.toThrow(/requires an imatrix/);
  });

  it.skipIf(!tool)(`uses an imatrix made by llama-imatrix${tool ? "" : ` (skipped: ${TOOLS_MISSING})`}`, async () => {
    const model = await fixtureModel();
    const text = path.join(dir, "calibration.txt");
    writeFileSync(text, "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(60));
    const imatrix = path.join(dir, "imatrix.gguf");
    await runOk(tool!, ["-m", model, "-f", text, "-o", imatrix, "-c", "128", "--chunks", "2", "-t", "2"]);
    const r = await quantize({ input: model, output: path.join(dir, "iq2.gguf"), type: "iq2_xxs", imatrix, tokenEmbeddingType: "q8_0", outputType: "q8_0" });
    const types = new Set(r.tensors.filter((t) => t.name.startsWith("blk.") && t.name.endsWith("_q.weight")).map((t) => t.type));
    expect([...types]).toEqual(["iq2_xxs"]);
  });
});
