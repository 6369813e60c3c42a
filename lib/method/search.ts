// The streaming search behind plan(): TOPSIS over every split without a
// matrix. TOPSIS needs, per criterion, Σx² (vector normalisation) and the
// minimum and maximum over the ranked candidates (ideal and anti-ideal, all
// criteria being costs). Neither depends on the weights, so pass 1 collects
// them (and applies the constraints); pass 2, once per weighting, recomputes
// each candidate's estimate from the boundary tables and scores it. Memory is
// O(L·M), whatever the number of candidates.
//
// Ties (exactly equal doubles; the arithmetic order is fixed, so this is
// deterministic): a higher score wins; equal scores go to the lower estimated memory,
// then latency, then perplexity; if all are equal the split met first wins,
// i.e. the lexicographically greatest counts (least aggressive type first),
// the most conservative of the tied splits.
import { CRITERION_COUNT, type BoundaryTables, type Estimate } from "./estimators.js";
import { weightedNormalised } from "./topsis.js";

/** One number per criterion: memory, latency, perplexity (accuracy). */
export type Triple = readonly [number, number, number];

/** Upper bounds per criterion; Infinity = none. */
export type Limits = Triple;

/** A split found by the search: counts per type (least aggressive first) and its estimate. */
export interface Found {
  readonly counts: readonly number[];
  readonly estimate: Estimate;
}

/** Outcome of {@link searchBest}. */
export type SearchOutcome =
  | {
      readonly kind: "ranked";
      readonly enumerated: number;
      readonly kept: number;
      /** One per weighting, in the given order. */
      readonly best: readonly (Found & { readonly score: number })[];
    }
  | {
      readonly kind: "infeasible";
      readonly enumerated: number;
      /** Lowest estimate of each criterion over all splits. */
      readonly lowest: Estimate;
      /** The split with the smallest worst relative violation (x − limit) / limit. */
      readonly closest: Found & { readonly worstViolation: number };
    };

/**
 * Ranks every split under each weighting (memory, latency, accuracy; already
 * validated) after dropping those over the limits.
 *
 * @example
 * searchBest(tables, [[0.1, 0.8, 0.1]], [Infinity, Infinity, Infinity]).best[0].counts
 */
export function searchBest(tables: BoundaryTables, weightings: readonly Triple[], limits: Limits): SearchOutcome {
  const first = passOne(tables, limits);
  if (first.kept === 0) {
    return {
      kind: "infeasible",
      enumerated: first.enumerated,
      lowest: toEstimate(first.lowest),
      closest: { ...found(tables, first.closestBounds, first.closestX), worstViolation: first.closestViolation },
    };
  }
  const norms = first.sumSq.map(Math.sqrt);
  const best = weightings.map((w) => passTwo(tables, w, limits, norms, first.min, first.max));
  return {
    kind: "ranked",
    enumerated: first.enumerated,
    kept: first.kept,
    best: best.map((b) => ({ ...found(tables, b.bounds, b.x), score: b.score })),
  };
}

interface PassOne {
  enumerated: number;
  kept: number;
  sumSq: number[];
  min: number[];
  max: number[];
  lowest: number[];
  closestViolation: number;
  closestBounds: Int32Array;
  closestX: number[];
}

// The hot loops: one call per prefix (the last boundary's whole range), so V8
// optimises them as ordinary hot functions with full type feedback; a single
// long loop would run in the interpreter until on-stack replacement kicks in
// and deoptimise on exit, on every plan. Accumulators live in a Float64Array.

// acc: 0 kept, 1–3 Σx², 4–6 min, 7–9 max, 10–12 lowest over all, 13 closest
// violation, 14–16 closest x. Returns the last b that became the closest, or −1.
function rangeOne(
  table: Float64Array, L: number, lo: number,
  p0: number, p1: number, p2: number, o0: number, o1: number, o2: number,
  lim0: number, lim1: number, lim2: number, acc: Float64Array,
): number {
  let kept = acc[0] as number;
  let sq0 = acc[1] as number, sq1 = acc[2] as number, sq2 = acc[3] as number;
  let min0 = acc[4] as number, min1 = acc[5] as number, min2 = acc[6] as number;
  let max0 = acc[7] as number, max1 = acc[8] as number, max2 = acc[9] as number;
  let low0 = acc[10] as number, low1 = acc[11] as number, low2 = acc[12] as number;
  let closestAt = -1;
  for (let b = L; b >= lo; b--) {
    const x0 = p0 + (table[o0 + b] as number);
    const x1 = p1 + (table[o1 + b] as number);
    const x2 = p2 + (table[o2 + b] as number);
    if (x0 < low0) low0 = x0;
    if (x1 < low1) low1 = x1;
    if (x2 < low2) low2 = x2;
    if (x0 <= lim0 && x1 <= lim1 && x2 <= lim2) {
      kept++;
      sq0 += x0 * x0;
      sq1 += x1 * x1;
      sq2 += x2 * x2;
      if (x0 < min0) min0 = x0;
      if (x1 < min1) min1 = x1;
      if (x2 < min2) min2 = x2;
      if (x0 > max0) max0 = x0;
      if (x1 > max1) max1 = x1;
      if (x2 > max2) max2 = x2;
    } else if (kept === 0) {
      // Only needed to explain an empty result; stops once one split fits.
      const v = Math.max(violation(x0, lim0), violation(x1, lim1), violation(x2, lim2));
      if (v < (acc[13] as number)) {
        acc[13] = v;
        acc[14] = x0;
        acc[15] = x1;
        acc[16] = x2;
        closestAt = b;
      }
    }
  }
  acc[0] = kept;
  acc[1] = sq0; acc[2] = sq1; acc[3] = sq2;
  acc[4] = min0; acc[5] = min1; acc[6] = min2;
  acc[7] = max0; acc[8] = max1; acc[9] = max2;
  acc[10] = low0; acc[11] = low1; acc[12] = low2;
  return closestAt;
}

function passOne(tables: BoundaryTables, limits: Limits): PassOne {
  const L = tables.layers;
  const [lim0, lim1, lim2] = limits;
  const prefix = new Prefix(tables);
  const table = prefix.table;
  const closestBounds = new Int32Array(tables.boundaries);
  const acc = new Float64Array(17);
  acc.fill(Infinity, 4, 7);
  acc.fill(-Infinity, 7, 10);
  acc.fill(Infinity, 10, 14);
  let enumerated = 0;
  do {
    const { lo, o0, o1, o2, sums } = prefix;
    enumerated += L - lo + 1;
    const at = rangeOne(table, L, lo, sums[0] as number, sums[1] as number, sums[2] as number, o0, o1, o2, lim0, lim1, lim2, acc);
    if (at >= 0) prefix.boundsWith(at, closestBounds);
  } while (prefix.advance());
  const a = (i: number): number => acc[i] as number;
  return {
    enumerated,
    kept: a(0),
    sumSq: [a(1), a(2), a(3)],
    min: [a(4), a(5), a(6)],
    max: [a(7), a(8), a(9)],
    lowest: [a(10), a(11), a(12)],
    closestViolation: a(13),
    closestBounds,
    closestX: [a(14), a(15), a(16)],
  };
}

interface Best {
  score: number;
  x: number[];
  bounds: Int32Array;
}

// q: 0–2 weights, 3–5 norms, 6–8 ideal, 9–11 anti-ideal. best: 0 score, 1–3 x.
// Returns the last b that became the best, or −1.
function rangeTwo(
  table: Float64Array, L: number, lo: number,
  p0: number, p1: number, p2: number, o0: number, o1: number, o2: number,
  lim0: number, lim1: number, lim2: number, q: Float64Array, best: Float64Array,
): number {
  const w0 = q[0] as number, w1 = q[1] as number, w2 = q[2] as number;
  const n0 = q[3] as number, n1 = q[4] as number, n2 = q[5] as number;
  const i0 = q[6] as number, i1 = q[7] as number, i2 = q[8] as number;
  const a0 = q[9] as number, a1 = q[10] as number, a2 = q[11] as number;
  let bestScore = best[0] as number;
  let best0 = best[1] as number, best1 = best[2] as number, best2 = best[3] as number;
  let bestAt = -1;
  for (let b = L; b >= lo; b--) {
    const x0 = p0 + (table[o0 + b] as number);
    const x1 = p1 + (table[o1 + b] as number);
    const x2 = p2 + (table[o2 + b] as number);
    if (!(x0 <= lim0 && x1 <= lim1 && x2 <= lim2)) continue;
    // Same operations, in the same order, as topsis() on the materialised matrix.
    const v0 = n0 === 0 ? 0 : w0 * (x0 / n0);
    const v1 = n1 === 0 ? 0 : w1 * (x1 / n1);
    const v2 = n2 === 0 ? 0 : w2 * (x2 / n2);
    const d0 = v0 - i0, d1 = v1 - i1, d2 = v2 - i2;
    const e0 = v0 - a0, e1 = v1 - a1, e2 = v2 - a2;
    const dIdeal = Math.sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    const dAnti = Math.sqrt(e0 * e0 + e1 * e1 + e2 * e2);
    const total = dIdeal + dAnti;
    const score = total === 0 ? 1 : dAnti / total;
    if (score > bestScore || (score === bestScore && betterTie(x0, x1, x2, best0, best1, best2))) {
      bestScore = score;
      best0 = x0;
      best1 = x1;
      best2 = x2;
      bestAt = b;
    }
  }
  best[0] = bestScore;
  best[1] = best0;
  best[2] = best1;
  best[3] = best2;
  return bestAt;
}

function passTwo(
  tables: BoundaryTables,
  weights: Triple,
  limits: Limits,
  norms: readonly number[],
  min: readonly number[],
  max: readonly number[],
): Best {
  const L = tables.layers;
  const [lim0, lim1, lim2] = limits;
  const q = new Float64Array(12);
  for (let c = 0; c < CRITERION_COUNT; c++) {
    const n = norms[c] as number;
    const w = weights[c] as number;
    q[c] = w;
    q[3 + c] = n;
    // Ideal and anti-ideal: the column extremes of w·x/‖x‖, equal to the
    // extremes of x mapped the same way since that map is monotone (w/‖x‖ ≥ 0).
    q[6 + c] = weightedNormalised(min[c] as number, n, w);
    q[9 + c] = weightedNormalised(max[c] as number, n, w);
  }
  const best = Float64Array.of(-Infinity, 0, 0, 0);
  const bestBounds = new Int32Array(tables.boundaries);
  const prefix = new Prefix(tables);
  const table = prefix.table;
  do {
    const { lo, o0, o1, o2, sums } = prefix;
    const at = rangeTwo(table, L, lo, sums[0] as number, sums[1] as number, sums[2] as number, o0, o1, o2, lim0, lim1, lim2, q, best);
    if (at >= 0) prefix.boundsWith(at, bestBounds);
  } while (prefix.advance());
  return { score: best[0] as number, x: [best[1] as number, best[2] as number, best[3] as number], bounds: bestBounds };
}

// Lower memory, then latency, then perplexity; equal on all keeps the earlier.
function betterTie(x0: number, x1: number, x2: number, b0: number, b1: number, b2: number): boolean {
  if (x0 !== b0) return x0 < b0;
  if (x1 !== b1) return x1 < b1;
  return x2 < b2;
}

function violation(x: number, limit: number): number {
  return limit === Infinity ? -Infinity : (x - limit) / limit;
}

/**
 * The outer boundaries b_0 … b_{D−2} of the nested loops, each running from L
 * down to the previous one (so counts come in decreasing lexicographic
 * order), with the partial sums they contribute. The passes run the last
 * boundary b_{D−1} themselves, from L down to `lo`, adding table offsets
 * `o0..o2`. With one type (D = 0) there is a single split and no boundary:
 * `lo` = L and the offsets point at a zero.
 */
class Prefix {
  lo = 0;
  // Partial sums in a typed array, not number fields: a field that starts as
  // a small integer and later holds a double changes the object's shape and
  // deoptimises the hot loops reading it.
  readonly sums = new Float64Array(3);
  readonly o0: number;
  readonly o1: number;
  readonly o2: number;
  private readonly bounds: Int32Array;
  private readonly partial: Float64Array;
  /** The boundary tables (a zero stand-in when D = 0). */
  readonly table: Float64Array;
  private readonly tables: BoundaryTables;

  constructor(tables: BoundaryTables) {
    const { layers: L, boundaries: D, constant } = tables;
    const W = L + 1;
    // With one type there is no table; the passes then read zeros from a stand-in.
    this.tables = D === 0 ? { ...tables, table: new Float64Array(W) } : tables;
    this.table = this.tables.table;
    if (D === 0) {
      this.o0 = this.o1 = this.o2 = 0;
    } else {
      this.o0 = (D - 1) * W;
      this.o1 = (2 * D - 1) * W;
      this.o2 = (3 * D - 1) * W;
    }
    this.bounds = new Int32Array(Math.max(D, 1));
    this.partial = new Float64Array(3 * Math.max(D, 1));
    this.partial.set(constant.subarray(0, 3));
    this.bounds.fill(L);
    this.refresh(0);
    if (D === 0) this.lo = L;
  }

  /** Moves to the next prefix; false when all were visited. */
  advance(): boolean {
    const D = this.tables.boundaries;
    for (let j = D - 2; j >= 0; j--) {
      const lo = j > 0 ? (this.bounds[j - 1] as number) : 0;
      if ((this.bounds[j] as number) > lo) {
        this.bounds[j] = (this.bounds[j] as number) - 1;
        this.bounds.fill(this.tables.layers, j + 1, D - 1);
        this.refresh(j);
        return true;
      }
    }
    return false;
  }

  /** Copies the current boundaries, with the last one set to b, into `out`. */
  boundsWith(b: number, out: Int32Array): void {
    const D = this.tables.boundaries;
    if (D === 0) return;
    out.set(this.bounds.subarray(0, D - 1));
    out[D - 1] = b;
  }

  private refresh(from: number): void {
    const { layers: L, boundaries: D, table } = this.tables;
    const W = L + 1;
    const { bounds, partial } = this;
    for (let j = from; j < D - 1; j++) {
      const b = bounds[j] as number;
      for (let c = 0; c < CRITERION_COUNT; c++) {
        partial[3 * (j + 1) + c] = (partial[3 * j + c] as number) + (table[(c * D + j) * W + b] as number);
      }
    }
    const at = 3 * Math.max(D - 1, 0);
    this.sums[0] = partial[at] as number;
    this.sums[1] = partial[at + 1] as number;
    this.sums[2] = partial[at + 2] as number;
    this.lo = D >= 2 ? (bounds[D - 2] as number) : 0;
  }
}

function found(tables: BoundaryTables, bounds: Int32Array, x: readonly number[]): Found {
  const counts: number[] = [];
  let previous = 0;
  for (let j = 0; j < tables.boundaries; j++) {
    counts.push((bounds[j] as number) - previous);
    previous = bounds[j] as number;
  }
  counts.push(tables.layers - previous);
  return { counts, estimate: toEstimate(x) };
}

function toEstimate(x: readonly number[]): Estimate {
  return { memoryBytes: x[0] as number, latencyMsPerToken: x[1] as number, perplexity: x[2] as number };
}
