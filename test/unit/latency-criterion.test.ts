import { describe, expect, it } from "vitest";
import { pipelineOptionsUsage, pipelineSettings, rejectUnusedOptions } from "../../lib/cli/pipeline-options.js";
import { InputError, OptionError } from "../../lib/core/errors.js";
import { run as quantize } from "../../lib/cli/quantize.js";
import { latencyFor, profileForCriterion } from "../../lib/pipeline/latency-criterion.js";
import type { ProfileFile } from "../../lib/pipeline/profile-file.js";

const prompt = (median: number, low: number, high: number) => ({ median, low, high, coverage: 0.96875, samples: 6 });
const measured = { latencyMsPerToken: 20, latencyMsPerTokenSd: 1, tokensPerSecond: 50, latencyInterval: { low: 19, high: 22, coverage: 0.96875, samples: 6 }, promptMsPerToken: prompt(2, 1.8, 2.4), memoryBytes: 100 };

describe("--latency decode|prefill", () => {
  it("decode leaves a measurement as it is; prefill puts the prompt's median, interval and half-width in the decode fields", () => {
    expect(latencyFor(measured, "decode", "q4_K")).toBe(measured);
    const p = latencyFor(measured, "prefill", "q4_K");
    expect(p.latencyMsPerToken).toBe(2);
    expect(p.latencyMsPerTokenSd).toBeCloseTo(0.3, 12); // (2.4 − 1.8) / 2
    expect(p.tokensPerSecond).toBe(500);
    expect(p.latencyInterval).toEqual({ low: 1.8, high: 2.4, coverage: 0.96875, samples: 6 });
    expect(p.memoryBytes).toBe(100);
    expect(p.promptMsPerToken).toEqual(measured.promptMsPerToken);
  });

  it("names a measurement without prefill, and passes one without latency", () => {
    for (const promptMsPerToken of [null, undefined]) {
      const f = () => latencyFor({ ...measured, promptMsPerToken }, "prefill", "the profile's q8_0 entry");
      expect(f).toThrow(InputError);
      expect(f).toThrow("the profile's q8_0 entry has no prefill latency (measured with --n-prompt 0, or by an older apreqel)");
    }
    const accuracyOnly: { perplexity: number; latencyMsPerToken?: number } = { perplexity: 7 };
    expect(latencyFor(accuracyOnly, "prefill", "x")).toBe(accuracyOnly);
  });

  it("turns a profile's every type to the criterion", () => {
    const measuredWith = {};
    const profile: ProfileFile = {
      model: { sha256: "1".repeat(64), name: "m.gguf" },
      types: { q8_0: { ...measured, perplexity: 6, measuredWith }, q4_K: { ...measured, latencyMsPerToken: 12, promptMsPerToken: prompt(1.5, 1.4, 1.7), perplexity: 7, measuredWith } },
    };
    expect(profileForCriterion(profile, "decode")).toBe(profile);
    const p = profileForCriterion(profile, "prefill");
    expect([p.types.q8_0?.latencyMsPerToken, p.types.q4_K?.latencyMsPerToken]).toEqual([2, 1.5]);
    expect([p.types.q8_0?.perplexity, p.model]).toEqual([6, profile.model]);
    // the input is not changed
    expect(profile.types.q4_K?.latencyMsPerToken).toBe(12);
  });

  it("is one validated option of the commands that plan (default decode, share)", async () => {
    const d = await pipelineSettings({}, "quantize");
    expect([d.latencyCriterion, d.latencyModel, d.notes.some((n) => n.includes("prefill"))]).toEqual(["decode", "share", false]);
    const p = await pipelineSettings({ latency: "prefill", "latency-model": "unit" }, "quantize");
    expect([p.latencyCriterion, p.latencyModel]).toEqual(["prefill", "unit"]);
    expect(p.notes).toContain("latency here is prefill: ms per prompt token (prefill) (--latency prefill)");
    expect((await pipelineSettings({ latency: "prefill" }, "sweep")).latencyCriterion).toBe("prefill");
    await expect(pipelineSettings({ latency: "prefil" }, "quantize")).rejects.toThrow('unknown latency criterion "prefil" for option --latency; did you mean "prefill"?');
    await expect(pipelineSettings({ latency: "prefill", "n-prompt": "0" }, "quantize")).rejects.toThrow(OptionError);
    await expect(pipelineSettings({ latency: "prefill", "n-prompt": "0" }, "quantize")).rejects.toThrow("--latency prefill needs a prompt to time: --n-prompt must be at least 1");
    await expect(pipelineSettings({ "latency-model": "units" }, "quantize")).rejects.toThrow('unknown latency model "units" for option --latency-model; did you mean "unit"?');
  });

  it("is refused where nothing plans, and --latency-model where nothing builds a front", () => {
    for (const command of ["profile", "score", "eval"] as const) {
      expect(() => rejectUnusedOptions(command, { latency: "prefill" })).toThrow(`--latency: ${command} does not use this option`);
      expect(pipelineOptionsUsage(command)).not.toContain("--latency L");
    }
    expect(() => rejectUnusedOptions("sweep", { "latency-model": "unit" })).toThrow("--latency-model: sweep does not use this option");
    expect(() => rejectUnusedOptions("sweep", { latency: "prefill" })).not.toThrow();
    expect(pipelineOptionsUsage("quantize")).toContain("--latency L");
    expect(pipelineOptionsUsage("sweep")).toContain("--latency L");
  });

  it("quantize refuses --latency-model with the paper's method, before touching the model", async () => {
    await expect(quantize(["missing.gguf", "--method", "paper", "--latency-model", "unit"])).rejects.toThrow("--latency-model goes with --method front");
  });
});
