import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/core/errors.js";
import { canonicalJson } from "../../lib/core/json.js";
import { describeBuild, describeHardware, fingerprint, type Hardware } from "../../lib/pipeline/hardware.js";
import {
  mergeProfiles,
  missingMetrics,
  parseProfileFile,
  toMethodProfile,
  type Provenance,
  type ProfileFile,
} from "../../lib/pipeline/profile-file.js";

const edge: Hardware = { cpu: "ARMv8 Processor rev 1", cores: 6, memoryBytes: 8e9, platform: "linux", arch: "arm64", gpus: ["CUDA0: Orin"] };
const server: Hardware = { cpu: "AMD EPYC", cores: 2, memoryBytes: 16e9, platform: "linux", arch: "x64", gpus: [] };
const build = { cuda: false, apreqelVersion: "0.1.0", llamaCppCommit: "de3ff81" };
const on = (hardware: Hardware, settings: Record<string, unknown> = {}): Provenance => ({ hardware, build, settings });
const model = { sha256: "1".repeat(64), name: "tiny.gguf", blocks: 2, layers: 4 };
const layerBytes = { "blk.0.attn": 100, "blk.0.ffn": 200, "blk.1.attn": 100, "blk.1.ffn": 200 };

const latencyOnly: ProfileFile = {
  model,
  types: {
    q8_0: { memoryBytes: 900, latencyMsPerToken: 20, measuredWith: { memory: on(edge), latency: on(edge, { nGen: 64 }) } },
    q4_K: { memoryBytes: 500, latencyMsPerToken: 12, measuredWith: { memory: on(edge), latency: on(edge, { nGen: 64 }) } },
  },
};
const accuracyOnly: ProfileFile = {
  model,
  types: {
    q8_0: { perplexity: 6.0, perplexityStderr: 0.1, layerBytes, measuredWith: { accuracy: on(server, { nCtx: 512 }) } },
    q4_K: { perplexity: 6.4, layerBytes: { ...layerBytes, "blk.0.ffn": 110 }, measuredWith: { accuracy: on(server, { nCtx: 512 }) } },
  },
};

function inputError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("mergeProfiles", () => {
  it("joins a latency-only and an accuracy-only profile, keeping where each metric was measured", () => {
    const merged = mergeProfiles(latencyOnly, accuracyOnly, ["edge.json", "server.json"]);
    expect(merged.types.q8_0).toEqual({
      memoryBytes: 900,
      latencyMsPerToken: 20,
      perplexity: 6.0,
      perplexityStderr: 0.1,
      layerBytes,
      measuredWith: { memory: on(edge), latency: on(edge, { nGen: 64 }), accuracy: on(server, { nCtx: 512 }) },
    });
    expect(merged.types.q4_K?.measuredWith.latency?.hardware.cpu).toBe("ARMv8 Processor rev 1");
    expect(merged.types.q4_K?.measuredWith.accuracy?.hardware.cpu).toBe("AMD EPYC");
    expect(missingMetrics(merged, ["q8_0", "q4_K"])).toEqual({});
    // and the method can plan with it
    const profile = toMethodProfile(merged, ["q8_0", "q4_K"]);
    expect(profile.types.q4_K).toEqual({ memoryBytes: 500, latencyMsPerToken: 12, perplexity: 6.4, layerBytes: { ...layerBytes, "blk.0.ffn": 110 } });
  });

  it("is symmetric in what it keeps", () => {
    expect(canonicalJson(mergeProfiles(accuracyOnly, latencyOnly))).toBe(canonicalJson(mergeProfiles(latencyOnly, accuracyOnly)));
  });

  it("refuses profiles of different models", () => {
    const other = { ...accuracyOnly, model: { ...model, sha256: "2".repeat(64), name: "other.gguf" } };
    expect(inputError(() => mergeProfiles(latencyOnly, other, ["edge.json", "server.json"]))).toBe(
      "cannot merge profiles of different models: edge.json measured tiny.gguf (sha256 111111111111…), server.json measured other.gguf (sha256 222222222222…)",
    );
  });

  it("refuses a metric measured in both, naming where", () => {
    expect(inputError(() => mergeProfiles(latencyOnly, latencyOnly, ["a.json", "b.json"]))).toBe(
      "cannot merge: both a.json (on ARMv8 Processor rev 1 + CUDA0: Orin) and b.json (on ARMv8 Processor rev 1 + CUDA0: Orin) measure memory of q8_0; " +
        "merge profiles that measure different things (e.g. `profile --only latency` with `profile --only accuracy`)",
    );
  });

  it("refuses different quantization settings and disagreeing layer bytes", () => {
    const imatrix = { ...accuracyOnly, quantization: { nonLayerType: "q8_0", imatrix: "abc" } };
    expect(inputError(() => mergeProfiles(latencyOnly, imatrix, ["a", "b"]))).toBe(
      'cannot merge profiles quantized differently: a has quantization {}, b has {"imatrix":"abc","nonLayerType":"q8_0"}',
    );
    const withBytes: ProfileFile = { ...latencyOnly, types: { q8_0: { ...latencyOnly.types.q8_0!, layerBytes: { ...layerBytes, "blk.1.ffn": 1 } } } };
    expect(inputError(() => mergeProfiles(withBytes, accuracyOnly, ["a", "b"]))).toBe(
      "cannot merge: a and b disagree on q8_0.layerBytes (the uniform q8_0 files differ)",
    );
  });
});

describe("profile files", () => {
  it("round-trip through JSON and say what a partial one lacks", () => {
    const parsed = parseProfileFile(JSON.parse(JSON.stringify(latencyOnly)), "edge.json");
    expect(parsed).toEqual(latencyOnly);
    expect(missingMetrics(parsed, ["q8_0", "q4_K"])).toEqual({ q8_0: ["accuracy"], q4_K: ["accuracy"] });
    expect(inputError(() => toMethodProfile(parsed, ["q8_0"]))).toBe(
      "the profile is incomplete: q8_0 has no accuracy measurement (run `apreqel profile` for those, e.g. `--only latency` on the target device, and pass every profile with --profile)",
    );
  });

  it("reject metrics without provenance, bad hashes and bad values", () => {
    const bare = { model, types: { q8_0: { memoryBytes: 1, latencyMsPerToken: 1, perplexity: 1 } } };
    expect(inputError(() => parseProfileFile(bare, "p.json"))).toBe("p.json: types.q8_0 has memoryBytes but no measuredWith.memory (what it was measured on)");
    expect(inputError(() => parseProfileFile({ ...bare, model: { ...model, sha256: "xyz" } }, "p.json"))).toBe(
      'p.json: model.sha256 must be the model\'s 64-digit hex SHA-256 (got "xyz")',
    );
    expect(inputError(() => parseProfileFile({ types: {} }, "p.json"))).toBe(
      'p.json does not say which model it measured (no "model"); only profiles written by `apreqel profile` can be merged',
    );
    const nan = { model, types: { q8_0: { perplexity: -1, measuredWith: { accuracy: on(server) } } } };
    expect(inputError(() => parseProfileFile(nan, "p.json"))).toBe("p.json: types.q8_0.perplexity must be a positive number (got -1)");
    expect(inputError(() => parseProfileFile({ model, types: { q4_k: {} } }, "p.json"))).toBe('p.json: unknown type "q4_k"; did you mean "q4_K"?');
  });
});

describe("hardware and build", () => {
  it("describe this machine and build, and fingerprint them stably", () => {
    const hw = describeHardware({ cuda: true, devices: [{ name: "CPU", description: "x" }, { name: "CUDA0", description: "Orin" }] });
    expect(hw.cores).toBeGreaterThan(0);
    expect(hw.gpus).toEqual(["CUDA0: Orin"]);
    const b = describeBuild({ cuda: false });
    expect(b.cuda).toBe(false);
    expect(b.apreqelVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(b.llamaCppCommit).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    expect(fingerprint({ hw, b })).toBe(fingerprint({ b, hw }));
    expect(fingerprint({ hw, b })).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint({ hw: { ...hw, cores: hw.cores + 1 }, b })).not.toBe(fingerprint({ hw, b }));
  });
});

describe("the latency protocol's fields in profiles", () => {
  const protocol = {
    latencyInterval: { low: 19.5, high: 20.8, coverage: 62 / 64, samples: 6 },
    promptMsPerToken: { median: 1.2, low: 1.1, high: 1.3, coverage: 62 / 64, samples: 6 },
    latencyMachine: { busy: true, reasons: ["load average 3.50 on 2 CPUs at the start"] },
  };
  const withProtocol: ProfileFile = {
    ...latencyOnly,
    types: { ...latencyOnly.types, q8_0: { ...latencyOnly.types.q8_0!, ...protocol } },
  };

  it("reads profiles with and without them (older profiles stay readable)", () => {
    const parsed = parseProfileFile(JSON.parse(JSON.stringify(withProtocol)), "new.json");
    expect(parsed.types.q8_0?.["latencyMachine"]).toEqual(protocol.latencyMachine);
    expect(parseProfileFile(JSON.parse(JSON.stringify(latencyOnly)), "old.json").types.q8_0?.["latencyInterval"]).toBeUndefined();
  });

  // issue 22: a null interval was accepted, then the summary table threw after the mix was written
  it("refuses an interval that is null, not a number, or upside down", () => {
    const withInterval = (latencyInterval: unknown) =>
      JSON.parse(JSON.stringify({ ...latencyOnly, types: { ...latencyOnly.types, q8_0: { ...latencyOnly.types.q8_0!, latencyInterval } } })) as unknown;
    expect(() => parseProfileFile(withInterval(null), "p.json")).toThrow(new InputError("p.json: types.q8_0.latencyInterval must be an object (got null)"));
    expect(() => parseProfileFile(withInterval({ low: null, high: 2 }), "p.json")).toThrow(/latencyInterval\.low must be a number ≥ 0 \(got null\)/);
    expect(() => parseProfileFile(withInterval({ low: 3, high: 2 }), "p.json")).toThrow(/latencyInterval: low \(3\) must not exceed high \(2\)/);
  });

  it("merges them with the latency group, from the profile that measured latency", () => {
    const merged = mergeProfiles(accuracyOnly, withProtocol, ["server.json", "edge.json"]);
    expect(merged.types.q8_0).toMatchObject({ latencyMsPerToken: 20, perplexity: 6.0, ...protocol });
  });
});
