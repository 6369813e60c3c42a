// Estimates that hold for aggressive mixes (issue 25, item 7). Σ Δ assumes the units' effects on
// the output add; when many units are perturbed at once their logit changes are correlated and the
// KLD of the whole exceeds the sum. To second order, KL ≈ ½ δᵀFδ with δ = Σ_u δ_u, so
//   KLD(mix) − KLD(ref) = Σ_u Δ_u + Σ_{u≠v} ρ_uv √(Δ_u Δ_v)
// and with one mean correlation ρ: Σ Δ + ρ((Σ √Δ)² − Σ Δ). ρ is fitted by least squares on the
// mixes a verify step assembled and measured (on the calibration chunks, never the evaluation text).
// For the front, whose costs must add over units, the term is linearised about the mix being
// verified (S = its Σ √Δ): Δ'(u, t) = (1 − ρ)·Δ(u, t) + 2ρS·√Δ(u, t), whose sum is the correlated
// estimate plus ρS² (the same for every mix) at that mix, and to first order near it.
import { MethodInputError, describeValue } from "./errors.js";

/** A mix that was measured: the Δ of each of its units (at its type), and its measured KLD above the reference's. */
export interface VerifiedMix {
  readonly deltas: readonly number[];
  readonly measuredExcess: number;
}

/** (Σ √Δ)² − Σ Δ over the mix's cells (negative Δ, noise, count as 0): what ρ multiplies. */
export function pairTerm(deltas: readonly number[]): number {
  let sum = 0;
  let root = 0;
  for (const d of deltas) {
    const x = Math.max(0, d);
    sum += x;
    root += Math.sqrt(x);
  }
  return root * root - sum;
}

/**
 * ρ by least squares over the verified mixes: Σ (e − Σ Δ)·q / Σ q², q the pair term. 0 with no
 * mix; bounded to [−1, 1] (a correlation).
 *
 * @example
 * // two units of Δ 0.01: the pair term is 0.02; measured 0.03 above the reference → ρ = 0.5
 * fitCorrelation([{ deltas: [0.01, 0.01], measuredExcess: 0.03 }]) // 0.5
 */
export function fitCorrelation(mixes: readonly VerifiedMix[]): number {
  let num = 0;
  let den = 0;
  for (const m of mixes) {
    if (!Number.isFinite(m.measuredExcess)) throw new MethodInputError(`measuredExcess must be a finite number (got ${describeValue(m.measuredExcess)})`);
    const q = pairTerm(m.deltas);
    const sum = m.deltas.reduce((a, d) => a + d, 0);
    num += (m.measuredExcess - sum) * q;
    den += q * q;
  }
  return den > 0 ? Math.min(1, Math.max(-1, num / den)) : 0;
}

/**
 * The estimate of a mix with the correlation term: Σ Δ + ρ·pairTerm (above the reference's KLD).
 *
 * @example
 * correlatedExcess([0.01, 0.01], 0.5) // 0.03
 */
export function correlatedExcess(deltas: readonly number[], rho: number): number {
  return deltas.reduce((a, d) => a + d, 0) + rho * pairTerm(deltas);
}

/**
 * The additive surrogate of the correlated estimate about a mix whose Σ √Δ is `rootSum`: each
 * cell's Δ' = (1 − ρ)·Δ + 2ρ·rootSum·√Δ. Its sum over a mix is the correlated estimate plus
 * ρ·rootSum² (a constant) at the mix it was taken about, and to first order in the change of Σ √Δ.
 *
 * @example
 * linearisedDelta(0.01, 0.5, 0.2) // 0.025: 0.5·0.01 + 2·0.5·0.2·0.1
 */
export function linearisedDelta(delta: number, rho: number, rootSum: number): number {
  const x = Math.max(0, delta);
  return (1 - rho) * delta + 2 * rho * rootSum * Math.sqrt(x);
}
