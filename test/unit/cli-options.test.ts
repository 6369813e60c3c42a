import { describe, expect, it } from "vitest";
import { parseConstraints, parseEstimator, parsePlanChoices, parsePositiveNumber, parseTypes, resolveWeights } from "../../lib/cli/options.js";
import { parseAge, parseMilliseconds, parseSize } from "../../lib/core/units.js";
import { OptionError } from "../../lib/core/errors.js";
import { withProbeNotes } from "../../lib/cli/pipeline-options.js";

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    return (e as Error).message;
  }
  throw new Error("expected an OptionError");
}

describe("sizes", () => {
  it("reads decimal and binary units, case-insensitively", () => {
    expect(parseSize("2GB", "--max-memory")).toBe(2e9);
    expect(parseSize("1.5GiB", "--max-memory")).toBe(1.5 * 2 ** 30);
    expect(parseSize("512MB", "--max-memory")).toBe(512e6);
    expect(parseSize("512 MiB", "--max-memory")).toBe(512 * 2 ** 20);
    expect(parseSize("3gb", "--max-memory")).toBe(3e9);
    expect(parseSize("100B", "--max-memory")).toBe(100);
  });

  it("refuses unknown units, bare numbers, zero and negatives, naming the option", () => {
    expect(message(() => parseSize("2XB", "--max-memory"))).toBe('expected a size like 2GB or 512MiB for option --max-memory but received "2XB"');
    expect(message(() => parseSize("2", "--max-memory"))).toBe('expected a size like 2GB or 512MiB for option --max-memory but received "2"');
    expect(message(() => parseSize("-1GB", "--max-memory"))).toBe('expected a size like 2GB or 512MiB for option --max-memory but received "-1GB"');
    expect(message(() => parseSize("0GB", "--max-memory"))).toBe('expected a size above 0, like 2GB or 512MiB for option --max-memory but received "0GB"');
  });
});

describe("times and ages", () => {
  it("reads ms, s and us as milliseconds", () => {
    expect(parseMilliseconds("40ms", "--max-latency")).toBe(40);
    expect(parseMilliseconds("0.04s", "--max-latency")).toBeCloseTo(40, 12);
    expect(parseMilliseconds("500us", "--max-latency")).toBe(0.5);
    expect(message(() => parseMilliseconds("40", "--max-latency"))).toBe('expected a time like 40ms or 0.04s for option --max-latency but received "40"');
    expect(message(() => parseMilliseconds("40min", "--max-latency"))).toBe('expected a time like 40ms or 0.04s for option --max-latency but received "40min"');
  });

  it("reads cache ages", () => {
    expect(parseAge("7d", "--older-than")).toBe(7 * 86400_000);
    expect(parseAge("30m", "--older-than")).toBe(1800_000);
    expect(message(() => parseAge("week", "--older-than"))).toBe('expected an age like 30m, 12h or 7d for option --older-than but received "week"');
  });

  it("reads positive numbers only", () => {
    expect(parsePositiveNumber("6.5", "--max-perplexity")).toBe(6.5);
    expect(message(() => parsePositiveNumber("abc", "--max-perplexity"))).toBe('expected a positive number for option --max-perplexity but received "abc"');
    expect(message(() => parsePositiveNumber("0", "--max-perplexity"))).toBe('expected a positive number for option --max-perplexity but received "0"');
  });
});

describe("weights and priorities", () => {
  it("maps each single-criterion priority to the paper's 0.8 weighting and balanced to 1/3 each", () => {
    expect(resolveWeights({ priority: "memory" })).toEqual({
      source: "priority",
      priority: "memory",
      weightingId: "memory-0.8",
      weights: { memory: 0.8, latency: 0.1, accuracy: 0.1 },
    });
    expect(resolveWeights({ priority: "latency" }).weights).toEqual({ memory: 0.1, latency: 0.8, accuracy: 0.1 });
    expect(resolveWeights({ priority: "accuracy" }).weights).toEqual({ memory: 0.1, latency: 0.1, accuracy: 0.8 });
    expect(resolveWeights({ priority: "balanced" }).weights).toEqual({ memory: 1 / 3, latency: 1 / 3, accuracy: 1 / 3 });
    expect(resolveWeights({})).toMatchObject({ source: "priority", priority: "balanced" });
  });

  it("takes explicit weights in the order memory, latency, accuracy", () => {
    expect(resolveWeights({ weights: "0.1,0.8,0.1" })).toEqual({ source: "weights", weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } });
  });

  it("rejects bad weights and priorities with the option's name", () => {
    expect(message(() => resolveWeights({ weights: "0.5,0.7,0" }))).toBe("--weights: weights must sum to 1 (got 1.2)");
    expect(message(() => resolveWeights({ weights: "0.5,0.5" }))).toBe(
      '--weights: weights must be three comma-separated numbers, memory,latency,accuracy (got "0.5,0.5")',
    );
    expect(message(() => resolveWeights({ priority: "speed" }))).toBe(
      'unknown priority "speed" for option --priority; valid: memory, latency, accuracy, balanced',
    );
    expect(message(() => resolveWeights({ priority: "memory", weights: "1,0,0" }))).toBe(
      "--weights and --priority choose the same thing; give one of them",
    );
  });
});

describe("types, estimator, constraints", () => {
  it("orders types least to most aggressive and suggests the nearest name for a typo", () => {
    expect(parseTypes("q3_K,q8_0,q4_K")).toEqual(["q8_0", "q4_K", "q3_K"]);
    expect(parseTypes(undefined)).toEqual(["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]);
    expect(parseTypes("Q4_K,q8_0,Q3_k")).toEqual(["q8_0", "q4_K", "q3_K"]); // case-insensitive, as llama.cpp
    expect(message(() => parseTypes("q4_Kx"))).toBe('--types: unknown type "q4_Kx"; did you mean "q4_K"?');
    expect(message(() => parseTypes("q4_K,,q8_0"))).toBe('expected a comma-separated list of ggml types like q4_K,q8_0 for option --types but received "q4_K,,q8_0"');
    expect(message(() => parseTypes("q4_K,q4_K"))).toBe('--types: type "q4_K" is listed twice');
  });

  it("accepts the four estimators only", () => {
    expect(parseEstimator("weighted")).toBe("weighted");
    expect(parseEstimator("sensitivity")).toBe("sensitivity");
    expect(parseEstimator(undefined)).toBeUndefined();
    expect(message(() => parseEstimator("exact"))).toBe('unknown estimator "exact" for option --estimator; valid: linear, weighted, sensitivity, measured');
  });

  it("builds constraints from the three --max options", () => {
    expect(parseConstraints({ "max-memory": "2GB", "max-latency": "0.04s", "max-perplexity": "7" })).toEqual({
      maxMemoryBytes: 2e9,
      maxLatencyMs: 40,
      maxPerplexity: 7,
    });
    expect(parseConstraints({})).toEqual({});
    expect(parsePlanChoices({ priority: "memory", types: "q4_K,q8_0" })).toMatchObject({ types: ["q8_0", "q4_K"], constraints: {}, estimator: undefined });
  });
});

describe("withProbeNotes", () => {
  const settings = { notes: ["earlier"], latency: { nGen: 4, nPrompt: 0, reps: 1, threads: 2, gpuLayers: 0 } };
  const measured = { kind: "measured" } as unknown as Parameters<typeof withProbeNotes>[1];
  const proxy = { kind: "proxy" } as unknown as Parameters<typeof withProbeNotes>[1];

  it("says the probes ran on the CPU when --gpu-layers offloads the rest", () => {
    const offload = { ...settings, latency: { ...settings.latency, gpuLayers: 99 } };
    expect(withProbeNotes(offload, measured).notes).toEqual(["earlier", expect.stringMatching(/^the sensitivity probes ran on the CPU/)]);
  });

  it("adds nothing without offload or without probes", () => {
    expect(withProbeNotes(settings, measured)).toBe(settings);
    expect(withProbeNotes({ ...settings, latency: { ...settings.latency, gpuLayers: -1 } }, proxy).notes).toEqual(["earlier"]);
    expect(withProbeNotes({ ...settings, latency: { ...settings.latency, gpuLayers: -1 } }, undefined).notes).toEqual(["earlier"]);
  });
});
