import { describe, expect, it } from "vitest";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { sharedFile, skipReason } from "../helpers/shared.js";

const TEXTS = [
  "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks were striking thirteen.",
  "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
  "Question: what is 17 times 3? Answer: 51.",
];

async function expectDeviceEqualsReference(model: string, nCtx: number) {
  const device = await captureSimilarity({ model, texts: TEXTS, nCtx, threads: 2 });
  const reference = await captureSimilarity({ model, texts: TEXTS, nCtx, threads: 2, reference: true });
  expect(device.blocks).toBe(reference.blocks);
  expect(device.tokens).toBe(reference.tokens);
  expect(device.cos.length).toBe(device.tokens * 2 * device.blocks);
  expect(device.tokensPerText.reduce((a, b) => a + b, 0)).toBe(device.tokens);
  let maxDiff = 0;
  for (let i = 0; i < device.cos.length; i++) maxDiff = Math.max(maxDiff, Math.abs(device.cos[i]! - reference.cos[i]!));
  expect(maxDiff).toBeLessThan(1e-5);
  // cosines, not garbage: within [-1, 1] and not all equal
  for (const c of device.cos) expect(Math.abs(c)).toBeLessThanOrEqual(1 + 1e-6);
  expect(new Set(device.cos).size).toBeGreaterThan(device.blocks);
  return device;
}

describe("captureSimilarity", () => {
  it("equals the host-side reference from the full hidden states (fixture)", async () => {
    const r = await expectDeviceEqualsReference(await fixtureModel(), 512);
    expect(r.blocks).toBe(4);
  });

  // the architectures the paper used (Llama-3.1, Phi-3.5, Qwen3) and their relatives; gemma3 has
  // extra post-norms and names its midpoint sa_out, phi3 fuses QKV and gate/up
  for (const arch of ["qwen2", "qwen3", "phi3", "gemma3"] as const) {
    it(`equals the reference on a random ${arch} model`, async () => {
      const model = await fixtureModel({ nEmbd: 256, nFf: 512, nLayer: 3, nHead: 4, nHeadKv: 2 }, 1, "f16", arch);
      const r = await expectDeviceEqualsReference(model, 128);
      expect(r.blocks).toBe(3);
    });
  }

  it("splits long texts into windows of nCtx, each later window starting with BOS", async () => {
    const model = await fixtureModel();
    const long = TEXTS.join(" ").repeat(4);
    const whole = await captureSimilarity({ model, texts: [long], nCtx: 4096 });
    const windowed = await captureSimilarity({ model, texts: [long], nCtx: 32 });
    const windows = Math.ceil((whole.tokens - 1) / 31); // BOS once, then 31 new tokens per window
    expect(windowed.tokens).toBe(whole.tokens - 1 + windows);
    // the first window is the same computation as the start of the whole text (up to accumulation
    // order: a batch of 32 tokens takes other matmul paths than one of a few hundred)
    for (let i = 0; i < 32 * 2 * whole.blocks; i++) expect(windowed.cos[i]).toBeCloseTo(whole.cos[i]!, 3);
  });

  const stories = sharedFile("models/stories260K.gguf");
  it.skipIf(!stories)(`equals the reference on stories260K${stories ? "" : ` (skipped: ${skipReason("models/stories260K.gguf")})`}`, async () => {
    const r = await expectDeviceEqualsReference(stories!, 128);
    expect(r.blocks).toBe(5);
  });

  it("rejects empty texts", async () => {
    await expect(captureSimilarity({ model: await fixtureModel(), texts: [] })).rejects.toThrow(
      "expected a non-empty array of non-empty strings for option texts but received an array",
    );
  });
});
