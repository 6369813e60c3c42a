// TOPSIS (Hwang & Yoon, 1981) with every criterion a cost: rank alternatives
// by how far they are from the worst value of each criterion relative to how
// far they are from the best. This is the small explicit form; plan() streams
// the same arithmetic over a million candidates without building the matrix
// (see search.ts), and a test checks both agree.
import { MethodInputError, describeValue } from "./errors.js";
import { validateWeightVector } from "./weights.js";

/** Scores per row, and row indices best first. */
export interface TopsisResult {
  /** Closeness d⁻ / (d⁻ + d*) per row, in [0, 1]; 1 when a row is both ideal and anti-ideal (all rows equal). */
  readonly scores: readonly number[];
  /** Row indices by score descending; equal scores keep row order. */
  readonly order: readonly number[];
}

/**
 * TOPSIS over a matrix of alternatives × criteria where every criterion is a
 * cost: vector normalisation r = x / √Σx² per column, v = w·r, ideal = column
 * minimum of v, anti-ideal = column maximum, score = d⁻ / (d⁻ + d*).
 * A column of zeros normalises to zeros.
 *
 * @example
 * topsis([[1, 2], [2, 1]], [0.5, 0.5]).scores // [0.5, 0.5]
 * topsis([[1, 2], [2, 1]], [1, 0]).order      // [0, 1]
 */
export function topsis(matrix: readonly (readonly number[])[], weights: readonly number[]): TopsisResult {
  const w = validateWeightVector(weights, weights.map((_, j) => `weights[${j}]`));
  if (w.length === 0) throw new MethodInputError("weights must have at least one entry (got none)");
  if (matrix.length === 0) throw new MethodInputError("matrix must have at least one row (got none)");
  const n = w.length;
  const norms = new Float64Array(n);
  matrix.forEach((row, i) => {
    if (row.length !== n) throw new MethodInputError(`matrix[${i}] must have ${n} entries, one per weight (got ${row.length})`);
    row.forEach((x, j) => {
      if (typeof x !== "number" || !Number.isFinite(x)) {
        throw new MethodInputError(`matrix[${i}][${j}] must be a finite number (got ${describeValue(x)})`);
      }
      norms[j] = (norms[j] as number) + x * x;
    });
  });
  for (let j = 0; j < n; j++) norms[j] = Math.sqrt(norms[j] as number);
  const weighted = matrix.map((row) => row.map((x, j) => weightedNormalised(x, norms[j] as number, w[j] as number)));
  const ideal = new Float64Array(n).fill(Infinity);
  const anti = new Float64Array(n).fill(-Infinity);
  for (const row of weighted) {
    row.forEach((v, j) => {
      if (v < (ideal[j] as number)) ideal[j] = v;
      if (v > (anti[j] as number)) anti[j] = v;
    });
  }
  const scores = weighted.map((row) => {
    let dIdeal = 0;
    let dAnti = 0;
    row.forEach((v, j) => {
      const a = v - (ideal[j] as number);
      const b = v - (anti[j] as number);
      dIdeal += a * a;
      dAnti += b * b;
    });
    return closeness(Math.sqrt(dIdeal), Math.sqrt(dAnti));
  });
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return { scores, order };
}

/** w·(x/‖x‖), 0 for an all-zero column. Shared with the streaming search so both round identically. */
export function weightedNormalised(x: number, norm: number, weight: number): number {
  return norm === 0 ? 0 : weight * (x / norm);
}

/** d⁻/(d⁻+d*); a row at both the ideal and the anti-ideal is as good as it gets. */
export function closeness(dIdeal: number, dAnti: number): number {
  const total = dIdeal + dAnti;
  return total === 0 ? 1 : dAnti / total;
}
