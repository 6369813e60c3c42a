import { describe, expect, it } from "vitest";
import { correlatedExcess, fitCorrelation, linearisedDelta, pairTerm } from "../../../lib/method/verify.js";

describe("the correlation term of a mix's KLD", () => {
  it("pair term: (Σ √Δ)² − Σ Δ, noise below 0 counted as 0", () => {
    expect(pairTerm([0.01, 0.04])).toBeCloseTo((0.1 + 0.2) ** 2 - 0.05, 15);
    expect(pairTerm([0.01])).toBeCloseTo(0, 15);
    expect(pairTerm([0.01, -0.001])).toBeCloseTo(0, 15);
  });

  it("ρ by least squares (hand-worked) and the corrected estimate", () => {
    expect(fitCorrelation([{ deltas: [0.01, 0.01], measuredExcess: 0.03 }])).toBeCloseTo(0.5, 12);
    // two mixes: q = 0.02 and 0.04, excess over Σ Δ 0.01 and 0.01 → ρ = (0.01·0.02 + 0.01·0.04) / (0.02² + 0.04²) = 0.3
    expect(fitCorrelation([{ deltas: [0.01, 0.01], measuredExcess: 0.03 }, { deltas: [0.04, 0.01], measuredExcess: 0.06 }])).toBeCloseTo(0.3, 12);
    expect(fitCorrelation([])).toBe(0);
    expect(fitCorrelation([{ deltas: [0.01, 0.01], measuredExcess: 1 }])).toBe(1);
    expect(correlatedExcess([0.01, 0.01], 0.5)).toBeCloseTo(0.03, 15);
  });

  it("the linearised Δ sums to the correlated estimate at the mix it was taken about (up to a constant)", () => {
    const deltas = [0.01, 0.04, 0.0025];
    const rho = 0.4;
    const S = deltas.reduce((a, d) => a + Math.sqrt(d), 0);
    const linear = deltas.reduce((a, d) => a + linearisedDelta(d, rho, S), 0);
    // Σ[(1 − ρ)Δ + 2ρS√Δ] = Σ Δ + ρ(2S² − Σ Δ) = correlated + ρS²: the constant ρS² is the same for every mix
    expect(linear - rho * S * S).toBeCloseTo(correlatedExcess(deltas, rho), 15);
    expect(linearisedDelta(0.01, 0.5, 0.2)).toBeCloseTo(0.025, 15);
  });
});
