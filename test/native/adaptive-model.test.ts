// AdaptiveModel with node-llama-cpp's own prebuilt binary on a two-variant portfolio made from
// the generated fixture: memory pressure arrives while a request is generating; the request
// finishes on the larger variant, then the wrapper swaps to the smaller one and serves from it.
// The latency and accuracy figures in this manifest are set by the test (the switch depends
// only on memory here); the files and their sizes are real.
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { AdaptiveModel, nodeLlamaCppLoader, type AdaptiveEvent } from "../../lib/portfolio/adaptive-model.js";
import type { DeviceState } from "../../lib/portfolio/choose.js";
import { profilePortfolio } from "../../lib/portfolio/profile.js";
import { readPortfolio, writePortfolio, type ChosenMix } from "../../lib/portfolio/write.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { device, latency, variant } from "../unit/portfolio/helpers.js";

const dir = tempDir("apreqel-adaptive-native-");
const weightBytes: Record<string, number> = {};

beforeAll(async () => {
  const model = await fixtureModel();
  const mixes: ChosenMix[] = [];
  for (const [type, kld, ms] of [["q8_0", 0.01, 20], ["q4_K", 0.05, 12]] as const) {
    const output = path.join(dir, `${type}.gguf`);
    await quantize({ input: model, output, type });
    weightBytes[type] = (await inspect(output)).tensors.reduce((s, t) => s + t.bytes, 0);
    const v = variant(type, 1, ms, kld);
    mixes.push({ name: type, file: output, weightBytes: weightBytes[type]!, latency: [latency(ms)], accuracy: { ...v.accuracy, device: device() }, chosenBy: v.chosenBy });
  }
  await writePortfolio({ dir, model: { name: "fixture", sha256: "0".repeat(64) }, mixes });
});

describe("AdaptiveModel over node-llama-cpp", () => {
  it("finishes the in-flight request on the old variant, then swaps under memory pressure", async () => {
    let state: Omit<DeviceState, "current" | "device"> = { ramFreeBytes: 16 * 2 ** 30 };
    const events: { at: number; event: AdaptiveEvent }[] = [];
    const model = await AdaptiveModel.open({
      portfolio: dir,
      device: "00000000000000aa",
      readState: async () => state,
      loader: nodeLlamaCppLoader({ contextSize: 256, threads: 1 }),
      onEvent: (event) => events.push({ at: performance.now(), event }),
    });
    try {
      expect(model.variant.name).toBe("q8_0"); // plenty of memory: the accurate end
      let finishedAt = Number.POSITIVE_INFINITY;
      const inFlight = model.complete("Once upon a time", { maxTokens: 200 }).then((r) => ((finishedAt = performance.now()), r));
      await new Promise((r) => setTimeout(r, 20)); // generation under way
      expect(finishedAt).toBe(Number.POSITIVE_INFINITY); // still in flight when the pressure comes
      // nothing free beside the resident q8_0: it no longer fits with 10% headroom; q4_K (about half its size) does
      state = { ramFreeBytes: 0 };
      const switching = model.recheck();
      const next = model.complete("The cat", { maxTokens: 8 });
      const first = await inFlight;
      expect(first.variant).toBe("q8_0");
      expect(first.tokens).toBeGreaterThan(0);
      const choice = await switching;
      expect(choice.variant.name).toBe("q4_K");
      const switched = events.find((e) => e.event.type === "switched")!;
      expect(switched.event).toMatchObject({ from: "q8_0", to: "q4_K" });
      expect(switched.at).toBeGreaterThan(finishedAt);
      const second = await next;
      expect(second.variant).toBe("q4_K");
      expect(second.tokens).toBeGreaterThan(0);
      expect(weightBytes["q4_K"]! * 1.1).toBeLessThan(weightBytes["q8_0"]!);
    } finally {
      await model.dispose();
    }
  });

  it("profilePortfolio adds this device's measured latencies to every variant, and re-profiling replaces them", async () => {
    const seen: string[] = [];
    const { device } = await profilePortfolio(dir, { nGen: 4, nPrompt: 8, reps: 2, threads: 1, onVariant: (name) => seen.push(name) });
    expect(seen).toEqual(["q8_0", "q4_K"]);
    const { manifest } = await readPortfolio(dir);
    for (const v of manifest.variants) {
      expect(v.latency.map((m) => m.device.fingerprint)).toEqual(["00000000000000aa", device.fingerprint]);
      const here = v.latency[1]!;
      expect(here.decode.mean).toBeGreaterThan(0);
      expect(here.prefill!.mean).toBeGreaterThan(0);
      expect(here.settings).toEqual({ nGen: 4, nPrompt: 8, reps: 2, threads: 1, gpuLayers: 0 });
    }
    await profilePortfolio(dir, { nGen: 4, nPrompt: 0, reps: 1, threads: 1 });
    const again = (await readPortfolio(dir)).manifest;
    expect(again.variants.map((v) => v.latency.length)).toEqual([2, 2]);
    expect(again.variants[0]!.latency[1]!.prefill).toBeNull();
    await expect(profilePortfolio(dir, { nGen: 0 })).rejects.toThrow("expected a whole number ≥ 1 (decode latency is what the picker uses) for option nGen but received 0");
  });
});
