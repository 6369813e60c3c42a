// One set of defaults (lib/pipeline/settings.ts): the library resolves a call with no options to
// exactly what `apreqel quantize` with no flags resolves to, every dependent default follows the
// method, and a size target given alone is a budget to spend on accuracy.
import { describe, expect, it } from "vitest";
import { parse } from "../../lib/cli/args.js";
import { parseTargetSize, parseTypes } from "../../lib/cli/options.js";
import { QUANTIZE_OPTIONS, quantizeOptions } from "../../lib/cli/quantize.js";
import { DEFAULT_TYPES } from "../../lib/method/types.js";
import { DEFAULTS, resolveRunSettings, resolveSettings, weightsFor } from "../../lib/pipeline/settings.js";

const cli = async (argv: string[]) => (await quantizeOptions(parse(["m.gguf", ...argv], QUANTIZE_OPTIONS).values)).settings;

describe("resolveSettings", () => {
  it("resolves a library call with no options to what `apreqel quantize` with no flags resolves to", async () => {
    const library = await resolveSettings({});
    expect(await cli([])).toEqual(library);
    // and what that is, by hand: the front on a measured Δ KLD table per tensor, KLD measured,
    // the calibration pass's importance matrix, the default windows and latency protocol
    expect(library.method).toBe("front");
    expect(library.types).toEqual(DEFAULT_TYPES);
    expect(library.weights).toEqual({ source: "priority", priority: "balanced", weightingId: "fairness-equal", weights: expect.any(Object) });
    expect(library.measure).toMatchObject({ kind: "measured", granularity: "tensor", chunks: 8 });
    expect(library.score.measure).toBe(library.measure);
    expect(library.accuracy.kld).toBe(true);
    expect(library.accuracy.nCtx).toBe(512);
    expect(library.score.nCtx).toBe(512);
    expect(library.uniform.imatrixFrom).toMatchObject({ nCtx: 512, threads: 0, gpuLayers: 0 });
    expect(library.uniform.imatrixFrom?.calibration.source.kind).toBe("builtin");
    // a decode plan times no prompt (nothing it writes or prints uses it)
    expect(library.latency).toEqual({ nGen: 128, nPrompt: 0, reps: 6, threads: 0, gpuLayers: 0 });
    expect(library.estimator).toBeUndefined();
  });

  it("times the prompt only for a prefill plan or when asked for", async () => {
    expect((await resolveSettings({ latencyCriterion: "prefill" })).latency.nPrompt).toBe(512);
    expect((await resolveSettings({ latencyCriterion: "prefill" }, { contextLength: 256 })).latency.nPrompt).toBe(256);
    expect((await resolveSettings({ nPrompt: 64 })).latency.nPrompt).toBe(64);
    expect(await cli(["--n-prompt", "64"])).toEqual(await resolveSettings({ nPrompt: 64 }));
    expect(await cli(["--latency", "prefill"])).toEqual(await resolveSettings({ latencyCriterion: "prefill" }));
    // the measuring settings other commands share (profile, sweep, portfolio) keep both
    expect((await resolveRunSettings({})).latency.nPrompt).toBe(512);
  });

  it("gives the CLI's flags the library's meaning, one by one", async () => {
    expect(await cli(["--method", "paper"])).toEqual(await resolveSettings({ method: "paper" }));
    expect(await cli(["--sensitivity", "measured", "--method", "paper"])).toEqual(await resolveSettings({ method: "paper", sensitivity: "measured" }));
    expect(await cli(["--priority", "memory", "--ctx", "256", "--no-imatrix"])).toEqual(await resolveSettings({ priority: "memory", nCtx: 256, imatrix: false }));
    expect(await cli(["--target-size", "8270016"])).toEqual(await resolveSettings({ limits: { targetSizeBytes: 8_270_016 } }));
  });

  it("derives the sensitivity, KLD and estimator from the method", async () => {
    const paper = await resolveSettings({ method: "paper" });
    expect(paper.measure).toBeUndefined();
    expect(paper.accuracy.kld).toBe(false);
    expect(paper.estimator).toBeUndefined();
    const paperMeasured = await resolveSettings({ method: "paper", sensitivity: "measured" });
    expect(paperMeasured.measure).toMatchObject({ kind: "measured", granularity: "sublayer" });
    expect(paperMeasured.estimator).toBe("measured");
    expect(paperMeasured.accuracy.kld).toBe(false);
    const proxy = await resolveSettings({ sensitivity: "proxy" });
    expect(proxy.measure?.kind).toBe("proxy");
    // the proxy gives no KLD: the front plans on perplexity, so nothing asks for KLD
    expect(proxy.accuracy.kld).toBe(false);
    expect((await resolveSettings({ sensitivity: "cosine" })).measure).toBeUndefined();
  });

  it("spends a size target on accuracy when neither weights nor a priority are given", async () => {
    const budget = { source: "budget", weights: { memory: 0, latency: 0, accuracy: 1 } };
    expect((await resolveSettings({ limits: { targetSizeBytes: 8_270_016 } })).weights).toEqual(budget);
    expect(weightsFor({}, "front", { targetBpw: 4.5 })).toEqual(budget);
    expect(weightsFor({}, "front", { targetPreset: "Q4_K_M" })).toEqual(budget);
    // a memory limit is a bound, not a budget; a priority or weights given win
    expect(weightsFor({}, "front", { maxMemoryBytes: 1e9 }).source).toBe("priority");
    expect(weightsFor({ priority: "latency" }, "front", { targetBpw: 4.5 }).weights).toEqual({ memory: 0.1, latency: 0.8, accuracy: 0.1 });
    expect(weightsFor({ weights: { memory: 0.5, latency: 0.5, accuracy: 0 } }, "front", { targetBpw: 4.5 }).source).toBe("weights");
    expect((await cli(["--target-bpw", "4.5"])).weights).toEqual(budget);
    expect((await cli(["--target-bpw", "4.5", "--priority", "balanced"])).weights.source).toBe("priority");
  });

  it("fits a default window to a model whose context is shorter, and never changes one given", async () => {
    const short = await resolveRunSettings({}, { contextLength: 256 });
    expect([short.nCtx, short.accuracy.nCtx, short.score.nCtx, short.uniform.imatrixFrom?.nCtx, short.latency.nPrompt]).toEqual([256, 256, 256, 256, 256]);
    expect(short.latency.nGen).toBe(DEFAULTS.latency.nGen);
    expect((await resolveRunSettings({}, { contextLength: 4096 })).nCtx).toBe(DEFAULTS.nCtx);
    expect((await resolveRunSettings({ nCtx: 512, nPrompt: 512 }, { contextLength: 256 })).nCtx).toBe(512);
    expect((await resolveRunSettings({ nCtx: 512, nPrompt: 512 }, { contextLength: 256 })).latency.nPrompt).toBe(512);
  });

  it("refuses combinations that cannot mean anything, in the CLI's words", async () => {
    await expect(resolveSettings({ method: "paper", limits: { targetBpw: 4 } })).rejects.toThrow("--target-bpw goes with --method front");
    await expect(resolveSettings({ estimator: "linear" })).rejects.toThrow("--estimator goes with --method paper");
    await expect(resolveSettings({ sensitivity: "cosine", granularity: "tensor" })).rejects.toThrow("--granularity and --probe-chunks go with --sensitivity measured");
    await expect(resolveSettings({ weights: { memory: 1, latency: 0, accuracy: 0 }, priority: "memory" })).rejects.toThrow("--weights and --priority choose the same thing");
    await expect(resolveRunSettings({ latencyCriterion: "prefill", nPrompt: 0 })).rejects.toThrow("--latency prefill needs a prompt to time");
    await expect(resolveRunSettings({ nonLayerType: "iq2_xs", imatrix: false })).rejects.toThrow("--non-layer-type: iq2_xs needs an importance matrix");
    await expect(resolveRunSettings({ nCtx: 4 })).rejects.toThrow(/nCtx/);
  });
});

describe("sizes in the words users think in", () => {
  it("reads --target-size as a size, a byte count or a preset", () => {
    expect(parseTargetSize("30MB")).toBe(30_000_000);
    expect(parseTargetSize("8270016")).toBe(8_270_016);
    expect(parseTargetSize("q4_k_m")).toEqual({ preset: "Q4_K_M" });
    expect(() => parseTargetSize("Q4_K_X")).toThrow('unknown llama.cpp preset "Q4_K_X" for option --target-size; did you mean "Q4_K_M"?');
    expect(() => parseTargetSize("30XB")).toThrow('expected a size like 2GB or 512MiB for option --target-size but received "30XB"');
    expect(() => parseTargetSize("0")).toThrow("--target-size");
  });

  it("answers a preset given as a type with what it is and where it goes", () => {
    expect(() => parseTypes("q8_0,Q4_K_M")).toThrow("--types: Q4_K_M is a llama.cpp preset (a mix of types), not a type; for a mix of its size give --target-size Q4_K_M");
    // a preset that is also a type's name is the type
    expect(parseTypes("Q8_0,q4_K")).toEqual(["q8_0", "q4_K"]);
  });
});
