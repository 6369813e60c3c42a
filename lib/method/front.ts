// The Pareto front of mixes over (file size, latency, KLD), from a per-unit
// cost table (cost-table.ts). Every cost is a sum over units, so this is a
// multi-objective multiple-choice knapsack; its exact front can hold a number
// of points exponential in the units, so the front is built from three
// sources, each with what it guarantees:
//
// 1. Weighted sums (exact, supported points). For weights λ ≥ 0 the mix
//    minimising λ_m·size + λ_l·latency + λ_k·KLD is found unit by unit (each
//    unit takes its own argmin). A grid of weightings on the simplex gives
//    supported points of the 3-D front; each is optimal for its weighting.
// 2. The size–KLD hull walk (exact, complete in 2-D). Each unit's lower convex
//    hull in (bytes, Δ); all hull steps sorted by KLD added per byte saved and
//    applied in order give every vertex of the convex envelope of the size–KLD
//    trade-off (Sinha & Zoltners, 1979): all supported points of that plane.
//    The piecewise-linear path through them is the LP relaxation's optimum, so
//    it is a proven lower bound on the KLD any mix reaches at a size
//    ({@link kldLowerBound}), which certifies how far a front point can be
//    from the optimum.
// 3. A dynamic programme over a grid (the non-supported points, ε-exact).
//    Units are added one by one; states are binned by their exact size and
//    latency sums (relative to each unit's cheapest type) into
//    grid.memory × grid.latency cells of width g_m and g_l, and each cell keeps
//    the state of least KLD. Exact sums are carried, so no rounding biases the
//    result and every point's size, latency and KLD are exact for its mix.
//    Guarantee (induction over units: a kept state is never more than one cell
//    width worse per unit added): for every mix x there is a front point y with
//      KLD(y) ≤ KLD(x),  size(y) < size(x) + N·g_m,  latency(y) < latency(x) + N·g_l,
//    N the number of units with more than one type. So the front is an additive
//    ε-Pareto set with ε ≤ (N·g_m, N·g_l, 0) (`toleranceBound`, capped at the
//    ranges, which bound it trivially). That is a worst case: the DP also carries,
//    per cell, the slack by which its state may exceed any partial mix it stands
//    for (a displaced state hands its slack on, plus the size and latency
//    difference to the state that displaced it), and the largest final slack is a
//    certified ε for this table (`tolerance`), ≤ N·g (on the 450 × 8 benchmark
//    table about 2/3 of it: docs/benchmarks.md).
//
// The union is filtered to the mixes no other one dominates (exactly, on the
// estimates). Cost: O(N·M·G) time for G = memory × latency cells, O(N·G) memory
// (4 bytes per unit and cell to rebuild the mixes), O(N·M·log(N·M)) for the hull.
import { MethodInputError, describeValue, expectCount, expectObject, expectPositiveNumber } from "./errors.js";
import { estimateMix, parseCostTable, type CostTable, type DenseCostTable, type MixEstimate } from "./cost-table.js";

/** Options of {@link paretoFront}. */
export interface FrontOptions {
  /** DP cells along size and latency; default {@link DEFAULT_GRID}. More cells: a tighter ε, linear cost. */
  readonly grid?: { readonly memory?: number; readonly latency?: number };
  /** Weightings of source 1: every (i, j, k)/steps with i + j + k = steps; default 12 (91 weightings). */
  readonly weightingSteps?: number;
  /**
   * Upper bounds on file size and latency (e.g. a user's limits): the DP spends
   * its cells inside them and drops partial mixes beyond them (sums only grow),
   * so the best mix within the bounds is found to a finer ε. Points of the
   * other sources may lie outside.
   */
  readonly bounds?: { readonly sizeBytes?: number; readonly latencyMs?: number };
}

/**
 * Default DP grid: fine in size, coarse in latency (docs/benchmarks.md gives the cost and the ε it reaches).
 *
 * @example
 * paretoFront(table, { grid: { ...DEFAULT_GRID, memory: 16384 } }) // a 4× tighter ε for ≈ 3× the time
 */
export const DEFAULT_GRID = { memory: 4096, latency: 4 } as const;

/** Where a front point was found first (a point found by several sources keeps the most exact). */
export type FrontOrigin = "hull" | "weighted" | "dp";

/** One mix on the front. */
export interface FrontPoint {
  /** Type of each unit, as an index into the table's types (least aggressive first). */
  readonly mix: Uint8Array;
  readonly estimate: MixEstimate;
  readonly origin: FrontOrigin;
}

/** Output of {@link paretoFront}. */
export interface Front {
  readonly table: DenseCostTable;
  /** Non-dominated mixes, by size ascending (then latency, KLD). */
  readonly points: readonly FrontPoint[];
  /**
   * ε, certified for this table (a posteriori): every mix has a front point at most
   * this much larger and slower and no less accurate (with `bounds`: every mix at
   * least ε inside them has one within them). ≤ toleranceBound.
   */
  readonly tolerance: { readonly sizeBytes: number; readonly latencyMs: number };
  /** ε's a-priori bound N·g (capped at the ranges). */
  readonly toleranceBound: { readonly sizeBytes: number; readonly latencyMs: number };
  readonly grid: { readonly memory: number; readonly latency: number };
  /** The size–KLD convex envelope (source 2), by size ascending: the LP lower bound's breakpoints. */
  readonly hull: readonly { readonly sizeBytes: number; readonly kld: number }[];
}

/**
 * The mix minimising λ_m·size + λ_l·latency + λ_k·KLD, unit by unit (exact:
 * the objective is a sum over units). Weights are in the table's raw units
 * (bytes, ms, KLD), each ≥ 0. Ties: lower Δ, then bytes, then latency, then the
 * less aggressive type.
 *
 * @example
 * const dense = parseCostTable(table);
 * weightedSumMix(dense, [0, 0, 1])    // every unit at its least-KLD type
 * weightedSumMix(dense, [1, 0, 0])    // every unit at its smallest type
 */
export function weightedSumMix(dense: DenseCostTable, weights: readonly [number, number, number]): Uint8Array {
  weights.forEach((w, c) => {
    if (!Number.isFinite(w) || w < 0) throw new MethodInputError(`weights[${c}] must be a finite number ≥ 0 (got ${describeValue(w)})`);
  });
  const [wm, wl, wk] = weights;
  const { units: N, types, bytes, kld, latency, available } = dense;
  const M = types.length;
  const mix = new Uint8Array(N);
  for (let u = 0; u < N; u++) {
    let best = -1;
    let bestValue = Infinity;
    for (let j = 0; j < M; j++) {
      const i = u * M + j;
      if (available[i] !== 1) continue;
      const value = wm * (bytes[i] as number) + wl * (latency[i] as number) + wk * (kld[i] as number);
      if (best < 0 || value < bestValue || (value === bestValue && betterOption(dense, i, u * M + best))) {
        best = j;
        bestValue = value;
      }
    }
    mix[u] = best;
  }
  return mix;
}

/**
 * The front of a cost table (see the module comment for what is exact).
 *
 * @example
 * const front = paretoFront(table);
 * front.points[0].estimate   // the smallest mix: { sizeBytes, memoryBytes, latencyMsPerToken, kld, bitsPerWeight }
 * front.tolerance.sizeBytes  // ε in bytes
 */
export function paretoFront(table: CostTable | DenseCostTable, options: FrontOptions = {}): Front {
  const dense = isDense(table) ? table : parseCostTable(table);
  const opts = expectObject(options, "options");
  const grid = resolveGrid(opts["grid"]);
  const steps = opts["weightingSteps"] === undefined ? 12 : expectCount(opts["weightingSteps"], "options.weightingSteps");
  const ranges = unitRanges(dense);
  const box = resolveBounds(opts["bounds"], dense, ranges);
  const gm = box.sizeBytes === 0 ? 1 : grid.memory;
  const gl = box.latencyMs === 0 ? 1 : grid.latency;

  const candidates: Candidate[] = [];
  const hull = hullWalk(dense);
  for (const mix of hull) candidates.push(candidate(dense, mix, "hull"));
  for (const w of simplexGrid(steps)) {
    // Each criterion over its range across mixes, so the weights are comparable.
    const scaled: [number, number, number] = [
      ranges.bytes > 0 ? (w[0] as number) / ranges.bytes : 0,
      ranges.latency > 0 ? (w[1] as number) / ranges.latency : 0,
      ranges.kld > 0 ? (w[2] as number) / ranges.kld : 0,
    ];
    candidates.push(candidate(dense, weightedSumMix(dense, scaled), "weighted"));
  }
  const dp = gridProgramme(dense, gm, gl, ranges, box);
  for (const c of dp.candidates) candidates.push(c);

  const points = nonDominated(candidates).map((c) => ({ mix: c.mix(), estimate: c.estimate(), origin: c.origin }));
  // Re-filter on the final estimates (the DP sums in another order than estimateMix; an ulp can matter).
  const final = nonDominated(points.map((p) => ({ size: p.estimate.sizeBytes, latency: p.estimate.latencyMsPerToken, kld: p.estimate.kld, origin: p.origin, mix: () => p.mix, estimate: () => p.estimate })));
  const variable = ranges.variableUnits;
  return {
    table: dense,
    points: final.map((c) => ({ mix: c.mix(), estimate: c.estimate(), origin: c.origin })),
    tolerance: dp.slack,
    toleranceBound: {
      sizeBytes: Math.min(variable * (box.sizeBytes / gm), box.sizeBytes),
      latencyMs: Math.min(variable * (box.latencyMs / gl), box.latencyMs),
    },
    grid: { memory: gm, latency: gl },
    hull: hull
      .map((mix) => estimateMix(dense, mix))
      .map((e) => ({ sizeBytes: e.sizeBytes, kld: e.kld }))
      .sort((a, b) => a.sizeBytes - b.sizeBytes || a.kld - b.kld),
  };
}

/**
 * A proven lower bound on the KLD of any mix of at most `sizeBytes` (latency
 * ignored): the LP relaxation, read off the size–KLD envelope. Infinity below
 * the smallest mix.
 *
 * @example
 * const front = paretoFront(table);
 * const p = front.points[3].estimate;
 * p.kld - kldLowerBound(front, p.sizeBytes) // ≥ 0: how far p can be from the best mix of its size
 */
export function kldLowerBound(front: Front, sizeBytes: number): number {
  const hull = front.hull;
  const first = hull[0] as { sizeBytes: number; kld: number };
  if (sizeBytes < first.sizeBytes) return Infinity;
  for (let i = 1; i < hull.length; i++) {
    const b = hull[i] as { sizeBytes: number; kld: number };
    if (sizeBytes < b.sizeBytes) {
      const a = hull[i - 1] as { sizeBytes: number; kld: number };
      return a.kld + ((b.kld - a.kld) * (sizeBytes - a.sizeBytes)) / (b.sizeBytes - a.sizeBytes);
    }
  }
  return (hull[hull.length - 1] as { kld: number }).kld;
}

interface Candidate {
  readonly size: number;
  readonly latency: number;
  readonly kld: number;
  readonly origin: FrontOrigin;
  mix(): Uint8Array;
  estimate(): MixEstimate;
}

const ORIGIN_RANK: Record<FrontOrigin, number> = { hull: 0, weighted: 1, dp: 2 };

function candidate(dense: DenseCostTable, mix: Uint8Array, origin: FrontOrigin): Candidate {
  const estimate = estimateMix(dense, mix);
  return { size: estimate.sizeBytes, latency: estimate.latencyMsPerToken, kld: estimate.kld, origin, mix: () => mix, estimate: () => estimate };
}

// The candidates no other one dominates, by size ascending; of equal points the
// first in (size, latency, KLD, origin) order. Sorted by size, a point is
// dominated (or equalled) iff an earlier kept one has latency ≤ and KLD ≤ its
// own: a Fenwick tree over latency ranks answers "least KLD among kept points
// with latency ≤ x" in O(log n).
function nonDominated<C extends Candidate>(candidates: readonly C[]): C[] {
  const sorted = [...candidates].sort(
    (a, b) => a.size - b.size || a.latency - b.latency || a.kld - b.kld || ORIGIN_RANK[a.origin] - ORIGIN_RANK[b.origin],
  );
  const latencies = [...new Set(sorted.map((c) => c.latency))].sort((a, b) => a - b);
  const rank = new Map(latencies.map((l, i) => [l, i + 1]));
  const tree = new Float64Array(latencies.length + 1).fill(Infinity);
  const kept: C[] = [];
  for (const c of sorted) {
    const r = rank.get(c.latency) as number;
    let least = Infinity;
    for (let i = r; i > 0; i -= i & -i) least = Math.min(least, tree[i] as number);
    if (least <= c.kld) continue;
    kept.push(c);
    for (let i = r; i < tree.length; i += i & -i) if (c.kld < (tree[i] as number)) tree[i] = c.kld;
  }
  return kept;
}

interface Ranges {
  /** Σ_u (max − min) over each unit's available types. */
  readonly bytes: number;
  readonly latency: number;
  readonly kld: number;
  readonly minBytes: Float64Array;
  readonly minLatency: Float64Array;
  readonly variableUnits: number;
}

function unitRanges(dense: DenseCostTable): Ranges {
  const { units: N, types, bytes, kld, latency, available } = dense;
  const M = types.length;
  const minBytes = new Float64Array(N);
  const minLatency = new Float64Array(N);
  let rb = 0;
  let rl = 0;
  let rk = 0;
  let variableUnits = 0;
  for (let u = 0; u < N; u++) {
    let b0 = Infinity, b1 = -Infinity, l0 = Infinity, l1 = -Infinity, k0 = Infinity, k1 = -Infinity;
    let options = 0;
    for (let j = 0; j < M; j++) {
      const i = u * M + j;
      if (available[i] !== 1) continue;
      options++;
      b0 = Math.min(b0, bytes[i] as number);
      b1 = Math.max(b1, bytes[i] as number);
      l0 = Math.min(l0, latency[i] as number);
      l1 = Math.max(l1, latency[i] as number);
      k0 = Math.min(k0, kld[i] as number);
      k1 = Math.max(k1, kld[i] as number);
    }
    minBytes[u] = b0;
    minLatency[u] = l0;
    rb += b1 - b0;
    rl += l1 - l0;
    rk += k1 - k0;
    if (options > 1) variableUnits++;
  }
  return { bytes: rb, latency: rl, kld: rk, minBytes, minLatency, variableUnits };
}

// Lower Δ, then bytes, then latency; equal on all keeps the earlier (less aggressive) type.
function betterOption(dense: DenseCostTable, i: number, best: number): boolean {
  const { bytes, kld, latency } = dense;
  if (kld[i] !== kld[best]) return (kld[i] as number) < (kld[best] as number);
  if (bytes[i] !== bytes[best]) return (bytes[i] as number) < (bytes[best] as number);
  return (latency[i] as number) < (latency[best] as number);
}

// Weight vectors (i, j, k)/steps with i + j + k = steps; steps 0 gives none.
function simplexGrid(steps: number): number[][] {
  const out: number[][] = [];
  if (steps === 0) return out;
  for (let i = 0; i <= steps; i++) for (let j = 0; i + j <= steps; j++) out.push([i / steps, j / steps, (steps - i - j) / steps]);
  return out;
}

// Source 2: the mixes at every vertex of the size–KLD convex envelope, from
// the least-KLD mix down to the smallest one.
function hullWalk(dense: DenseCostTable): Uint8Array[] {
  const { units: N, types, bytes, kld, latency, available } = dense;
  const M = types.length;
  const start = new Uint8Array(N);
  const steps: { unit: number; to: number; rate: number; order: number }[] = [];
  for (let u = 0; u < N; u++) {
    const options: number[] = [];
    for (let j = 0; j < M; j++) if (available[u * M + j] === 1) options.push(j);
    const at = (j: number): number => u * M + j;
    options.sort(
      (a, b) =>
        (bytes[at(a)] as number) - (bytes[at(b)] as number) ||
        (kld[at(a)] as number) - (kld[at(b)] as number) ||
        (latency[at(a)] as number) - (latency[at(b)] as number) ||
        a - b,
    );
    // The staircase: by bytes ascending, each option strictly more accurate than all smaller ones.
    const stairs: number[] = [];
    for (const j of options) {
      const last = stairs[stairs.length - 1];
      if (last === undefined || (kld[at(j)] as number) < (kld[at(last)] as number)) stairs.push(j);
    }
    // Its lower convex hull (Andrew's monotone chain), keeping collinear points: each is a supported point too.
    const hull: number[] = [];
    for (const j of stairs) {
      while (hull.length >= 2) {
        const o = at(hull[hull.length - 2] as number);
        const a = at(hull[hull.length - 1] as number);
        const p = at(j);
        const cross =
          ((bytes[a] as number) - (bytes[o] as number)) * ((kld[p] as number) - (kld[o] as number)) -
          ((kld[a] as number) - (kld[o] as number)) * ((bytes[p] as number) - (bytes[o] as number));
        if (cross >= 0) break;
        hull.pop();
      }
      hull.push(j);
    }
    start[u] = hull[hull.length - 1] as number;
    // Steps from the most accurate end towards the smallest; rates made
    // non-decreasing so rounding cannot reorder a unit's own steps.
    let previousRate = 0;
    for (let s = hull.length - 1; s > 0; s--) {
      const hi = at(hull[s] as number);
      const lo = at(hull[s - 1] as number);
      const rate = Math.max(previousRate, ((kld[lo] as number) - (kld[hi] as number)) / ((bytes[hi] as number) - (bytes[lo] as number)));
      previousRate = rate;
      steps.push({ unit: u, to: hull[s - 1] as number, rate, order: steps.length });
    }
  }
  steps.sort((a, b) => a.rate - b.rate || a.unit - b.unit || a.order - b.order);
  const mixes = [start.slice()];
  const mix = start;
  for (const step of steps) {
    mix[step.unit] = step.to;
    mixes.push(mix.slice());
  }
  return mixes;
}

// Source 3. States: exact relative sums (size and latency above each unit's
// cheapest type) and the KLD sum; cell = (⌊size/g_m⌋, ⌊latency/g_l⌋). `from`
// packs, per unit and cell, the previous cell and the type: (cell << 8) | j.
function gridProgramme(
  dense: DenseCostTable, gm: number, gl: number, ranges: Ranges, box: Box,
): { candidates: Candidate[]; slack: { sizeBytes: number; latencyMs: number } } {
  const { units: N, types, bytes, kld, latency, available } = dense;
  const M = types.length;
  const G = gm * gl;
  if (G > 1 << 24) throw new MethodInputError(`options.grid must have at most 2^24 cells (got ${gm} × ${gl})`);
  const im = box.sizeBytes > 0 ? gm / box.sizeBytes : 0;
  const il = box.latencyMs > 0 ? gl / box.latencyMs : 0;
  let cur = dpLayer(G);
  let next = dpLayer(G);
  const from = new Uint32Array(N * G);
  cur.k[0] = 0;
  const db = new Float64Array(M);
  const dl = new Float64Array(M);
  const dk = new Float64Array(M);
  const js = new Int32Array(M);
  let hi = 0; // highest occupied cell so far
  const dropped = new Float64Array(2);
  for (let u = 0; u < N; u++) {
    let n = 0;
    for (let j = 0; j < M; j++) {
      const i = u * M + j;
      if (available[i] !== 1) continue;
      db[n] = (bytes[i] as number) - (ranges.minBytes[u] as number);
      dl[n] = (latency[i] as number) - (ranges.minLatency[u] as number);
      dk[n] = kld[i] as number;
      js[n] = j;
      n++;
    }
    next.k.fill(Infinity);
    hi = box.empty ? -1 : stepUnit(cur, next, from, u * G, hi, n, db, dl, dk, js, im, il, gm, gl, box.sizeBytes, box.latencyMs, dropped);
    [cur, next] = [next, cur];
  }
  const constantSize = dense.table.fixed.bytes + ranges.minBytes.reduce((a, b) => a + b, 0);
  const constantLatency = dense.table.fixed.latencyMs + ranges.minLatency.reduce((a, b) => a + b, 0);
  const out: Candidate[] = [];
  let slackSize = dropped[0] as number;
  let slackLatency = dropped[1] as number;
  for (let c = 0; c <= hi; c++) {
    if (cur.k[c] === Infinity) continue;
    slackSize = Math.max(slackSize, cur.sm[c] as number);
    slackLatency = Math.max(slackLatency, cur.sl[c] as number);
    const cell = c;
    let mix: Uint8Array | undefined;
    const rebuild = (): Uint8Array => {
      if (mix !== undefined) return mix;
      mix = new Uint8Array(N);
      let at = cell;
      for (let u = N - 1; u >= 0; u--) {
        const packed = from[u * G + at] as number;
        mix[u] = packed & 0xff;
        at = packed >>> 8;
      }
      return mix;
    };
    let estimate: MixEstimate | undefined;
    out.push({
      size: constantSize + (cur.m[c] as number),
      latency: constantLatency + (cur.l[c] as number),
      kld: dense.table.fixed.kld + (cur.k[c] as number),
      origin: "dp",
      mix: rebuild,
      estimate: () => (estimate ??= estimateMix(dense, rebuild())),
    });
  }
  return { candidates: out, slack: { sizeBytes: slackSize, latencyMs: slackLatency } };
}

// One unit of the DP, a separate function so V8 optimises it as a hot loop.
// Ties in a cell: lower KLD, then size, then latency; equal keeps the first.
// Slack (sm, sl): how much larger/slower the cell's state may be than any
// partial mix it stands for; a state displaced by another in its cell hands
// its slack on, plus the difference between the two.
function stepUnit(
  cur: DpLayer, next: DpLayer,
  from: Uint32Array, base: number, hi: number, n: number,
  db: Float64Array, dl: Float64Array, dk: Float64Array, js: Int32Array,
  im: number, il: number, gm: number, gl: number, capM: number, capL: number, dropped: Float64Array,
): number {
  const { k: curK, m: curM, l: curL, sm: curSm, sl: curSl } = cur;
  const { k: nextK, m: nextM, l: nextL, sm: nextSm, sl: nextSl } = next;
  let newHi = 0;
  for (let c = 0; c <= hi; c++) {
    const k = curK[c] as number;
    if (k === Infinity) continue;
    const m = curM[c] as number;
    const l = curL[c] as number;
    const sm = curSm[c] as number;
    const sl = curSl[c] as number;
    for (let t = 0; t < n; t++) {
      const m2 = m + (db[t] as number);
      const l2 = l + (dl[t] as number);
      if (m2 > capM || l2 > capL) {
        // Outside the bounds: the mixes this state stands for are within its slack of a bound.
        if (sm > (dropped[0] as number)) dropped[0] = sm;
        if (sl > (dropped[1] as number)) dropped[1] = sl;
        continue;
      }
      const k2 = k + (dk[t] as number);
      let cm = Math.floor(m2 * im);
      if (cm >= gm) cm = gm - 1;
      let cl = Math.floor(l2 * il);
      if (cl >= gl) cl = gl - 1;
      const cell = cm * gl + cl;
      const old = nextK[cell] as number;
      const oldM = nextM[cell] as number;
      const oldL = nextL[cell] as number;
      if (old === Infinity) {
        nextK[cell] = k2;
        nextM[cell] = m2;
        nextL[cell] = l2;
        nextSm[cell] = sm;
        nextSl[cell] = sl;
        from[base + cell] = (c << 8) | (js[t] as number);
        if (cell > newHi) newHi = cell;
      } else if (k2 < old || (k2 === old && (m2 < oldM || (m2 === oldM && l2 < oldL)))) {
        nextSm[cell] = Math.max(sm, (nextSm[cell] as number) + (m2 - oldM));
        nextSl[cell] = Math.max(sl, (nextSl[cell] as number) + (l2 - oldL));
        nextK[cell] = k2;
        nextM[cell] = m2;
        nextL[cell] = l2;
        from[base + cell] = (c << 8) | (js[t] as number);
      } else {
        const am = sm + (oldM - m2);
        const al = sl + (oldL - l2);
        if (am > (nextSm[cell] as number)) nextSm[cell] = am;
        if (al > (nextSl[cell] as number)) nextSl[cell] = al;
      }
    }
  }
  return newHi;
}

// One stage of the DP: per cell the least KLD, its exact relative size and latency, and their slacks.
interface DpLayer {
  readonly k: Float64Array;
  readonly m: Float64Array;
  readonly l: Float64Array;
  readonly sm: Float64Array;
  readonly sl: Float64Array;
}

function dpLayer(cells: number): DpLayer {
  return { k: new Float64Array(cells).fill(Infinity), m: new Float64Array(cells), l: new Float64Array(cells), sm: new Float64Array(cells), sl: new Float64Array(cells) };
}

// The DP's box, relative to every unit's cheapest type: the ranges, cut by the bounds.
interface Box {
  readonly sizeBytes: number;
  readonly latencyMs: number;
  /** A bound below the smallest mix: no partial mix fits. */
  readonly empty: boolean;
}

function resolveBounds(value: unknown, dense: DenseCostTable, ranges: Ranges): Box {
  if (value === undefined) return { sizeBytes: ranges.bytes, latencyMs: ranges.latency, empty: false };
  const bounds = expectObject(value, "options.bounds");
  for (const key of Object.keys(bounds)) {
    if (key !== "sizeBytes" && key !== "latencyMs") throw new MethodInputError(`unknown bound ${JSON.stringify(key)} (expected sizeBytes, latencyMs)`);
  }
  const cut = (key: "sizeBytes" | "latencyMs", constant: number, range: number): number => {
    if (bounds[key] === undefined) return range;
    const limit = expectPositiveNumber(bounds[key], `options.bounds.${key}`);
    return Math.min(range, limit - constant);
  };
  const sizeBytes = cut("sizeBytes", dense.table.fixed.bytes + sum(ranges.minBytes), ranges.bytes);
  const latencyMs = cut("latencyMs", dense.table.fixed.latencyMs + sum(ranges.minLatency), ranges.latency);
  const empty = sizeBytes < 0 || latencyMs < 0;
  return { sizeBytes: Math.max(sizeBytes, 0), latencyMs: Math.max(latencyMs, 0), empty };
}

function sum(values: Float64Array): number {
  return values.reduce((a, b) => a + b, 0);
}

function resolveGrid(value: unknown): { memory: number; latency: number } {
  if (value === undefined) return { ...DEFAULT_GRID };
  const grid = expectObject(value, "options.grid");
  const cells = (key: "memory" | "latency"): number => {
    if (grid[key] === undefined) return DEFAULT_GRID[key];
    const n = expectCount(grid[key], `options.grid.${key}`);
    if (n < 1) throw new MethodInputError(`options.grid.${key} must be at least 1 (got ${n})`);
    return n;
  };
  return { memory: cells("memory"), latency: cells("latency") };
}

function isDense(table: CostTable | DenseCostTable): table is DenseCostTable {
  return (table as DenseCostTable).available instanceof Uint8Array;
}
