import { describe, expect, it } from "vitest";
import { topsis } from "../../../lib/method/topsis.js";
import { choose, logSpan, NoVariantFitsError, type DeviceState } from "../../../lib/portfolio/choose.js";
import type { Variant } from "../../../lib/portfolio/manifest.js";
import type { Weights } from "../../../lib/method/weights.js";
import { ELSEWHERE, FRONT, HERE, MiB, latency, manifest, variant } from "./helpers.js";

const GiB = 1024 * MiB;
function expectWeights(got: Weights, want: Weights): void {
  for (const k of ["memory", "latency", "accuracy"] as const) expect(got[k]).toBeCloseTo(want[k], 12);
}

const plenty: DeviceState = { ramFreeBytes: 8 * GiB, device: HERE };

/**
 * What the picker chose before rule 5 used log scales: the paper's TOPSIS (vector normalisation)
 * of the explicit matrix (weight bytes, latency, KLD). Kept to show where the rules differ.
 */
function vectorTopsisWinner(variants: readonly Variant[], weights: Weights): string {
  const matrix = variants.map((v) => [v.weightBytes, v.latency[0]!.decode.mean, v.accuracy.kld!.mean]);
  return variants[topsis(matrix, [weights.memory, weights.latency, weights.accuracy]).order[0]!]!.name;
}

/** Closeness d⁻/(d⁺ + d⁻) of a point of weighted positions, the ideal at 0 and the anti-ideal at `anti`. */
function closenessOf(point: readonly number[], anti: readonly number[]): number {
  const dIdeal = Math.hypot(...point);
  const dAnti = Math.hypot(...point.map((x, j) => x - anti[j]!));
  return dAnti / (dIdeal + dAnti);
}

describe("choose: memory", () => {
  it("goes to the accurate end when memory is plentiful and there is no budget (hand-worked TOPSIS)", () => {
    const c = choose(FRONT, plenty);
    // memory pressure 0 (440 MiB of 8 GiB), so memory's third goes to accuracy: weights 0, 1/3, 2/3.
    expectWeights(c.weights, { memory: 0, latency: 1 / 3, accuracy: 2 / 3 });
    // By hand, each column on a log scale within its span (spreads far outside the noise, scale 1):
    // latency ln(t/10)/ln 3: small 0, medium ln 1.6/ln 3 = 0.42781, large 1;
    // KLD ln(k/0.02)/ln 15: small 1, medium ln 5/ln 15 = 0.59431, large 0.
    // Weighted (×⅓, ×⅔): small (0, .66667), medium (.14260, .39620), large (.33333, 0); ideal (0, 0), anti (.33333, .66667).
    // small: d⁺ .66667, d⁻ .33333 → 1/3. large: d⁺ .33333, d⁻ .66667 → 2/3.
    // medium: d⁺ √(.14260² + .39620²) = .42108, d⁻ √(.19073² + .27046²) = .33095 → .33095/.75203 = .44008.
    expect(c.candidates.map((r) => Number(r.score!.toFixed(4)))).toEqual([0.3333, 0.4401, 0.6667]);
    expect(c.candidates[1]!.score).toBeCloseTo(closenessOf([(1 / 3) * (Math.log(1.6) / Math.log(3)), (2 / 3) * (Math.log(5) / Math.log(15))], [1 / 3, 2 / 3]), 12);
    expect(c.variant.name).toBe("large");
    expect(c.reason).toBe(
      '"large": best TOPSIS score 0.667 of 3 variants that fit (30 ms/token, KLD 0.02, 461 MB of 8.59 GB free RAM with 10% headroom; weights memory 0, latency 0.33, accuracy 0.67; memory plentiful)',
    );
    expect(c.accuracyMetric).toBe("kld");
    expect(c.latencySource).toBe("this device");
  });

  it("fits at exactly the stated headroom and not one byte less", () => {
    const mediumRequired = 220 * MiB;
    const at = choose(FRONT, { ramFreeBytes: mediumRequired, device: HERE });
    expect(at.candidates.map((r) => r.excluded === undefined)).toEqual([true, true, false]);
    expect(at.candidates[1]!.ramRequiredBytes).toBe(mediumRequired);
    const below = choose(FRONT, { ramFreeBytes: mediumRequired - 1, device: HERE });
    expect(below.variant.name).toBe("small");
    expect(below.candidates[1]!.excluded).toBe("needs 231 MB of RAM with headroom, 231 MB free");
  });

  it("counts context bytes and absolute headroom in what a variant needs", () => {
    const c = choose(FRONT, plenty, { contextBytes: 50 * MiB, headroom: { fraction: 0, bytes: 10 * MiB } });
    expect(c.candidates.map((r) => r.ramRequiredBytes)).toEqual([160 * MiB, 260 * MiB, 460 * MiB]);
  });

  it("scales memory's weight with the pressure once memory is scarce", () => {
    // 300 MiB free: large (440 MiB) does not fit; medium takes 220/300 = 0.733 → pressure (0.733 − 0.5)/0.5
    const c = choose(FRONT, { ramFreeBytes: 300 * MiB, device: HERE });
    const pressure = (220 / 300 - 0.5) / 0.5;
    expect(c.weights.memory).toBeCloseTo(pressure / 3, 12);
    expect(c.weights.latency).toBeCloseTo(1 / 3, 12);
    expect(c.weights.accuracy).toBeCloseTo(1 - 1 / 3 - pressure / 3, 12);
    expect(c.candidates[2]!.excluded).toBe("needs 461 MB of RAM with headroom, 315 MB free");
    // Two left, each at one end of every column: small (0, 0, accuracy .51111), medium (memory .15556, latency .33333, 0).
    // small: d⁺ .51111, d⁻ √(.15556² + .33333²) = .36784 → .41850; medium: the mirror image → .58150.
    const [m, l, a] = [c.weights.memory, c.weights.latency, c.weights.accuracy];
    expect(c.candidates[0]!.score).toBeCloseTo(Math.hypot(m, l) / (a + Math.hypot(m, l)), 12);
    expect(c.candidates[0]!.score).toBeCloseTo(0.4185, 4);
    expect(c.variant.name).toBe("medium");
  });

  it("counts memory as scarce near limits.maxMemoryBytes however much RAM is free", () => {
    // limit 250 MiB: large (400) is over it; medium's 200 MiB is 0.8 of it → pressure (0.8 − 0.5)/0.5 = 0.6
    const c = choose(FRONT, plenty, { limits: { maxMemoryBytes: 250 * MiB } });
    expect(c.candidates[2]!.excluded).toBe("needs 419 MB, over limits.maxMemoryBytes 262 MB");
    expectWeights(c.weights, { memory: 0.2, latency: 1 / 3, accuracy: 1 - 0.2 - 1 / 3 });
    expect(c.reason).toContain("memory pressure 0.6");
    // a limit far above every variant leaves memory plentiful
    expectWeights(choose(FRONT, plenty, { limits: { maxMemoryBytes: 4 * GiB } }).weights, { memory: 0, latency: 1 / 3, accuracy: 2 / 3 });
  });

  it("names the smallest variant and what it needs when nothing fits", () => {
    const run = () => choose(FRONT, { ramFreeBytes: 100 * MiB, device: HERE });
    expect(run).toThrow(NoVariantFitsError);
    expect(run).toThrow('no variant fits in memory: the smallest, "small", needs 115 MB of RAM (105 MB of weights + 10% headroom) but 105 MB is free');
    try {
      run();
    } catch (e) {
      expect((e as NoVariantFitsError).smallest).toEqual({ name: "small", resource: "RAM", requiredBytes: 110 * MiB, availableBytes: 100 * MiB });
    }
    expect(() => choose(FRONT, plenty, { limits: { maxMemoryBytes: 50 * MiB } })).toThrow(
      'no variant fits in memory: the smallest, "small", needs 105 MB, over limits.maxMemoryBytes 52.4 MB',
    );
  });

  it("checks VRAM when offloading, and refuses to guess an unknown VRAM", () => {
    const m = manifest([variant("small", 100, 10, 0.3, { gpuBytes: 80 * MiB }), variant("large", 400, 30, 0.02, { gpuBytes: 380 * MiB })]);
    expect(() => choose(m, plenty, { offload: true })).toThrow("policy.offload needs the GPU's free memory, but state.gpuFreeBytes is unknown");
    const c = choose(m, { ...plenty, gpuFreeBytes: 200 * MiB }, { offload: true });
    expect(c.variant.name).toBe("small");
    expect(c.candidates.map((r) => [r.ramRequiredBytes, r.gpuRequiredBytes])).toEqual([
      [22 * MiB, 88 * MiB],
      [22 * MiB, 418 * MiB],
    ]);
    expect(c.candidates[1]!.excluded).toBe("needs 438 MB of VRAM with headroom, 210 MB free");
    expect(() => choose(m, { ...plenty, gpuFreeBytes: 50 * MiB }, { offload: true })).toThrow(
      'no variant fits in memory: the smallest, "small", needs 92.3 MB of VRAM (105 MB of weights + 10% headroom) but 52.4 MB is free',
    );
  });
  it("on unified memory (Jetson) counts offloaded weights against RAM and needs no VRAM figure", () => {
    const m = manifest([variant("small", 100, 10, 0.3, { gpuBytes: 80 * MiB }), variant("large", 400, 30, 0.02, { gpuBytes: 380 * MiB })]);
    const c = choose(m, { ramFreeBytes: 300 * MiB, device: HERE, unifiedMemory: true }, { offload: true });
    expect(c.candidates.map((r) => [r.ramRequiredBytes, r.gpuRequiredBytes])).toEqual([
      [110 * MiB, 0],
      [440 * MiB, 0],
    ]);
    expect(c.variant.name).toBe("small");
  });
});

describe("choose: the accurate end (rule 5's log scale and noise)", () => {
  // Shaped like a real front: KLD falls 128× from the fast end, then halves again for 5% more latency.
  const SPREAD = manifest([variant("fast", 100, 11, 0.0192), variant("near", 200, 21, 0.0003), variant("best", 230, 22, 0.00015)]);
  const accuracyFirst = { weights: { memory: 0.1, latency: 0.1, accuracy: 0.8 } }; // --priority accuracy

  it("reaches the most accurate variant when accuracy leads and memory is plentiful", () => {
    const c = choose(SPREAD, plenty, accuracyFirst);
    expectWeights(c.weights, { memory: 0, latency: 0.1, accuracy: 0.9 });
    // latency ln(t/11)/ln 2: fast 0, near ln(21/11)/ln 2 = .93289, best 1; KLD ln(k/.00015)/ln 128: fast 1, near 1/7, best 0.
    // Weighted (×.1, ×.9): fast (0, .9) → .1; best (.1, 0) → .9;
    // near (.093289, .128571): d⁺ √(.093289² + .128571²) = .158852, d⁻ √(.006711² + .771429²) = .771458 → .829249.
    expect(c.candidates.map((r) => Number(r.score!.toFixed(4)))).toEqual([0.1, 0.8292, 0.9]);
    expect(c.variant.name).toBe("best");
    // Vector normalisation (the rule before) squeezed every KLD under .0003 to ≈ 0 of the .0192 column and chose "near".
    expect(vectorTopsisWinner(SPREAD.variants, c.weights)).toBe("near");
  });

  it("goes lexicographic on accuracy when memory and latency both weigh 0 after rule 4", () => {
    // a 100 ms budget leaves latency slack (22/100 < 0.5): weights 0, 0, 1; "best" wins however slow and large
    const slow = manifest([...SPREAD.variants.slice(0, 2), variant("best", 900, 45, 0.00015)]);
    const c = choose(slow, { ...plenty, latencyBudgetMs: 100 }, { weights: { memory: 0.45, latency: 0.45, accuracy: 0.1 } });
    expect(c.weights).toEqual({ memory: 0, latency: 0, accuracy: 1 });
    expect(c.variant.name).toBe("best");
    expect(c.candidates.map((r) => Number(r.score!.toFixed(4)))).toEqual([0, 1 - 1 / 7, 1].map((x) => Number(x.toFixed(4))));
  });

  it("does not let a latency spread inside its noise outweigh a measured accuracy gain", () => {
    // --priority latency with plentiful memory: weights 0, .8, .2. Two variants 2 ms apart.
    const pair = (sd: number) =>
      manifest([variant("fast", 100, 20, 0.01, { latency: [latency(20, HERE, sd)] }), variant("accurate", 200, 22, 0.001, { latency: [latency(22, HERE, sd)] })]);
    const latencyFirst = { weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } };
    // sd 1 ms over 5 reps: se .44721 each; 2·√2·.44721 = 1.26491 < 2: the spread counts in full.
    // fast (0, .2), accurate (.8, 0): fast d⁺ .2, d⁻ .8 → .8.
    const quiet = choose(pair(1), plenty, latencyFirst);
    expect(quiet.variant.name).toBe("fast");
    expect(quiet.candidates[0]!.score).toBeCloseTo(0.8, 12);
    // sd 10 ms: se 4.4721 each; 2·√2·4.4721 = 12.649: the 2 ms spread counts 2/12.649 = .15811 of the way.
    // accurate (.8·.15811, 0) = (.12649, 0), fast (0, .2): accurate d⁺ .12649, d⁻ .2 → .2/.32649 = .61257.
    const noisy = choose(pair(10), plenty, latencyFirst);
    expect(noisy.variant.name).toBe("accurate");
    expect(noisy.candidates[1]!.score).toBeCloseTo(0.2 / (0.2 + (0.8 * 2) / (2 * Math.SQRT2 * (10 / Math.sqrt(5)))), 12);
    expect(noisy.candidates[1]!.score).toBeCloseTo(0.6126, 4);
  });

  it("logSpan: log positions within the span, scaled by the noise, 0 counted as the smallest measured value", () => {
    expect(logSpan([{ value: 4, se: 0 }, { value: 1, se: 0 }, { value: 2, se: 0 }])).toEqual({ positions: [1, 0, 0.5], scale: 1 });
    // spread 2, noise 2·√(1² + 1²) = 2.8284: scale .70711
    const noisy = logSpan([{ value: 10, se: 1 }, { value: 12, se: 1 }]);
    expect(noisy.scale).toBeCloseTo(2 / (2 * Math.SQRT2), 12);
    expect(noisy.positions[0]).toBe(0);
    expect(noisy.positions[1]).toBeCloseTo(noisy.scale, 15);
    // a KLD of 0 (a copy of the source) sits with the smallest positive one; the noise uses the real ends (0 and 8)
    expect(logSpan([{ value: 0, se: 0 }, { value: 1, se: 0.1 }, { value: 8, se: 0.1 }])).toEqual({ positions: [0, 0, 1], scale: 1 });
    expect(logSpan([{ value: 3, se: 1 }, { value: 3, se: 1 }])).toEqual({ positions: [0, 0], scale: 0 });
    expect(logSpan([{ value: 0, se: 0 }, { value: 0, se: 0 }])).toEqual({ positions: [0, 0], scale: 0 });
  });
});

describe("choose: latency, throttle, limits", () => {
  it("drops variants over the budget once the throttle slows them", () => {
    // throttle 1.5: 15, 24, 45 ms/token; only small is within 20 ms
    const c = choose(FRONT, { ...plenty, latencyBudgetMs: 20, throttle: 1.5 });
    expect(c.variant.name).toBe("small");
    expect(c.budgetMet).toBe(true);
    expect(c.candidates.map((r) => r.latencyMs)).toEqual([15, 24, 45]);
    expect(c.candidates[1]!.excluded).toBe("24 ms/token over the 20 ms budget");
    // cool: 10, 16, 30; small and medium are within 20 ms
    const cool = choose(FRONT, { ...plenty, latencyBudgetMs: 20 });
    expect(cool.candidates.filter((r) => r.excluded === undefined).map((r) => r.name)).toEqual(["small", "medium"]);
  });

  it("takes the fastest that fits when no variant meets the budget, and says so", () => {
    const c = choose(FRONT, { ...plenty, latencyBudgetMs: 12, throttle: 1.5 });
    expect(c.variant.name).toBe("small");
    expect(c.budgetMet).toBe(false);
    expect(c.reason).toBe(
      '"small": no variant that fits meets the 12 ms/token budget at throttle 1.5; the fastest takes 15 ms/token (115 MB of 8.59 GB free RAM with 10% headroom)',
    );
  });

  it("treats the policy's limits as hard, naming the closest variant when none meets them", () => {
    expect(() => choose(FRONT, { ...plenty, throttle: 1.5 }, { limits: { maxLatencyMs: 12 } })).toThrow(
      'no variant that fits in memory meets limits.maxLatencyMs 12 at throttle 1.5: the closest, "small", has ms/token 15',
    );
    expect(() => choose(FRONT, { ramFreeBytes: 300 * MiB }, { limits: { maxKld: 0.05 } })).toThrow(
      'no variant that fits in memory meets limits.maxKld 0.05: the closest, "medium", has KLD 0.1',
    );
    const c = choose(FRONT, plenty, { weights: { memory: 0, latency: 1, accuracy: 0 }, limits: { maxKld: 0.15 } });
    expect(c.candidates[0]!.excluded).toBe("KLD 0.3 over limits.maxKld 0.15");
    expect(c.variant.name).toBe("medium");
  });

  it("with latency slack in the budget, moves latency's weight to accuracy", () => {
    // budget 100 ms: slowest 30 ms is 0.3 of it, under the 0.5 plentiful share → latency weight 0
    const c = choose(FRONT, { ...plenty, latencyBudgetMs: 100 }, { weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } });
    expect(c.weights).toEqual({ memory: 0, latency: 0, accuracy: 1 });
    expect(c.variant.name).toBe("large");
    expect(c.reason).toContain("memory plentiful; latency budget slack");
  });

  it("uses learned latency once there are enough observations, and another device's when this one is unknown", () => {
    const observed = (v: Variant, ms: number, samples: number): Variant => ({
      ...v,
      latency: [{ ...v.latency[0]!, observed: { decodeMsPerToken: ms, samples, updatedAt: "2026-12-01T21:00:00Z" } }],
    });
    const [s, m, l] = FRONT.variants as [Variant, Variant, Variant];
    // small serves at 20 ms/token, twice its 10 ms benchmark: the others, not yet observed, are taken as
    // twice theirs too (16 → 32, 30 → 60), so the one that ran is not penalised against raw benchmarks
    const learned = manifest([observed(s, 20, 5), m, l]);
    const c = choose(learned, { ...plenty, latencyBudgetMs: 40 });
    expect(c.latencySource).toBe("learned");
    expect(c.candidates.map((r) => r.latencyMs)).toEqual([20, 32, 60]);
    expect(c.candidates[2]!.excluded).toBe("60 ms/token over the 40 ms budget");
    // two observed, at 2× and 1.5× their benchmarks: the rest take the geometric mean √3
    const two = choose(manifest([observed(s, 20, 5), observed(m, 24, 9), l]), plenty);
    expect(two.candidates.map((r) => r.latencyMs)).toEqual([20, 24, 30 * Math.sqrt(3)].map((x) => expect.closeTo(x, 12)));
    // fewer than MIN_OBSERVED samples: the benchmarks as they are
    expect(choose(manifest([observed(s, 50, 4), m, l]), { ...plenty, latencyBudgetMs: 40 }).candidates.map((r) => r.latencyMs)).toEqual([10, 16, 30]);
    const elsewhere = choose(FRONT, { ramFreeBytes: 8 * GiB, device: ELSEWHERE });
    expect(elsewhere.latencySource).toBe(`${HERE} (Test CPU; not this device)`);
    const apart = manifest([s, variant("jetson-only", 10, 1, 0.1, { latency: [latency(1, ELSEWHERE)] })]);
    expect(() => choose(apart, plenty)).toThrow("the portfolio's variants have no latency measured on a common device");
  });
});

describe("choose: battery", () => {
  it("moves half of accuracy's weight to latency when low and not charging", () => {
    const low = choose(FRONT, { ...plenty, battery: { level: 0.15, charging: false } });
    expectWeights(low.weights, { memory: 0, latency: 2 / 3, accuracy: 1 / 3 });
    // The positions of the first test weighted (×⅔, ×⅓): small (0, .33333) → 2/3, large (.66667, 0) → 1/3,
    // medium (.28521, .19810): d⁺ .34726, d⁻ .40472 → .53821. The fastest end wins.
    expect(low.candidates.map((r) => Number(r.score!.toFixed(4)))).toEqual([0.6667, 0.5382, 0.3333]);
    expect(low.variant.name).toBe("small");
    expect(low.reason).toContain("battery 15% and not charging: cheaper preferred");
    expectWeights(choose(FRONT, { ...plenty, battery: { level: 0.15, charging: true } }).weights, { memory: 0, latency: 1 / 3, accuracy: 2 / 3 });
    expect(choose(FRONT, { ...plenty, battery: { level: 0.21, charging: false } }).variant.name).toBe("large");
    expect(choose(FRONT, { ...plenty, battery: { level: 0.2, charging: false } }).variant.name).toBe("small"); // at the threshold
  });
});

describe("choose: ties and determinism", () => {
  it("breaks exact ties by accuracy, then size, then name, whatever the manifest order", () => {
    const twins = [variant("b", 100, 10, 0.1), variant("a", 100, 10, 0.1)];
    expect(choose(manifest(twins), plenty).variant.name).toBe("a");
    expect(choose(manifest([...twins].reverse()), plenty).variant.name).toBe("a");
    // accuracy alone matters and both are equally accurate: the smaller wins
    const sameKld = [variant("big", 300, 10, 0.1), variant("small", 100, 20, 0.1)];
    const w = { memory: 0, latency: 0, accuracy: 1 };
    expect(choose(manifest(sameKld), plenty, { weights: w }).variant.name).toBe("small");
    expect(choose(manifest([...sameKld].reverse()), plenty, { weights: w }).variant.name).toBe("small");
  });

  it("falls back to perplexity when a variant has no KLD", () => {
    const { kld: _, ...noKld } = FRONT.variants[2]!.accuracy;
    const m = manifest([FRONT.variants[0]!, FRONT.variants[1]!, { ...FRONT.variants[2]!, accuracy: noKld }]);
    const c = choose(m, plenty);
    expect(c.accuracyMetric).toBe("perplexity");
    expect(c.candidates.map((r) => r.accuracy)).toEqual([40, 20, 12]);
  });
});

describe("choose: hysteresis", () => {
  it("keeps the current variant unless the best is better by the margin", () => {
    // latency and accuracy ½ each (memory plentiful): small (0, .5) and large (.5, 0) tie at exactly .5 (large,
    // the more accurate, is the best); medium (.21390, .29715): d⁺ .36613, d⁻ .35071 → .48924, 0.0108 below.
    const even = { weights: { memory: 0, latency: 0.5, accuracy: 0.5 } };
    const kept = choose(FRONT, { ...plenty, current: { name: "medium", resident: true } }, even);
    expect(kept.variant.name).toBe("medium");
    expect(kept.kept).toBe(true);
    expect(kept.reason).toMatch(/^kept "medium": the best, "large", scores 0\.5 vs 0\.489, less than the 0\.05 switching margin/);
    const switched = choose(FRONT, { ...plenty, current: { name: "medium", resident: true } }, { ...even, hysteresis: 0.01 });
    expect(switched.variant.name).toBe("large");
    expect(switched.kept).toBe(false);
    expect(switched.reason).toMatch(/; switched from "medium" \(score 0\.489\)$/);
    // a tie is no gain: small stays
    expect(choose(FRONT, { ...plenty, current: { name: "small", resident: true } }, even).variant.name).toBe("small");
    // default weights: from small (1/3) to large (2/3) the gain is large: switch
    expect(choose(FRONT, { ...plenty, current: { name: "small", resident: true } }).variant.name).toBe("large");
  });

  it("leaves the current variant when it no longer fits, and counts its own memory as free while resident", () => {
    // 100 MiB free besides medium's resident 200 MiB: medium (220) fits, large (440) does not
    const stay = choose(FRONT, { ramFreeBytes: 100 * MiB, device: HERE, current: { name: "medium", resident: true } });
    expect(stay.variant.name).not.toBe("large");
    expect(stay.candidates[1]!.excluded).toBeUndefined();
    // not resident: only 100 MiB: nothing fits
    expect(() => choose(FRONT, { ramFreeBytes: 100 * MiB, device: HERE, current: { name: "medium", resident: false } })).toThrow(NoVariantFitsError);
    // 15 MiB free besides its resident 200 MiB: 215 MiB < the 220 MiB medium needs with headroom
    const leave = choose(FRONT, { ramFreeBytes: 15 * MiB, device: HERE, current: { name: "medium", resident: true } });
    expect(leave.variant.name).toBe("small");
    expect(leave.reason).toMatch(/switched from "medium" \(needs 231 MB of RAM with headroom, 225 MB free\)$/);
  });

  it("refuses a current variant the portfolio does not have", () => {
    expect(() => choose(FRONT, { ...plenty, current: { name: "huge", resident: true } })).toThrow(
      'state.current names "huge", which is not in the portfolio (small, medium, large)',
    );
  });
});

describe("choose: validation", () => {
  it("names the bad field of a state or policy", () => {
    expect(() => choose(FRONT, { ramFreeBytes: -1 })).toThrow("state.ramFreeBytes must be at least 0 (got -1)");
    expect(() => choose(FRONT, { ...plenty, throttle: 0 })).toThrow("state.throttle must be above 0: 1 is as measured, 1.5 is 50% slower (got 0)");
    expect(() => choose(FRONT, { ...plenty, battery: { level: 15, charging: false } })).toThrow("state.battery.level must be between 0 and 1 (got 15)");
    expect(() => choose(FRONT, plenty, { weights: { memory: 0.5, latency: 0.7, accuracy: 0 } })).toThrow("weights must sum to 1 (got 1.2)");
    expect(() => choose(FRONT, plenty, { limits: { maxMemory: 5 } as never })).toThrow('policy.limits has an unknown limit "maxMemory"');
    expect(() => choose(FRONT, plenty, { plentiful: 1 })).toThrow("policy.plentiful must be at least 0 and below 1 (got 1)");
  });
});
