// Issue 26's ETA: the whole run's time left from its work (tokens, probe tokens, decode tokens,
// bytes quantized) at rates measured during the run, on a fake clock.
import { describe, expect, it } from "vitest";
import { etaLabel } from "../../lib/cli/pipeline-options.js";
import { ETA_NOISE, pipelineStepCost, PRIOR_MODEL_QUANTIZATION_IN_TOKENS, PRIOR_PROBE_TOKEN_IN_TOKENS, RunEta } from "../../lib/cli/eta.js";

const MB = 1_000_000;
// a run: calibration 1,000 tokens, two uniform files quantized (10 MB model), 2 latency files of 10
// decode tokens, 3 perplexities of 500 tokens, 50,000 probe tokens
const costs = pipelineStepCost({ modelBytes: 10 * MB, evalTokens: 500, calibrationTokens: 1000, probeTokens: 50_000, latencyTokensPerFile: 10 });
const budget = { tokens: 1000 + 3 * 500, probe: 50_000, decode: 20, bytes: 2 * 10 * MB };

/** Drives a RunEta through steps of known true rates (ms per unit by kind) and records its ETAs. */
function simulate(eta: RunEta, steps: readonly { name: string; ms: number; cached?: boolean }[]): { atMs: number; etaMs: number | undefined; trueMs: number }[] {
  const total = steps.reduce((s, x) => s + (x.cached ? 0 : x.ms), 0);
  const seen: { atMs: number; etaMs: number | undefined; trueMs: number }[] = [];
  let t = 0;
  for (const step of steps) {
    if (step.cached) {
      eta.step(step.name, 1, t);
      continue;
    }
    for (let i = 0; i <= 10; i++) {
      const at = t + (step.ms * i) / 10;
      eta.step(step.name, i / 10, at);
      seen.push({ atMs: at, etaMs: eta.remainingMs(at), trueMs: total - at });
    }
    t += step.ms;
  }
  eta.finish(t);
  return seen;
}

describe("RunEta", () => {
  it("prices the steps not yet run from the first step's measured rate: the total is known from the first step", () => {
    const eta = new RunEta(budget, costs, 10 * MB);
    expect(eta.remainingMs(0)).toBeUndefined(); // nothing timed yet
    // the calibration pass: 1,000 tokens at 2 ms each, half done after 1 s
    eta.step("similarity", 0, 0);
    eta.step("similarity", 0.5, 1000);
    const perToken = 1000 / 500;
    expect(eta.rate("tokens", 1000)).toBe(perToken);
    expect(eta.rate("probe", 1000)).toBe(perToken * PRIOR_PROBE_TOKEN_IN_TOKENS);
    expect(eta.rate("bytes", 1000)).toBeCloseTo((perToken * PRIOR_MODEL_QUANTIZATION_IN_TOKENS) / (10 * MB), 12);
    // left: 500 + 1,500 tokens, 50,000 probe tokens, 20 decode tokens, 2 quantizations
    const expected = 2000 * perToken + 50_000 * perToken * 0.5 + 20 * perToken * 4 + 2 * 3000 * perToken;
    expect(eta.estimateMs(1000)).toBeCloseTo(expected, 6);
  });

  it("a step answered from the cache counts as done without setting a rate", () => {
    const eta = new RunEta(budget, costs, 10 * MB);
    eta.step("similarity", 0, 0);
    eta.step("similarity", 0.5, 1000);
    eta.step("similarity", 1, 2000);
    eta.step("quantize q8_0", 1, 2000); // cached: no progress in between
    eta.step("quantize q4_K", 0, 2000);
    expect(eta.rate("bytes", 2000)).toBeCloseTo((2 * PRIOR_MODEL_QUANTIZATION_IN_TOKENS) / (10 * MB), 12); // still the prior
    eta.step("quantize q4_K", 0.5, 4000);
    expect(eta.rate("bytes", 4000)).toBeCloseTo(2000 / (5 * MB), 12); // measured now
    // left: the rest of q4_K (5 MB), 1,500 tokens, the probes, decode
    expect(eta.estimateMs(4000)).toBeCloseTo(5 * MB * (2000 / (5 * MB)) + 1500 * 2 + 50_000 * 1 + 20 * 8, 6);
  });

  it("over a run whose true rates match the priors, the ETA is right from the first step and only shrinks", () => {
    // true rates: 2 ms per token, 1 ms per probe token, 8 ms per decode token, quantizing the model 6 s
    const run = [
      { name: "similarity", ms: 2000 },
      { name: "quantize q8_0", ms: 6000 },
      { name: "quantize q4_K", ms: 6000 },
      { name: "latency of 2 files, interleaved", ms: 160 },
      { name: "perplexity q8_0", ms: 1000 },
      { name: "perplexity q4_K", ms: 1000 },
      { name: "perplexity source", ms: 1000 },
      { name: "quantize q8_0", ms: 0, cached: true },
      { name: "sensitivity probes", ms: 50_000 },
      { name: "front", ms: 10 },
    ];
    const seen = simulate(new RunEta(budget, costs, 10 * MB), run).filter((s) => s.etaMs !== undefined);
    for (const s of seen) expect(Math.abs(s.etaMs! - s.trueMs), `at ${s.atMs} ms`).toBeLessThanOrEqual(0.05 * (s.trueMs + 1000));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.etaMs!).toBeLessThanOrEqual(seen[i - 1]!.etaMs! + 1e-9);
  });

  it("when the probes run 3× slower than their prior, the ETA rises once they are timed and is right from there", () => {
    const run = [
      { name: "similarity", ms: 2000 },
      { name: "perplexity source", ms: 1000 },
      { name: "sensitivity probes", ms: 150_000 },
    ];
    const b = { tokens: 1500, probe: 50_000, decode: 0, bytes: 0 };
    const seen = simulate(new RunEta(b, costs, 10 * MB), run);
    const probes = seen.filter((s) => s.atMs >= 3000 + 15_000);
    for (const s of probes) expect(Math.abs(s.etaMs! - s.trueMs), `at ${s.atMs} ms`).toBeLessThanOrEqual(0.05 * s.trueMs + 1000);
  });

  it("a small rise (rates wobbling on a busy machine) is not shown; the ETA counts down instead", () => {
    const eta = new RunEta({ tokens: 2000, probe: 0, decode: 0, bytes: 0 }, costs, MB);
    eta.step("similarity", 0, 0);
    eta.step("similarity", 0.5, 1000); // 500 of its 1,000 tokens in 1 s: 2 ms/token, 1,500 tokens of the budget left
    const first = eta.remainingMs(1000)!;
    expect(first).toBe(3000);
    // a little slower: the raw estimate rises by less than the noise margin
    eta.step("similarity", 0.55, 1200);
    const raw = eta.estimateMs(1200)!;
    expect(raw).toBeGreaterThan(first - 200);
    expect(raw).toBeLessThan((first - 200) * (1 + ETA_NOISE) + 1000);
    expect(eta.remainingMs(1200)).toBe(first - 200);
  });
});

describe("RunEta: the probe planner's rounds", () => {
  // rounds of the one probe step, each reporting the fraction of the whole step, with the uniform
  // files looked up again (cache hits) between rounds: issue 26's ETA said 8 s with 37 s left, as
  // each round was counted as the whole probe budget done
  it("each round is worth the share it advanced: the ETA holds through the rounds", () => {
    const b = { tokens: 1000, probe: 50_000, decode: 0, bytes: 0 };
    const eta = new RunEta(b, costs, 10 * MB);
    // calibration: 2 ms a token; probes: 1 ms a probe token (the prior), 10 rounds of 5 s
    eta.step("similarity", 0, 0);
    eta.step("similarity", 0.5, 1000);
    eta.step("similarity", 1, 2000);
    let t = 2000;
    for (let round = 0; round < 10; round++) {
      eta.step("quantize q8_0", 1, t); // a cache hit between rounds
      for (let i = 0; i <= 10; i++) {
        const at = t + 500 * i;
        eta.step("sensitivity probes", (round + i / 10) / 10, at);
        const left = 52_000 - at;
        expect(Math.abs(eta.estimateMs(at)! - left), `round ${round}, ${i}/10`).toBeLessThanOrEqual(0.05 * left + 1000);
      }
      t += 5000;
    }
    eta.finish(t);
    expect(eta.estimateMs(t)).toBe(0);
  });

  it("a time cap on a kind bounds its estimate by what is left of the cap", () => {
    const b = { tokens: 1000, probe: 1_000_000, decode: 0, bytes: 0 };
    const eta = new RunEta(b, costs, 10 * MB, { probe: 60_000 });
    eta.step("similarity", 0, 0);
    eta.step("similarity", 0.5, 1000);
    eta.step("similarity", 1, 2000);
    // a million probe tokens at the prior's 1 ms: 1,000 s, but the probes stop at their 60 s deadline
    expect(eta.estimateMs(2000)).toBe(60_000);
    eta.step("sensitivity probes", 0, 2000);
    eta.step("sensitivity probes", 0.01, 12_000);
    expect(eta.estimateMs(12_000)).toBe(50_000);
  });
});

describe("pipelineStepCost", () => {
  it("maps the pipeline's step names to their work", () => {
    expect(costs("quantize q4_K")).toEqual({ kind: "bytes", units: 10 * MB });
    expect(costs("perplexity result")).toEqual({ kind: "tokens", units: 500 });
    expect(costs("similarity")).toEqual({ kind: "tokens", units: 1000 });
    expect(costs("sensitivity probes")).toEqual({ kind: "probe", units: 50_000, cumulative: true });
    expect(costs("latency of 3 files, interleaved")).toEqual({ kind: "decode", units: 30 });
    expect(costs("latency result")).toEqual({ kind: "decode", units: 10 });
    expect(costs("front")).toBeUndefined();
  });

  it("etaLabel: step count and the ETA, none before anything is timed", () => {
    expect(etaLabel("sensitivity probes", 11, 12, 2_460_000)).toBe("[11/12, ETA 41m00s] sensitivity probes");
    expect(etaLabel("similarity", 1, 12, undefined)).toBe("[1/12] similarity");
  });
});

describe("RunEta and steps asked for again", () => {
  it("a cached step under a name already seen uses no budget; a real one under it does", () => {
    const eta = new RunEta({ tokens: 0, probe: 0, decode: 0, bytes: 3 * 10 * MB }, costs, 10 * MB);
    // q8_0 quantized for real (2 s), then asked for again from the cache twice
    eta.step("quantize q8_0", 0, 0);
    eta.step("quantize q8_0", 0.5, 1000);
    eta.step("quantize q4_K", 1, 2000); // q4_K cached (first time seen: its work is done)
    eta.step("quantize q8_0", 1, 2000); // q8_0 again, cached: nothing
    eta.step("quantize q4_K", 1, 2000); // q4_K again, cached: nothing
    eta.step("front", 0, 2000);
    // one quantization of the budget is left (a third file: 2 s at the measured rate)
    expect(eta.estimateMs(2000)).toBeCloseTo(2000, 6);
    // it runs under a name already seen, for real: it uses the budget
    eta.step("quantize q8_0", 0, 2000);
    eta.step("quantize q8_0", 0.5, 3000);
    expect(eta.estimateMs(3000)).toBeCloseTo(1000, 6);
  });
});
