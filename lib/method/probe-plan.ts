// Fewer probes (issue 25, item 4): a sensitivity table from a few measured cells.
//
// Prediction. For every candidate type t ≠ types[0] and unit u,
//   ln Δ(u, t) = ln P(u, t) + a_t + c_{role(u)} + d_{role(u)}·z_u + b_u + ε,   ε ~ N(0, σ²)
// P the proxy (imatrix-weighted squared quantization error, no forward pass), a_t a per-type
// scale (the proxy's units → KLD), c a per-role offset (attn_q, ffn_down, … share a scale across
// blocks) drifting linearly (d) with the block's depth z ∈ [−1, 1], b_u the unit's own offset.
// Without the proxy (P ≡ 1) this is Thireus' shape, sensitivity × per-type curve. Each effect is
// the mean residual of the measured cells it covers, shrunk toward the level above it
// (n / (n + k); for the unit offset k is the within-unit over the between-unit variance, both
// estimated from the cells), so a unit with no measured cell is predicted from its role, depth
// and type, a role with none from the type alone. A predicted cell is lognormal: its spread is σ²
// plus the variance each shrunk effect has left.
//
// Order. The front's choice at a size is, to within one unit, the Lagrangian mix: each unit u
// takes argmin_t Δ(u, t) + λ·bytes(u, t), λ the KLD per byte at that size (Sinha & Zoltners; the
// hull walk of front.ts). A cell can change that choice only if its true Δ may cross the gap g
// between the unit's best and second-best value; the expected gain of learning it is the
// expected improvement of a normal of spread s past that gap,
//   EI(g, s) = s·φ(g/s) − g·Φ(−g/s),
// in KLD (for a normal; a predicted cell is lognormal, so its put or call value). The value of a
// cell is that gain summed over the sizes the plan serves (one λ per size).
// Measuring in order of value and stopping when the summed EI is small (or the budget is spent)
// measures first where the choice depends on the cell and stops when it no longer changes.
import { MethodInputError, describeValue } from "./errors.js";

/** What the planner knows about a table: the proxy for every cell, the measured ones. */
export interface PartialSensitivity {
  /** unit names; the role of a unit is its name without the block index (blk.3.attn_q → attn_q) */
  readonly units: readonly string[];
  /** candidate types, least aggressive first: column 0 is the reference (Δ = 0) */
  readonly types: readonly string[];
  /** proxy Δ per [unit][type] (any positive scale) */
  readonly proxy: readonly (readonly number[])[];
  /** measured Δ KLD per [unit][type], or null where not measured */
  readonly measured: readonly (readonly (number | null)[])[];
}

/** A full table: measured cells as measured, the rest predicted with a one-sigma spread. */
export interface PredictedSensitivity {
  readonly delta: number[][];
  /** one-sigma spread of each cell in KLD (0 for measured cells and column 0) */
  readonly sigma: number[][];
  /** the spread of ln Δ of each cell (a predicted cell is lognormal about its median; 0 when measured) */
  readonly lnSd: number[][];
  readonly measured: boolean[][];
  /** the fit: residual spread σ in ln Δ, measured cells used */
  readonly fit: { readonly residualSd: number; readonly cells: number };
}

/** Role of a unit: its name without the block (blk.12.ffn_down → ffn_down); outside the blocks, the name. */
export function unitRole(unit: string): string {
  return unit.replace(/^blk\.\d+\./, "");
}

// a role's offset fitted from n cells keeps n / (n + ROLE_SHRINK) of its mean residual
const ROLE_SHRINK = 1;
// a role's drift over depth, fitted on Σ z² (z ∈ [−1, 1]), keeps Σ z² / (Σ z² + TREND_SHRINK) of its slope: a weak pull to none
const TREND_SHRINK = 0.25;
// the spread in ln Δ assumed before the cells can show one (a factor of e either way); its weight is one cell
const PRIOR_SD = 1;

/**
 * The predicted table (see the module comment). Measured cells with Δ ≤ 0 (noise around a tiny
 * Δ) stay as measured but do not enter the fit; a type with no usable measured cell takes the
 * mean scale of the others (or 1 when none).
 *
 * @example
 * const p = predictSensitivity({ units: ["blk.0.a", "blk.1.a"], types: ["q8_0", "q4_K"], proxy: [[0, 2], [0, 4]], measured: [[0, 0.02], [0, null]] });
 * p.delta[1][1] // 0.04: the proxy's ratio, scaled by the measured cell of the same role
 * p.measured[1][1] // false
 */
export function predictSensitivity(input: PartialSensitivity): PredictedSensitivity {
  const { units, types, proxy, measured } = input;
  const N = units.length;
  const M = types.length;
  if (proxy.length !== N || measured.length !== N) throw new MethodInputError(`proxy and measured must have one row per unit (${N})`);
  for (let u = 0; u < N; u++) {
    if (proxy[u]!.length !== M || measured[u]!.length !== M) throw new MethodInputError(`row ${u} (${units[u]}) must have one value per type (${M})`);
  }
  const roles = units.map(unitRole);
  // ln P with a floor: a proxy of 0 (a type that changes nothing) must not give ln 0
  const positive = proxy.flatMap((row) => row.slice(1).filter((x) => x > 0));
  const floor = positive.length > 0 ? Math.min(...positive) * 1e-3 : 1;
  const lnP = proxy.map((row) => row.map((x) => Math.log(Math.max(x, floor))));
  const cells: { u: number; t: number; y: number }[] = [];
  for (let u = 0; u < N; u++) {
    for (let t = 1; t < M; t++) {
      const d = measured[u]![t];
      if (d !== null && d !== undefined) {
        if (!Number.isFinite(d)) throw new MethodInputError(`measured[${u}][${t}] must be a finite number or null (got ${describeValue(d)})`);
        if (d > 0) cells.push({ u, t, y: Math.log(d) - lnP[u]![t]! });
      }
    }
  }
  // effects by backfitting (a few sweeps converge: the design is nearly orthogonal)
  const a = new Array<number>(M).fill(0);
  const c = new Map<string, number>();
  const b = new Array<number>(N).fill(0);
  const nType = new Array<number>(M).fill(0);
  const nRole = new Map<string, number>();
  const nUnit = new Array<number>(N).fill(0);
  for (const x of cells) {
    nType[x.t]!++;
    nUnit[x.u]!++;
    nRole.set(roles[x.u]!, (nRole.get(roles[x.u]!) ?? 0) + 1);
  }
  // a role's offset drifts with depth (early and late blocks differ): c_role + d_role·z, z the block's place in [−1, 1]
  const blocks = units.map((name) => /^blk\.(\d+)\./.exec(name)?.[1]);
  const lastBlock = Math.max(0, ...blocks.map((x) => (x === undefined ? 0 : Number(x))));
  const depth = blocks.map((x) => (x === undefined || lastBlock === 0 ? 0 : (2 * Number(x)) / lastBlock - 1));
  const trend = new Map<string, number>();
  const roleOf = (u: number) => (c.get(roles[u]!) ?? 0) + (trend.get(roles[u]!) ?? 0) * depth[u]!;
  // the unit effect's shrinkage k = σ² / τ² (within-unit over between-unit variance), re-estimated
  // as the fit goes: a unit's offset is the fit's largest effect (whole orders of magnitude between
  // tensors of one role) and its types agree far more closely, so one measured cell should carry
  // most of it, not half
  let kUnit: number = ROLE_SHRINK;
  let within = PRIOR_SD * PRIOR_SD;
  let between = PRIOR_SD * PRIOR_SD;
  for (let sweep = 0; sweep < 30; sweep++) {
    const sa = new Array<number>(M).fill(0);
    for (const x of cells) sa[x.t]! += x.y - roleOf(x.u) - b[x.u]!;
    const fitted = a.map((_, t) => (nType[t]! > 0 ? sa[t]! / nType[t]! : NaN));
    const known = fitted.filter((v) => Number.isFinite(v));
    const fallback = known.length > 0 ? known.reduce((p, q) => p + q, 0) / known.length : 0;
    for (let t = 1; t < M; t++) a[t] = Number.isFinite(fitted[t]!) ? fitted[t]! : fallback;
    const sc = new Map<string, number>();
    for (const x of cells) sc.set(roles[x.u]!, (sc.get(roles[x.u]!) ?? 0) + x.y - a[x.t]! - b[x.u]!);
    c.clear();
    for (const [role, sum] of sc) c.set(role, sum / (nRole.get(role)! + ROLE_SHRINK));
    const zr = new Map<string, number>();
    const zz = new Map<string, number>();
    for (const x of cells) {
      const role = roles[x.u]!;
      const z = depth[x.u]!;
      zr.set(role, (zr.get(role) ?? 0) + z * (x.y - a[x.t]! - c.get(role)! - b[x.u]!));
      zz.set(role, (zz.get(role) ?? 0) + z * z);
    }
    trend.clear();
    for (const [role, num] of zr) trend.set(role, num / (zz.get(role)! + TREND_SHRINK));
    // variance components from the residuals without the unit effect
    const sum = new Array<number>(N).fill(0);
    for (const x of cells) sum[x.u]! += x.y - a[x.t]! - roleOf(x.u);
    let sse = 0;
    let dof = 0;
    for (const x of cells) {
      if (nUnit[x.u]! < 2) continue;
      sse += (x.y - a[x.t]! - roleOf(x.u) - sum[x.u]! / nUnit[x.u]!) ** 2;
    }
    for (let u = 0; u < N; u++) if (nUnit[u]! >= 2) dof += nUnit[u]! - 1;
    // one pseudo-cell at the prior's spread: a few cells that happen to agree claim no precision they cannot show
    within = (sse + PRIOR_SD * PRIOR_SD) / (dof + 1);
    const means = [];
    for (let u = 0; u < N; u++) if (nUnit[u]! > 0) means.push({ m: sum[u]! / nUnit[u]!, n: nUnit[u]! });
    if (means.length >= 3) {
      const mean = means.reduce((acc, x) => acc + x.m, 0) / means.length;
      const spread = means.reduce((acc, x) => acc + (x.m - mean) ** 2, 0) / (means.length - 1);
      between = Math.max(spread - within * (means.reduce((acc, x) => acc + 1 / x.n, 0) / means.length), within / 100);
    }
    kUnit = within / between;
    for (let u = 0; u < N; u++) b[u] = nUnit[u]! > 0 ? sum[u]! / (nUnit[u]! + kUnit) : 0;
  }
  const residualSd = Math.max(Math.sqrt(within), 0.05);
  const v = residualSd * residualSd;
  const delta: number[][] = [];
  const sigma: number[][] = [];
  const lnSd: number[][] = [];
  const isMeasured: boolean[][] = [];
  for (let u = 0; u < N; u++) {
    const nr = nRole.get(roles[u]!) ?? 0;
    const nu = nUnit[u]!;
    // column 0 is the reference: 0, unless it was measured (a unit outside the blocks whose reference is another type)
    const rowD = [measured[u]![0] ?? 0];
    const rowS = [0];
    const rowL = [0];
    const rowM = [true];
    for (let t = 1; t < M; t++) {
      const d = measured[u]![t];
      if (d !== null && d !== undefined) {
        rowD.push(d);
        rowS.push(0);
        rowL.push(0);
        rowM.push(true);
        continue;
      }
      // variance of ln Δ̂: the cell's own noise, and what each shrunk effect has not learnt
      // the unit's offset: its posterior variance when measured, else the spread between units and what its role has not learnt
      const unitVariance = nu > 0 ? 1 / (nu / v + 1 / between) : between + v * (ROLE_SHRINK / (nr + ROLE_SHRINK));
      const variance = v * (1 + 1 / Math.max(nType[t]!, 1)) + unitVariance;
      const mu = lnP[u]![t]! + a[t]! + roleOf(u) + b[u]!;
      const median = Math.exp(mu);
      rowD.push(median);
      // the lognormal's standard deviation about its median's scale (mean − median matters less than the spread)
      rowS.push(median * Math.sqrt(Math.exp(variance) - 1));
      rowL.push(Math.sqrt(variance));
      rowM.push(false);
    }
    delta.push(rowD);
    sigma.push(rowS);
    lnSd.push(rowL);
    isMeasured.push(rowM);
  }
  return { delta, sigma, lnSd, measured: isMeasured, fit: { residualSd, cells: cells.length } };
}

/**
 * What learning a lognormal cell gains (median m, ln-spread s) against a threshold k: with
 * `below`, E[max(0, k − Δ)] (the cell wins if it is below k); else E[max(0, Δ − k)] (the cell
 * loses its place if it is above k). Black–Scholes' put and call on a lognormal.
 *
 * @example
 * lognormalGain(1, 0, 2, true)     // 1: no spread, k − m
 * lognormalGain(0.1, 0.3, 0.01, true) // ≈ 0: a tenth of the median is 7.7 spreads away
 */
export function lognormalGain(median: number, s: number, k: number, below: boolean): number {
  if (!(s > 0) || !(median > 0)) return Math.max(0, below ? k - median : median - k);
  if (k <= 0) return below ? 0 : median * Math.exp((s * s) / 2) - k;
  const mean = median * Math.exp((s * s) / 2);
  const d1 = (Math.log(median / k) + s * s) / s;
  const d2 = d1 - s;
  return below ? k * normalCdf(-d2) - mean * normalCdf(-d1) : mean * normalCdf(d1) - k * normalCdf(d2);
}

// Φ by the complementary error function (Numerical Recipes' erfcc: |error| a few 1e-6, plenty to rank cells)
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851973 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - y / 2 : y / 2;
}

/** bytes[u][t] of each unit in each type (the same order as the table). */
export type UnitBytes = readonly (readonly number[])[];

/**
 * The Lagrangian mix at λ: each unit at argmin_t Δ(u, t) + λ·bytes(u, t) (ties: the less aggressive type).
 *
 * @example
 * lagrangianMix([[0, 0.01]], [[100, 50]], 1e-3) // [1]: 0.01 + 0.05 < 0 + 0.1
 * lagrangianMix([[0, 0.01]], [[100, 50]], 1e-5) // [0]
 */
export function lagrangianMix(delta: readonly (readonly number[])[], bytes: UnitBytes, lambda: number): number[] {
  return delta.map((row, u) => {
    let best = 0;
    for (let t = 1; t < row.length; t++) if (row[t]! + lambda * bytes[u]![t]! < row[best]! + lambda * bytes[u]![best]!) best = t;
    return best;
  });
}

/**
 * The λ whose Lagrangian mix is the largest of at most `targetBytes` (unit bytes only): the KLD
 * per byte the front trades at that size. Bisection in ln λ; Infinity when even the smallest mix
 * is larger, 0 when the least aggressive mix fits.
 *
 * @example
 * lambdaAt([[0, 0.01], [0, 0.03]], [[100, 50], [100, 50]], 150) // between 2e-4 and 6e-4: only the first unit drops
 */
export function lambdaAt(delta: readonly (readonly number[])[], bytes: UnitBytes, targetBytes: number): number {
  const size = (lambda: number) => lagrangianMix(delta, bytes, lambda).reduce((acc, t, u) => acc + bytes[u]![t]!, 0);
  if (size(0) <= targetBytes) return 0;
  let hi = 1;
  while (size(hi) > targetBytes) {
    hi *= 16;
    if (hi > 1e300) return Infinity;
  }
  let lo = hi / 16;
  while (size(lo) <= targetBytes) {
    lo /= 16;
    if (lo < 1e-300) return lo;
  }
  for (let i = 0; i < 60 && hi / lo > 1 + 1e-9; i++) {
    const mid = Math.sqrt(lo * hi);
    if (size(mid) <= targetBytes) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** A cell and what measuring it is expected to gain, in KLD, over the sizes served. */
export interface CellValue {
  readonly unit: number;
  readonly type: number;
  readonly value: number;
}

/**
 * The unmeasured cells by expected gain (module comment), highest first, those of value 0 left out.
 * A cell that is a unit's best choice gains when it may be worse than the runner-up; any other
 * cell when it may be better than the best.
 *
 * @example
 * // unit 1's q4_K is uncertain and within its spread of the choice; unit 0 is known
 * cellValues({ delta: [[0, 0.01], [0, 0.011]], lnSd: [[0, 0], [0, 0.5]], measured: [[true, true], [true, false]] }, [[100, 50], [100, 50]], [2e-4])[0] // { unit: 1, type: 1, value: … }
 */
export function cellValues(
  table: Pick<PredictedSensitivity, "delta" | "lnSd" | "measured">,
  bytes: UnitBytes,
  lambdas: readonly number[],
): CellValue[] {
  const out: CellValue[] = [];
  const N = table.delta.length;
  const value = table.delta.map((row) => row.map(() => 0));
  for (const lambda of lambdas) {
    if (!Number.isFinite(lambda)) continue;
    for (let u = 0; u < N; u++) {
      const row = table.delta[u]!;
      const f = row.map((d, t) => d + lambda * bytes[u]![t]!);
      let best = 0;
      for (let t = 1; t < f.length; t++) if (f[t]! < f[best]!) best = t;
      let second = -1;
      for (let t = 0; t < f.length; t++) if (t !== best && (second < 0 || f[t]! < f[second]!)) second = t;
      if (second < 0) continue;
      for (let t = 0; t < f.length; t++) {
        if (table.measured[u]![t]) continue;
        // the Δ at which the cell changes places with the best (or, being the best, the runner-up)
        const k = (t === best ? f[second]! : f[best]!) - lambda * bytes[u]![t]!;
        value[u]![t]! += lognormalGain(row[t]!, table.lnSd[u]![t]!, k, t !== best);
      }
    }
  }
  for (let u = 0; u < N; u++) for (let t = 0; t < value[u]!.length; t++) if (value[u]![t]! > 0) out.push({ unit: u, type: t, value: value[u]![t]! });
  return out.sort((p, q) => q.value - p.value || p.unit - q.unit || p.type - q.type);
}

/**
 * Sizes a plan serves when no target is known: `count` sizes evenly between the smallest and
 * the largest mix (exclusive), so every region of the front gets its λ.
 *
 * @example
 * servedSizes([[100, 50], [100, 50]], 3) // [125, 150, 175]
 */
export function servedSizes(bytes: UnitBytes, count: number): number[] {
  const min = bytes.reduce((acc, row) => acc + Math.min(...row), 0);
  const max = bytes.reduce((acc, row) => acc + Math.max(...row), 0);
  return Array.from({ length: count }, (_, i) => min + ((max - min) * (i + 1)) / (count + 1));
}

/**
 * The first cells to measure, before any fit: `units` units spread over the proxy's ranking of
 * the most aggressive type (its quantiles), each at every type, so the fit sees every type and
 * the spread within a unit from the start.
 *
 * @example
 * seedCells([[0, 1], [0, 5], [0, 3]], 1) // [{ unit: 2, type: 1 }]: the median
 */
export function seedCells(proxy: readonly (readonly number[])[], units: number): { unit: number; type: number }[] {
  const M = proxy[0]?.length ?? 0;
  if (M < 2) return [];
  const order = proxy.map((row, u) => [row[M - 1]!, u] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const picked = new Set<number>();
  const k = Math.min(units, order.length);
  for (let i = 0; i < k; i++) picked.add(order[Math.min(order.length - 1, Math.floor(((i + 0.5) / k) * order.length))]![1]);
  return [...picked].sort((p, q) => p - q).flatMap((unit) => Array.from({ length: M - 1 }, (_, j) => ({ unit, type: j + 1 })));
}

/** How much probing a table may spend: forward-equivalent tokens, seconds, or a share of the full table's cost. */
export type ProbeBudget =
  | { readonly kind: "tokens"; readonly tokens: number }
  | { readonly kind: "seconds"; readonly seconds: number }
  | { readonly kind: "share"; readonly share: number; readonly maxSeconds?: number };

/**
 * The default budget: the full table's cost (every cell at a full probe) as the ceiling, at most 15
 * minutes, with the stopping rule ending it as soon as the choice no longer depends on what is left.
 * On debian-prose-11m that stop comes at about half the cells (207 of 430) with the chosen mixes'
 * KLD within 5% of the full table's, where a 25% share cost 1.2× the KLD (docs/benchmarks.md,
 * "probe-plan"): accuracy is what the front is for, so the default spends until the choice settles.
 * The time cap keeps a 1B model's quantize practical on a laptop-class CPU, where every probe at
 * 8 × 512 tokens would take hours: the probes that can change the choice go first, so stopping at
 * the cap keeps the best plan for the time (docs/method.md, "Fewer probes").
 */
export const DEFAULT_PROBE_BUDGET: ProbeBudget = { kind: "share", share: 1, maxSeconds: 900 };

/**
 * `--probe-budget`: a duration (`90s`, `10m`, `1.5h`), forward-equivalent tokens (`500k`, `2M`,
 * `1e6`, a bare number), or a share of the full table (`25%`). 0 in any unit: no probe, the plan
 * on the proxy alone. Returns null for text it cannot read (the caller names the option).
 *
 * @example
 * parseProbeBudget("10m") // { kind: "seconds", seconds: 600 }
 * parseProbeBudget("2M")  // { kind: "tokens", tokens: 2000000 }
 * parseProbeBudget("25%") // { kind: "share", share: 0.25 }
 * parseProbeBudget("ten") // null
 */
export function parseProbeBudget(text: string): ProbeBudget | null {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(s|m|min|h|k|M|G|%)?\s*$/.exec(text);
  if (m === null) return null;
  const x = Number(m[1]);
  if (!Number.isFinite(x) || x < 0) return null;
  switch (m[2]) {
    case "s":
      return { kind: "seconds", seconds: x };
    case "m":
    case "min":
      return { kind: "seconds", seconds: x * 60 };
    case "h":
      return { kind: "seconds", seconds: x * 3600 };
    case "%":
      return x <= 100 ? { kind: "share", share: x / 100 } : null;
    case "k":
      return { kind: "tokens", tokens: Math.round(x * 1e3) };
    case "M":
      return { kind: "tokens", tokens: Math.round(x * 1e6) };
    case "G":
      return { kind: "tokens", tokens: Math.round(x * 1e9) };
    default:
      return Number.isInteger(x) ? { kind: "tokens", tokens: x } : null;
  }
}

/**
 * A budget as it reads (for notes and errors).
 *
 * @example
 * describeProbeBudget({ kind: "share", share: 0.25 }) // "25% of the full table"
 */
export function describeProbeBudget(b: ProbeBudget): string {
  if (b.kind === "share") return `${Number((b.share * 100).toPrecision(6))}% of the full table${b.maxSeconds !== undefined ? `, at most ${Number(b.maxSeconds.toPrecision(6))} s` : ""}`;
  if (b.kind === "seconds") return `${Number(b.seconds.toPrecision(6))} s`;
  return `${b.tokens} forward-equivalent tokens`;
}

/** Input of {@link planRound}. */
export interface RoundInput extends PartialSensitivity {
  /** bytes of each unit in each type */
  readonly bytes: UnitBytes;
  /** the sizes (unit bytes) whose choice the table serves */
  readonly sizes: readonly number[];
  /** at most this many cells this round */
  readonly batch: number;
  /** stop when the expected gain of all unmeasured cells is below this share of the estimated KLD at the sizes (default 0.01) */
  readonly tolerance?: number;
  /** units to seed with when nothing is measured yet (default 3) */
  readonly seedUnits?: number;
}

/** What to measure next, and where the table stands. */
export interface Round {
  readonly predicted: PredictedSensitivity;
  /** cells to measure now, most valuable first; empty: stop */
  readonly cells: readonly { readonly unit: number; readonly type: number }[];
  /** Σ expected gain of every unmeasured cell (KLD, summed over the sizes) */
  readonly expectedGain: number;
  /** Σ over the sizes of the estimated Σ Δ of the Lagrangian mix (the scale the gain is judged on) */
  readonly estimatedKld: number;
  /**
   * Cells the stopping rule still needs if every value held: the fewest of the most valuable whose
   * removal brings the summed gain to the tolerance (0 once settled; every cell before the seed is
   * measured). Measuring a cell moves the others' values, both ways, so this is a forecast for the
   * progress display, not a promise: the planner decides round by round.
   */
  readonly cellsToSettle: number;
  readonly reason: "seed" | "value" | "settled" | "complete";
}

/**
 * How many of `values` (most valuable first) must go before the rest sum to at most `threshold`.
 *
 * @example
 * cellsToSettle([5, 3, 1, 1], 2) // 2: after 5 and 3, the rest sum to 2
 * cellsToSettle([1, 1], 2)       // 0
 */
export function cellsToSettle(values: readonly number[], threshold: number): number {
  let rest = values.reduce((a, v) => a + v, 0);
  let n = 0;
  while (n < values.length && rest > threshold) rest -= values[n++]!;
  return n;
}

/**
 * One round of the planner: the seed cells first; then the most valuable unmeasured cells (at most
 * `batch`) while their summed expected gain is above `tolerance` of the estimate, else stop.
 *
 * @example
 * planRound({ units, types, proxy, measured, bytes, sizes: servedSizes(bytes, 8), batch: 16 }).cells // the next 16 probes
 */
export function planRound(input: RoundInput): Round {
  const predicted = predictSensitivity(input);
  const anyMeasured = input.measured.some((row) => row.some((d, t) => t > 0 && d !== null));
  if (!anyMeasured) {
    const seed = seedCells(input.proxy, input.seedUnits ?? 3).slice(0, Math.max(0, input.batch));
    const unmeasured = input.measured.reduce((a, row) => a + row.filter((d, t) => t > 0 && d === null).length, 0);
    return { predicted, cells: seed, expectedGain: Infinity, estimatedKld: NaN, cellsToSettle: unmeasured, reason: seed.length > 0 ? "seed" : "complete" };
  }
  const lambdas = input.sizes.map((size) => lambdaAt(predicted.delta, input.bytes, size));
  // a unit with no measured cell: one probe at its most aggressive type (the strongest signal)
  // learns the unit's offset, which every cell of its row shares, so it is worth what the row is
  const M = input.types.length;
  const blank = (u: number) => predicted.measured[u]!.every((m, t) => t === 0 || !m);
  const rows = new Map<number, number>();
  const cellsByValue = cellValues(predicted, input.bytes, lambdas).filter((v) => {
    if (!blank(v.unit)) return true;
    rows.set(v.unit, (rows.get(v.unit) ?? 0) + v.value);
    return false;
  });
  const values = [...cellsByValue, ...[...rows].map(([unit, value]) => ({ unit, type: M - 1, value }))].sort((p, q) => q.value - p.value || p.unit - q.unit || p.type - q.type);
  const expectedGain = values.reduce((acc, c) => acc + c.value, 0);
  const estimatedKld = lambdas.reduce((acc, lambda) => {
    if (!Number.isFinite(lambda)) return acc;
    const mix = lagrangianMix(predicted.delta, input.bytes, lambda);
    return acc + mix.reduce((s, t, u) => s + predicted.delta[u]![t]!, 0);
  }, 0);
  const unmeasured = predicted.measured.some((row) => row.some((m) => !m));
  if (!unmeasured || values.length === 0) return { predicted, cells: [], expectedGain, estimatedKld, cellsToSettle: 0, reason: unmeasured ? "settled" : "complete" };
  const threshold = (input.tolerance ?? 0.01) * estimatedKld;
  if (expectedGain <= threshold) return { predicted, cells: [], expectedGain, estimatedKld, cellsToSettle: 0, reason: "settled" };
  return {
    predicted,
    cells: values.slice(0, Math.max(0, input.batch)).map(({ unit, type }) => ({ unit, type })),
    expectedGain,
    estimatedKld,
    cellsToSettle: cellsToSettle(values.map((v) => v.value), threshold),
    reason: "value",
  };
}
