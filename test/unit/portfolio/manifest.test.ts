import { describe, expect, it } from "vitest";
import { latencyOn, parseManifest } from "../../../lib/portfolio/manifest.js";
import { ELSEWHERE, FRONT, HERE, latency, manifest, variant } from "./helpers.js";

// A manifest as it travels: through JSON text, edited by hand.
function edited(edit: (m: any) => void): unknown {
  const m = JSON.parse(JSON.stringify(FRONT));
  edit(m);
  return m;
}

describe("parseManifest", () => {
  it("reads back what the types describe, unchanged", () => {
    expect(parseManifest(JSON.parse(JSON.stringify(FRONT)))).toEqual(FRONT);
  });

  it("keeps a device's latency list and finds a device by fingerprint", () => {
    const m = manifest([variant("a", 10, 5, 0.1, { latency: [latency(5), latency(9, ELSEWHERE)] })]);
    const parsed = parseManifest(JSON.parse(JSON.stringify(m)));
    expect(latencyOn(parsed.variants[0]!, ELSEWHERE)?.decode.mean).toBe(9);
    expect(latencyOn(parsed.variants[0]!, HERE)?.decode.mean).toBe(5);
    expect(latencyOn(parsed.variants[0]!, "0000000000000000")).toBeUndefined();
  });

  it("refuses what is not a manifest, and other versions, saying which", () => {
    expect(() => parseManifest([], "p.json")).toThrow("p.json must be a JSON object (got an array)");
    expect(() => parseManifest({ version: 1 }, "p.json")).toThrow('p.json: format must be "apreqel-portfolio" (got undefined); is this an apreqel portfolio manifest?');
    expect(() => parseManifest(edited((m) => (m.version = 2)), "p.json")).toThrow(
      "p.json: version 2 is not supported (this apreqel reads version 1); update apreqel to read it",
    );
    expect(() => parseManifest(edited((m) => (m.version = "1")), "p.json")).toThrow('p.json: version must be a positive integer (got "1")');
    expect(() => parseManifest(edited((m) => delete m.version), "p.json")).toThrow("p.json: version must be a positive integer (got undefined)");
  });

  it("names an unknown field and the nearest known one", () => {
    expect(() => parseManifest(edited((m) => (m.varaints = [])), "p.json")).toThrow('p.json: unknown field "varaints" in p.json; did you mean "variants"?');
    expect(() => parseManifest(edited((m) => (m.variants[1].weigthBytes = 5)), "p.json")).toThrow(
      'p.json: unknown field "weigthBytes" in variants[1]; did you mean "weightBytes"?',
    );
    expect(() => parseManifest(edited((m) => (m.variants[0].latency[0].decode.p50 = 5)), "p.json")).toThrow(
      'p.json: unknown field "p50" in variants[0].latency[0].decode; known fields: mean, sd',
    );
  });

  it("names the field of a wrong type or a missing one, with its path", () => {
    const cases: [(m: any) => void, string][] = [
      [(m) => (m.variants[2].latency[0].decode.mean = -3), "p.json: variants[2].latency[0].decode.mean must be a positive number (got -3)"],
      [(m) => (m.variants[0].bytes = "100MB"), 'p.json: variants[0].bytes must be a positive integer (got "100MB")'],
      [(m) => (m.variants[0].weightBytes = 1.5), "p.json: variants[0].weightBytes must be a positive integer (got 1.5)"],
      [(m) => delete m.variants[1].accuracy, "p.json: variants[1].accuracy is missing"],
      [(m) => (m.variants[0].accuracy.perplexity.stderr = null), "p.json: variants[0].accuracy.perplexity.stderr must be a non-negative number (got null)"],
      [(m) => (m.variants[0].accuracy.kld.sameTopPercent = 120), "p.json: variants[0].accuracy.kld.sameTopPercent must be at most 100 (got 120)"],
      [(m) => (m.variants[0].sha256 = "ABC"), 'p.json: variants[0].sha256 must be a 64-digit lowercase hex SHA-256 (got "ABC")'],
      [(m) => (m.variants[0].file = "../x.gguf"), 'p.json: variants[0].file must be a .gguf file name inside the portfolio folder, without folders (got "../x.gguf")'],
      [(m) => (m.variants[0].latency[0].measuredAt = "yesterday"), 'p.json: variants[0].latency[0].measuredAt must be an ISO 8601 time like 2026-12-01T23:00:00Z (got "yesterday")'],
      [(m) => (m.variants[0].latency[0].device.build.cuda = "no"), 'p.json: variants[0].latency[0].device.build.cuda must be true or false (got "no")'],
      [(m) => (m.variants[0].latency[0].device.fingerprint = "x"), 'p.json: variants[0].latency[0].device.fingerprint must be a 16-digit hex fingerprint (got "x")'],
      [(m) => (m.variants[0].gpuBytes = m.variants[0].weightBytes + 1), "p.json: variants[0].gpuBytes (104857601) cannot exceed weightBytes (104857600)"],
      [(m) => (m.variants = []), "p.json: variants must list at least one variant (got none)"],
      [(m) => (m.variants[0].chosenBy = []), "p.json: variants[0].chosenBy must list at least one selection (got none)"],
      [(m) => (m.variants[0].chosenBy = [{ by: "vibes" }]), 'p.json: variants[0].chosenBy[0].by must be "weights", "limits" or "extreme" (got "vibes")'],
      [(m) => (m.variants[0].chosenBy = [{ by: "weights", weights: { memory: 0.5, latency: 0.7, accuracy: 0 } }]), "p.json: variants[0].chosenBy[0].weights must sum to 1 (got 1.2)"],
      [(m) => (m.variants[0].chosenBy = [{ by: "limits", limits: {} }]), "p.json: variants[0].chosenBy[0].limits must set at least one of maxMemoryBytes, maxLatencyMs, maxPerplexity"],
      [(m) => (m.variants[0].chosenBy = [{ by: "extreme", criterion: "speed" }]), 'p.json: variants[0].chosenBy[0].criterion must be one of memory, latency, accuracy (got "speed")'],
      [(m) => (m.variants[0].latency[0].prefill = undefined), "p.json: variants[0].latency[0].prefill must be an object (got undefined)"],
    ];
    for (const [edit, message] of cases) expect(() => parseManifest(edited(edit), "p.json")).toThrow(message);
  });

  it("accepts a prefill that was not measured (null), selections by weights and limits, and observed latency", () => {
    const parsed = parseManifest(
      edited((m) => {
        m.variants[0].latency[0].prefill = null;
        m.variants[0].latency[0].observed = { decodeMsPerToken: 11, samples: 4, updatedAt: "2026-12-01T21:00:00Z" };
        m.variants[1].chosenBy = [
          { by: "weights", weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 }, weighting: "latency-0.8", limits: { maxMemoryBytes: 5e8 } },
          { by: "limits", limits: { maxLatencyMs: 40 } },
        ];
      }),
    );
    expect(parsed.variants[0]!.latency[0]!.prefill).toBeNull();
    expect(parsed.variants[0]!.latency[0]!.observed?.samples).toBe(4);
    expect(parsed.variants[1]!.chosenBy).toHaveLength(2);
  });

  it("refuses duplicate names, files, hashes and devices, naming both entries", () => {
    expect(() => parseManifest(edited((m) => (m.variants[2].name = "small")), "p.json")).toThrow(
      'p.json: variants[0] and variants[2] have the same name "small"; each must be unique',
    );
    expect(() => parseManifest(edited((m) => (m.variants[1].sha256 = m.variants[0].sha256)), "p.json")).toThrow(
      /p\.json: variants\[0\] and variants\[1\] have the same sha256 "[0-9a-f]{64}"; each must be unique/,
    );
    expect(() => parseManifest(edited((m) => (m.variants[1].file = "small.gguf")), "p.json")).toThrow(
      'p.json: variants[0] and variants[1] have the same file "small.gguf"; each must be unique',
    );
    expect(() => parseManifest(edited((m) => m.variants[0].latency.push(m.variants[0].latency[0])), "p.json")).toThrow(
      'p.json: variants[0].latency[0] and variants[0].latency[1] have the same device.fingerprint "00000000000000aa"; each must be unique',
    );
  });
});
