import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AdaptiveModel, measuredThreads, type AdaptiveEvent, type Completion, type LoadedVariant, type VariantLoader } from "../../../lib/portfolio/adaptive-model.js";
import type { DeviceState } from "../../../lib/portfolio/choose.js";
import { writePortfolio } from "../../../lib/portfolio/write.js";
import { tempDir } from "../../helpers/tmp.js";
import { FRONT, HERE, MiB } from "./helpers.js";

const dir = tempDir("apreqel-adaptive-");
await writePortfolio({
  dir,
  model: FRONT.model,
  mixes: FRONT.variants.map((v) => {
    writeFileSync(path.join(dir, v.file), `weights of ${v.name}`);
    return { name: v.name, file: v.file, weightBytes: v.weightBytes, latency: v.latency, accuracy: v.accuracy, chosenBy: v.chosenBy };
  }),
});

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A loader whose models log what happens to them; `gate` holds a completion until released. */
function fakeLoader(log: string[], o: { gate?: Promise<void>; decodeMs?: number; failOn?: string } = {}): VariantLoader {
  return async (file): Promise<LoadedVariant> => {
    const name = path.basename(file, ".gguf");
    if (name === o.failOn) throw new Error(`out of memory loading ${name}`);
    log.push(`load ${name}`);
    return {
      async complete(prompt): Promise<Completion> {
        log.push(`start ${prompt} on ${name}`);
        if (o.gate) await o.gate;
        log.push(`end ${prompt} on ${name}`);
        return { text: `${prompt}!`, tokens: 8, decodeMsPerToken: o.decodeMs ?? null };
      },
      async dispose() {
        log.push(`dispose ${name}`);
      },
    };
  };
}

/** A state source the test changes as the "day" goes on. */
function stateSource(initial: Omit<DeviceState, "current" | "device">) {
  let state = initial;
  return { read: async () => state, set: (s: Omit<DeviceState, "current" | "device">) => void (state = s) };
}

const GiB = 1024 * MiB;

describe("AdaptiveModel", () => {
  it("switches to a smaller variant under memory pressure, finishing the in-flight request on the old one", async () => {
    const log: string[] = [];
    const events: AdaptiveEvent[] = [];
    const gate = deferred();
    const state = stateSource({ ramFreeBytes: 8 * GiB });
    const model = await AdaptiveModel.open({ portfolio: dir, device: HERE, readState: state.read, loader: fakeLoader(log, { gate: gate.promise }), onEvent: (e) => events.push(e) });
    expect(model.variant.name).toBe("large");

    const inFlight = model.complete("first", { maxTokens: 8 });
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(["load large", "start first on large"]);

    // another app takes memory: 30 MiB free besides large's resident 400 MiB → large (440 with headroom) no longer fits
    state.set({ ramFreeBytes: 30 * MiB });
    const switching = model.recheck();
    const after = model.complete("second", { maxTokens: 8 });
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(["load large", "start first on large"]); // nothing moves while "first" runs
    gate.resolve();
    expect(await inFlight).toEqual({ text: "first!", tokens: 8, decodeMsPerToken: null, variant: "large" });
    const choice = await switching;
    expect(choice.variant.name).toBe("medium");
    expect(await after).toMatchObject({ variant: "medium" });
    expect(log).toEqual(["load large", "start first on large", "end first on large", "dispose large", "load medium", "start second on medium", "end second on medium"]);
    expect(events.map((e) => e.type)).toEqual(["loaded", "switched"]);
    expect(events[1]).toMatchObject({ from: "large", to: "medium" });
    await model.dispose();
    expect(log.at(-1)).toBe("dispose medium");
  });

  it("does not flap: a small gain is kept within the hysteresis margin", async () => {
    const log: string[] = [];
    const events: AdaptiveEvent[] = [];
    // latency and accuracy weigh ½ each. 300 MiB free: large does not fit; small and medium tie at 0.5 (each
    // at one end of both columns) and the tie goes to the more accurate, medium
    const policy = { weights: { memory: 0, latency: 0.5, accuracy: 0.5 } };
    const state = stateSource({ ramFreeBytes: 300 * MiB });
    const model = await AdaptiveModel.open({ portfolio: dir, device: HERE, policy, readState: state.read, loader: fakeLoader(log), onEvent: (e) => events.push(e) });
    expect(model.variant.name).toBe("medium");
    // memory frees up: large would score 0.5 vs medium's 0.489 (choose.test.ts works them out), under the 0.05 margin
    state.set({ ramFreeBytes: 8 * GiB });
    expect((await model.recheck()).kept).toBe(true);
    expect(model.variant.name).toBe("medium");
    expect(events.at(-1)).toMatchObject({ type: "kept", variant: "medium" });
    expect(log).toEqual(["load medium"]);
    await model.dispose();
  });

  it("goes back to the running variant when the new one fails to load, and keeps serving", async () => {
    const log: string[] = [];
    const state = stateSource({ ramFreeBytes: 8 * GiB });
    const model = await AdaptiveModel.open({ portfolio: dir, device: HERE, readState: state.read, loader: fakeLoader(log, { failOn: "small" }) });
    // 50 MiB free besides large's resident 400: large still fits (440 of 450 MiB) but memory is tight and the
    // battery low: small is chosen
    state.set({ ramFreeBytes: 50 * MiB, battery: { level: 0.1, charging: false } });
    await expect(model.recheck()).rejects.toThrow("could not load variant small (out of memory loading small); large was loaded again");
    expect(await model.complete("next", { maxTokens: 8 })).toMatchObject({ variant: "large" });
    expect(log).toEqual(["load large", "dispose large", "load large", "start next on large", "end next on large"]);
    await model.dispose();
  });

  it("learns decode speed as a running mean, with the throttle divided out, and saves it", async () => {
    const state = stateSource({ ramFreeBytes: 8 * GiB, throttle: 2 });
    let decodeMs = 40;
    const loader: VariantLoader = async () => ({
      complete: async () => ({ text: "", tokens: 8, decodeMsPerToken: decodeMs }),
      dispose: async () => undefined,
    });
    const model = await AdaptiveModel.open({ portfolio: dir, device: HERE, readState: state.read, loader });
    await model.complete("a", { maxTokens: 8 }); // 40 ms at throttle 2 → 20
    decodeMs = 50;
    await model.complete("b", { maxTokens: 8 }); // → 25; mean 22.5
    const observed = model.manifest.variants.find((v) => v.name === "large")!.latency[0]!.observed;
    expect(observed).toMatchObject({ decodeMsPerToken: 22.5, samples: 2 });
    await model.saveLearned();
    const saved = JSON.parse(readFileSync(path.join(dir, "portfolio.json"), "utf8")) as typeof FRONT;
    expect(saved.variants[2]!.latency[0]!.observed).toMatchObject({ decodeMsPerToken: 22.5, samples: 2 });
    await model.dispose();

    const off = await AdaptiveModel.open({ portfolio: dir, device: HERE, readState: state.read, loader, learn: false });
    await off.complete("c", { maxTokens: 8 });
    expect(off.manifest.variants[2]!.latency[0]!.observed).toMatchObject({ samples: 2 }); // unchanged
    await off.dispose();
    await expect(off.complete("d", { maxTokens: 8 })).rejects.toThrow("the AdaptiveModel was disposed");
  });

  it("does not pile up timer re-checks behind a long request", async () => {
    const gate = deferred();
    let reads = 0;
    const model = await AdaptiveModel.open({
      portfolio: dir,
      device: HERE,
      readState: async () => (reads++, { ramFreeBytes: 8 * GiB }),
      loader: fakeLoader([], { gate: gate.promise }),
      intervalMs: 2,
    });
    const long = model.complete("long", { maxTokens: 8 });
    await new Promise((r) => setTimeout(r, 60)); // ~30 ticks while the request runs
    expect(reads).toBe(1); // open's; the first tick's re-check waits in the queue, the rest were skipped
    gate.resolve();
    await long;
    await model.dispose(); // runs what is queued: one re-check (two if a tick fell between)
    expect(reads).toBeLessThanOrEqual(3);
  });

  it("re-checks on its interval", async () => {
    const events: AdaptiveEvent[] = [];
    const state = stateSource({ ramFreeBytes: 8 * GiB });
    const switched = deferred();
    const model = await AdaptiveModel.open({
      portfolio: dir,
      device: HERE,
      readState: state.read,
      loader: fakeLoader([]),
      intervalMs: 5,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "switched") switched.resolve();
      },
    });
    state.set({ ramFreeBytes: 10 * MiB }); // + large's resident 400 MiB: medium (220 MiB) is the best that fits
    await switched.promise;
    expect(model.variant.name).toBe("medium");
    await model.dispose();
  });
});

// issue 26: a variant runs with the threads its latency was measured with (node-llama-cpp's
// default, 4 threads on 2 vCPUs, ran 9,000× slower than the portfolio said)
describe("AdaptiveModel's threads", () => {
  it("measuredThreads: this device's entry, else the figure all entries agree on; 0 is all cores", () => {
    const v = FRONT.variants[0]!;
    const entry = (threads: unknown, fp: string) => ({ ...v.latency[0]!, device: { ...v.latency[0]!.device, fingerprint: fp }, settings: { ...v.latency[0]!.settings, threads } });
    expect(measuredThreads({ ...v, latency: [entry(1, HERE)] }, HERE)).toBe(1);
    expect(measuredThreads({ ...v, latency: [entry(0, HERE)] }, HERE, 6)).toBe(6);
    expect(measuredThreads({ ...v, latency: [entry(2, "elsewhere"), entry(1, HERE)] }, HERE)).toBe(1);
    expect(measuredThreads({ ...v, latency: [entry(2, "x"), entry(2, "y")] }, undefined)).toBe(2);
    expect(measuredThreads({ ...v, latency: [entry(2, "x"), entry(4, "y")] }, undefined)).toBeUndefined(); // they disagree
    expect(measuredThreads({ ...v, latency: [entry(undefined, HERE)] }, HERE)).toBeUndefined(); // not recorded
  });

  it("hands the loader the measured threads and says so in the loaded event", async () => {
    const tdir = tempDir("apreqel-adaptive-threads-");
    await writePortfolio({
      dir: tdir,
      model: FRONT.model,
      mixes: FRONT.variants.map((v) => {
        writeFileSync(path.join(tdir, v.file), `weights of ${v.name}`);
        return { name: v.name, file: v.file, weightBytes: v.weightBytes, latency: v.latency.map((m) => ({ ...m, settings: { ...m.settings, threads: 1 } })), accuracy: v.accuracy, chosenBy: v.chosenBy };
      }),
    });
    const seen: (number | undefined)[] = [];
    const events: AdaptiveEvent[] = [];
    const loader: VariantLoader = async (_file, _variant, settings) => {
      seen.push(settings?.threads);
      return { complete: async () => ({ text: "", tokens: 0, decodeMsPerToken: null }), dispose: async () => undefined };
    };
    const state = stateSource({ ramFreeBytes: 8 * GiB });
    const model = await AdaptiveModel.open({ portfolio: tdir, device: HERE, readState: state.read, loader, onEvent: (e) => events.push(e) });
    expect(seen).toEqual([1]);
    expect(events[0]).toMatchObject({ type: "loaded", threads: 1 });
    await model.dispose();
  });
});
