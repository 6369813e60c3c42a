// Hand-made portfolio manifests for the picker and schema tests: one model, variants whose
// numbers are chosen so the expected choices can be worked out by hand.
import type { DeviceDescription, LatencyMeasurement, PortfolioManifest, Variant } from "../../../lib/portfolio/manifest.js";

export const MiB = 2 ** 20;
export const HERE = "00000000000000aa";
export const ELSEWHERE = "00000000000000bb";

export function device(fp = HERE): DeviceDescription {
  return {
    fingerprint: fp,
    hardware: { cpu: fp === HERE ? "Test CPU" : "Jetson Orin", cores: 4, memoryBytes: 8 * 2 ** 30, platform: "linux", arch: "x64", gpus: [] },
    build: { cuda: false, apreqelVersion: "0.1.0", llamaCppCommit: "abc" },
  };
}

export function latency(decodeMs: number, fp = HERE, sd = decodeMs / 20): LatencyMeasurement {
  return {
    device: device(fp),
    settings: { nGen: 128, nPrompt: 512, reps: 5 },
    measuredAt: "2026-12-01T20:00:00Z",
    decode: { mean: decodeMs, sd },
    prefill: { mean: decodeMs / 10, sd: decodeMs / 200 },
  };
}

/** A variant: weight bytes in MiB, decode ms/token here, KLD. */
export function variant(name: string, mib: number, decodeMs: number, kld: number, extra: Partial<Variant> = {}): Variant {
  return {
    name,
    file: `${name}.gguf`,
    sha256: sha(name),
    bytes: mib * MiB + 4096,
    weightBytes: mib * MiB,
    latency: [latency(decodeMs)],
    accuracy: {
      perplexity: { value: 10 + 100 * kld, stderr: 0.1 },
      kld: { mean: kld, stderr: kld / 50, sameTopPercent: 90 },
      text: { source: "wiki.test", sha256: sha("text") },
      settings: { nCtx: 512, chunks: 8 },
      device: device(),
      measuredAt: "2026-12-01T20:00:00Z",
    },
    chosenBy: [{ by: "extreme", criterion: "accuracy" }],
    ...extra,
  };
}

export function manifest(variants: readonly Variant[]): PortfolioManifest {
  return { format: "apreqel-portfolio", version: 1, model: { name: "tiny", sha256: sha("model") }, createdAt: "2026-12-01T20:00:00Z", variants };
}

/** Small (fast, least accurate) → large (slow, most accurate): the front of a typical model. */
export const FRONT = manifest([
  variant("small", 100, 10, 0.3),
  variant("medium", 200, 16, 0.1),
  variant("large", 400, 30, 0.02),
]);

function sha(seed: string): string {
  let h = 0;
  for (const c of seed) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, "0").repeat(8);
}
