import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { perplexity } from "../../lib/ops/perplexity.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { head, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { llamaTool, TOOLS_MISSING, toolPerplexity } from "../helpers/tools.js";
import { syntheticText } from "../helpers/text.js";

const dir = tempDir();
const haveTool = llamaTool("llama-perplexity") !== null;
const toSignificant = (x: number, digits = 4) => Number(x.toPrecision(digits));

describe("perplexity", () => {
  it.skipIf(!haveTool)(`equals llama-perplexity on a fixture to 4 significant digits${haveTool ? "" : ` (skipped: ${TOOLS_MISSING})`}`, async () => {
    const model = await fixtureModel();
    const text = syntheticText(3000);
    const file = path.join(dir, "fixture.txt");
    writeFileSync(file, text);
    const ours = await perplexity({ model, text, nCtx: 128, chunks: 4, threads: 2 });
    const tool = await toolPerplexity(model, file, 128, 4);
    expect(ours.chunks).toBe(4);
    expect(toSignificant(ours.ppl)).toBe(toSignificant(tool.ppl));
    expect(ours.stderr).toBeCloseTo(tool.stderr, 2);
  });

  const stories = sharedFile("models/stories260K.gguf");
  const wiki = sharedFile("data/wikitext-2-raw/wiki.test.raw");
  const reason = !haveTool ? TOOLS_MISSING : !stories ? skipReason("models/stories260K.gguf") : !wiki ? skipReason("data/wikitext-2-raw/wiki.test.raw") : "";
  it.skipIf(reason !== "")(`equals llama-perplexity on stories260K with wiki.test.raw${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    const text = head(wiki!, 200_000);
    const file = path.join(dir, "wiki-head.txt");
    writeFileSync(file, text);
    for (const [nCtx, chunks] of [[512, 6], [128, 10]] as const) {
      const ours = await perplexity({ model: stories!, text, nCtx, chunks, threads: 2 });
      const tool = await toolPerplexity(stories!, file, nCtx, chunks);
      expect(toSignificant(ours.ppl)).toBe(toSignificant(tool.ppl));
    }
  });

  it("KL divergence of a model against itself is 0 and its top tokens all agree", async () => {
    const model = await fixtureModel();
    const r = await perplexity({ model, text: syntheticText(800), nCtx: 128, chunks: 2, klBase: model });
    expect(r.kld).toBeDefined();
    expect(Math.abs(r.kld!.mean)).toBeLessThan(1e-9);
    expect(r.kld!.sameTopPercent).toBe(100);
  });

  it("needs at least 2·nCtx tokens, like llama-perplexity", async () => {
    await expect(perplexity({ model: await fixtureModel(), text: "too short", nCtx: 128 })).rejects.toThrow(/needs at least 256/);
  });

  const tiny = sharedFile("models/tinystories-656k/TinyStories-656K-F32.gguf");
  it.skipIf(!tiny || !wiki)(`a text the tokenizer cannot encode is an Error, not an abort${tiny && wiki ? "" : " (skipped: ../shared absent)"}`, async () => {
    await expect(perplexity({ model: tiny!, text: head(wiki!, 20_000), nCtx: 64 })).rejects.toThrow(/tokenizer cannot encode this text/);
  });
});
