import { describe, expect, it } from "vitest";
import { frontBounds, frontConstraints } from "../../../lib/method/front-limits.js";

describe("frontConstraints", () => {
  it("bounds a perplexity column with --max-perplexity and refuses --max-kld", () => {
    expect(frontConstraints({ maxPerplexity: 20, targetBpw: 4.5 }, "perplexity")).toEqual({ maxKld: 20, targetBpw: 4.5 });
    expect(() => frontConstraints({ maxKld: 0.1 }, "perplexity")).toThrow(
      "--max-kld needs a measured KLD table (score with --sensitivity measured); this plan's accuracy is the profile's perplexity",
    );
  });

  it("bounds a KLD column with --max-kld and refuses --max-perplexity", () => {
    expect(frontConstraints({ maxKld: 0.05, maxMemoryBytes: 1e6, targetSizeBytes: 9e5 }, "kld")).toEqual({ maxKld: 0.05, maxMemoryBytes: 1e6, targetSizeBytes: 9e5 });
    expect(() => frontConstraints({ maxPerplexity: 12 }, "kld")).toThrow("--max-perplexity cannot be estimated from a KLD table");
  });
});

describe("frontBounds", () => {
  it("takes the tighter of the size target and the memory limit less the runtime bytes", () => {
    expect(frontBounds({ targetSizeBytes: 900, maxMemoryBytes: 1000 }, 200)).toEqual({ sizeBytes: 800 });
    expect(frontBounds({ targetSizeBytes: 700, maxMemoryBytes: 1000, maxLatencyMs: 5 }, 200)).toEqual({ sizeBytes: 700, latencyMs: 5 });
    expect(frontBounds({})).toEqual({});
  });
});
