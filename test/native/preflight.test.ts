// Issue 12: what the preflight checks rest on. countTokens counts as perplexity tokenizes (same
// BOS rule, same prefix rule), and the smallest-mix bound never exceeds a real quantization.
import { existsSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { smallestMix } from "../../lib/method/smallest-mix.js";
import { inspect } from "../../lib/ops/inspect.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { quantize } from "../../lib/ops/quantize.js";
import { countTokens } from "../../lib/ops/tokens.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const dir = tempDir();
let model: string;
const text = "The river remembers the morning light, and every stone keeps a little of the sun.\n".repeat(60);

beforeAll(async () => {
  model = await fixtureModel({ nLayer: 2 });
}, slow(300_000));

describe("countTokens", () => {
  it("counts what perplexity tokenizes: the whole text, or the prefix a chunk count needs", async () => {
    const whole = await countTokens({ model, text });
    expect(whole.complete).toBe(true);
    const ppl = await perplexity({ model, text, nCtx: 64, threads: 2 });
    expect(whole.tokens).toBe(ppl.tokens);
    const prefix = await countTokens({ model, text, atLeast: 128 });
    const ppl2 = await perplexity({ model, text, nCtx: 64, chunks: 2, threads: 2 });
    expect(prefix.tokens).toBe(ppl2.tokens);
    expect(prefix.tokens).toBeGreaterThanOrEqual(128);
  });

  it("a text shorter than asked is counted whole; BOS included", async () => {
    const r = await countTokens({ model, text: "Hello", atLeast: 1000 });
    expect(r.complete).toBe(true);
    expect(r.tokens).toBeGreaterThanOrEqual(2); // BOS + at least one token
    expect(r.tokens).toBeLessThan(10);
  });
});

describe("smallestMix on a real model", () => {
  it("equals the weight bytes of the smallest uniform quantization (rows filling whole blocks), for several type sets", async () => {
    const info = await inspect(model);
    for (const [type, nonLayer] of [["q3_K", "q8_0"], ["q4_K", "q4_K"], ["q2_K", "q6_K"]] as const) {
      const out = path.join(dir, `${type}-${nonLayer}.gguf`);
      await quantize({ input: model, output: out, type, tokenEmbeddingType: nonLayer, outputType: nonLayer, threads: 2 });
      const actual = (await inspect(out)).tensors.reduce((a, t) => a + t.bytes, 0);
      const bound = smallestMix(info.tensors, ["q8_0", type], nonLayer).bytes;
      expect(smallestMix(info.tensors, ["q8_0", type], nonLayer, { plansNonLayer: true }).bytes).toBeLessThanOrEqual(bound);
      // exact here: the fixture's rows fill whole blocks and llama.cpp changes no tensor's type
      expect(bound, `${type}/${nonLayer}`).toBe(actual);
    }
  });
});

// issue 26: an already-quantized input is refused when the session opens (from its header), not
// after the calibration pass with llama.cpp's "requantizing from type q4_K is disabled"
describe("an already-quantized source", () => {
  it("is refused before anything runs, exit 2, naming its types", async () => {
    const q4 = (await quantize({ input: model, output: path.join(dir, "already-q4_K.gguf"), type: "q4_K" })).output;
    const cache = path.join(dir, "refused-cache");
    const r = await runCli(["quantize", q4, "-o", path.join(dir, "never.gguf"), "--cache-dir", cache, "--ctx", "64"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/already-q4_K\.gguf is already quantized \(\d+ of its tensors are q4_K[^)]*\); apreqel quantizes from an F16, BF16 or F32 GGUF/);
    expect(r.stderr).not.toMatch(/similarity|started/); // nothing ran
    expect(existsSync(path.join(dir, "never.gguf"))).toBe(false);
  });
});
