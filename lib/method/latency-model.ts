// Per-unit latency model (issue 16): latency(mix) = fixed + scale · Σ_u c(u, type(u)).
//
// A unit is one weight tensor of a block (blk.N.attn_q.weight, …, blk.N.ffn_down.weight); c(u, t)
// is the time of that tensor's matmul at the model's shape in type t on this device, for decode
// (batch 1) or prefill (the prompt batch, per token), measured by matmulBench (lib/ops/matmul-bench.ts).
// Everything else a token costs (attention over the cache, norms, the output head, the
// embeddings, the per-op overhead of the graph) does not change with the mix's layer types: it is
// the fixed part, fitted from the uniform files' measured latencies. The uniform files also fit
// `scale`: an isolated matmul runs a little faster or slower than the same matmul between its
// neighbours in a full graph (caches, thread wake-ups), by a factor that is the same for every
// unit to first order. With one uniform file only the fixed part is fitted (scale 1).
// Pure arithmetic: the measurements come in as tables.
import type { CostTable, UnitCost } from "./cost-table.js";
import { MethodInputError, describeValue } from "./errors.js";
import type { GgmlType } from "./types.js";

/** A weight tensor of a file: row length k (ne0), rows n (ne1), its ggml type name. */
export interface UnitTensor {
  readonly name: string;
  readonly type: string;
  /** [ne0, ne1, …] as the GGUF header gives it */
  readonly shape: readonly number[];
}

/** The cost of one matmul shape in one type, in ms (per token for prefill). */
export interface MatmulCost {
  readonly type: string;
  readonly k: number;
  readonly n: number;
  readonly ms: number;
}

/** The fitted model of one phase (decode or prefill). */
export interface LatencyFit {
  readonly fixedMs: number;
  readonly scale: number;
  /** the uniform files' residuals, measured − predicted, in ms (what the fit leaves) */
  readonly residualsMs: readonly number[];
}

/** The key a cost table is looked up by. */
export function costKey(type: string, k: number, n: number): string {
  return `${type}:${k}x${n}`;
}

/**
 * Whether a tensor is a unit: a 2-D weight of a block (1-D norms and biases cost nothing that
 * depends on the type; tensors outside blocks belong to the fixed part).
 *
 * @example
 * isUnit({ name: "blk.3.ffn_up.weight", type: "q4_K", shape: [2048, 8192] }) // true
 * isUnit({ name: "blk.3.attn_norm.weight", type: "f32", shape: [2048] }) // false
 */
export function isUnit(t: UnitTensor): boolean {
  return /^blk\.\d+\./.test(t.name) && t.name.endsWith(".weight") && t.shape.length >= 2 && (t.shape[1] ?? 1) > 1;
}

/**
 * The distinct (type, k, n) a set of files needs measured.
 *
 * @example
 * unitShapes([{ name: "blk.0.attn_q.weight", type: "q8_0", shape: [64, 64] }]) // [{ type: "q8_0", k: 64, n: 64 }]
 */
export function unitShapes(tensors: readonly UnitTensor[]): { type: string; k: number; n: number }[] {
  const seen = new Map<string, { type: string; k: number; n: number }>();
  for (const t of tensors) {
    if (!isUnit(t)) continue;
    const k = t.shape[0] as number;
    const n = (t.shape[1] as number) * t.shape.slice(2).reduce((a, b) => a * b, 1);
    seen.set(costKey(t.type, k, n), { type: t.type, k, n });
  }
  return [...seen.values()];
}

/**
 * Σ_u c(u, type(u)) over a file's units, in ms.
 *
 * @example
 * unitSum([{ name: "blk.0.attn_q.weight", type: "q8_0", shape: [64, 64] }], new Map([["q8_0:64x64", 0.25]])) // 0.25
 */
export function unitSum(tensors: readonly UnitTensor[], costs: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const t of tensors) {
    if (!isUnit(t)) continue;
    const k = t.shape[0] as number;
    const n = (t.shape[1] as number) * t.shape.slice(2).reduce((a, b) => a * b, 1);
    const c = costs.get(costKey(t.type, k, n));
    if (c === undefined) throw new MethodInputError(`no measured cost for ${t.name} (${t.type}, ${k}×${n}); measure that shape and type first`);
    sum += c;
  }
  return sum;
}

/**
 * Fits measured = fixed + scale · unitSum over the uniform files by least squares; with one file,
 * or files whose unit sums coincide, scale is 1 and fixed the mean residual. A fit whose scale is
 * not positive (measurements that fall as the units get dearer: noise larger than the
 * differences) also falls back to scale 1, since a negative cost per unit is meaningless.
 *
 * Hand-worked (test/unit/method/latency-model.test.ts): sums 10, 20, 30 and measured 15, 25, 35
 * give scale 1, fixed 5; measured 25, 45, 65 give scale 2, fixed 5.
 *
 * @example
 * fitLatency([{ unitSumMs: 10, measuredMs: 25 }, { unitSumMs: 20, measuredMs: 45 }]) // { fixedMs: 5, scale: 2, residualsMs: [0, 0] }
 */
export function fitLatency(points: readonly { readonly unitSumMs: number; readonly measuredMs: number }[], mode: "affine" | "offset" | "proportional" = "affine"): LatencyFit {
  if (points.length === 0) throw new MethodInputError("fitting the latency model needs at least one uniform file's measurement");
  for (const p of points) {
    if (!(Number.isFinite(p.unitSumMs) && p.unitSumMs >= 0)) throw new MethodInputError(`unitSumMs must be a finite number ≥ 0 (got ${describeValue(p.unitSumMs)})`);
    if (!(Number.isFinite(p.measuredMs) && p.measuredMs > 0)) throw new MethodInputError(`measuredMs must be a positive number (got ${describeValue(p.measuredMs)})`);
  }
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.unitSumMs, 0) / n;
  const my = points.reduce((a, p) => a + p.measuredMs, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.unitSumMs - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.unitSumMs - mx) * (p.measuredMs - my), 0);
  if (mode === "proportional") {
    // through the origin: the least-squares scale of measured ≈ scale · sum (all sums ≥ 0, measured > 0)
    const sxx0 = points.reduce((a, p) => a + p.unitSumMs * p.unitSumMs, 0);
    if (!(sxx0 > 0)) throw new MethodInputError("a proportional latency fit needs a uniform file with a positive unit sum");
    const s0 = points.reduce((a, p) => a + p.unitSumMs * p.measuredMs, 0) / sxx0;
    return { fixedMs: 0, scale: s0, residualsMs: points.map((p) => p.measuredMs - s0 * p.unitSumMs) };
  }
  // relative tolerance: sums equal up to rounding count as equal
  const scale = mode === "affine" && n >= 2 && sxx > 1e-12 * mx * mx && sxy > 0 ? sxy / sxx : 1;
  const fixedMs = my - scale * mx;
  return { fixedMs, scale, residualsMs: points.map((p) => p.measuredMs - (fixedMs + scale * p.unitSumMs)) };
}

/**
 * The model's latency for a file: fixed + scale · Σ_u c(u, type(u)).
 *
 * @example
 * predictLatency({ fixedMs: 5, scale: 2, residualsMs: [] }, 12.5) // 30
 */
export function predictLatency(fit: LatencyFit, unitSumMs: number): number {
  return fit.fixedMs + fit.scale * unitSumMs;
}

/**
 * Mean and worst |relative error| of predictions against measurements.
 *
 * @example
 * relativeErrors([102, 95], [100, 100]) // { mean: 0.035, worst: 0.05, each: [0.02, -0.05] }
 */
export function relativeErrors(predicted: readonly number[], measured: readonly number[]): { mean: number; worst: number; each: number[] } {
  if (predicted.length !== measured.length || predicted.length === 0) {
    throw new MethodInputError(`need as many predictions as measurements, at least one (got ${predicted.length} and ${measured.length})`);
  }
  const each = predicted.map((p, i) => (p - (measured[i] as number)) / (measured[i] as number));
  const abs = each.map(Math.abs);
  return { mean: abs.reduce((a, b) => a + b, 0) / abs.length, worst: Math.max(...abs), each };
}

/**
 * The fit a cost table can carry: the affine fit, or, when that puts the fixed part below 0 (a
 * table's fixed latency must be ≥ 0; it happens when noise tilts the line), the fit through the
 * origin. Either way the differences between mixes come from scale · Σ c.
 *
 * @example
 * fitForTable([{ unitSumMs: 10, measuredMs: 25 }, { unitSumMs: 20, measuredMs: 45 }]) // { fixedMs: 5, scale: 2, residualsMs: [0, 0] }
 * fitForTable([{ unitSumMs: 10, measuredMs: 10 }, { unitSumMs: 20, measuredMs: 30 }]).fixedMs // 0 (affine: fixed −10)
 */
export function fitForTable(points: readonly { readonly unitSumMs: number; readonly measuredMs: number }[]): LatencyFit {
  const affine = fitLatency(points, "affine");
  return affine.fixedMs >= 0 ? affine : fitLatency(points, "proportional");
}

/** Input of {@link withUnitLatency}. */
export interface UnitLatencyInput {
  /** Each uniform file's tensors (name, type, shape) by the file's type: a mix takes a unit's tensors from the file of the unit's type. */
  readonly files: Readonly<Partial<Record<GgmlType, readonly UnitTensor[]>>>;
  /** c(type, k, n) in ms (per token), keyed by {@link costKey}. */
  readonly costs: ReadonlyMap<string, number>;
  /** fixed and scale, fitted on the same uniform files (see {@link fitForTable}). */
  readonly fit: LatencyFit;
}

/**
 * The cost table with the per-unit latency model as its latency column:
 *   ℓ(u, t)         = scale · Σ_{x ∈ u, x a block weight} c(type of x in the uniform type-t file, shape of x)
 *   fixed.latencyMs = the fit's fixed part
 * so a mix's latency is fixed + scale · Σ_u Σ_{x ∈ u} c(x) = {@link predictLatency} of the file the
 * mix assembles. A unit's tensors outside the blocks (token_embd, output at tensor granularity)
 * cost 0 in every type: the model keeps them in the fixed part at the uniform files' non-layer type.
 * Bytes, KLD and perplexity are left as they are.
 *
 * Hand-worked in test/unit/method/latency-model.test.ts.
 *
 * @example
 * withUnitLatency(table, { files: { q8_0: q8Tensors, q4_K: q4Tensors }, costs, fit: { fixedMs: 5, scale: 2, residualsMs: [] } }).fixed.latencyMs // 5
 */
export function withUnitLatency(table: CostTable, input: UnitLatencyInput): CostTable {
  const { fit } = input;
  if (!(Number.isFinite(fit.scale) && fit.scale > 0)) throw new MethodInputError(`the latency fit's scale must be a positive number (got ${describeValue(fit.scale)})`);
  if (!(Number.isFinite(fit.fixedMs) && fit.fixedMs >= 0)) throw new MethodInputError(`the latency fit's fixed part must be ≥ 0 for a cost table (got ${describeValue(fit.fixedMs)}); fit it with fitForTable`);
  const byType = new Map<string, Map<string, UnitTensor>>();
  for (const t of table.types) {
    const tensors = input.files[t];
    if (tensors === undefined) throw new MethodInputError(`no tensor list for the uniform ${t} file; the per-unit latency model needs every candidate type's file`);
    byType.set(t, new Map(tensors.map((x) => [x.name, x])));
  }
  return {
    ...table,
    units: table.units.map((unit) => {
      const tensors = unit.tensors;
      if (tensors === undefined || tensors.length === 0) throw new MethodInputError(`unit ${JSON.stringify(unit.name)} names no tensors; the per-unit latency model prices tensors`);
      const costs: Partial<Record<GgmlType, UnitCost>> = {};
      for (const [type, cost] of Object.entries(unit.costs) as [GgmlType, UnitCost][]) {
        const file = byType.get(type)!;
        const inUnit = tensors.map((name) => {
          const x = file.get(name);
          if (x === undefined) throw new MethodInputError(`the uniform ${type} file has no tensor ${JSON.stringify(name)} (unit ${JSON.stringify(unit.name)})`);
          return x;
        });
        costs[type] = { ...cost, latencyMs: fit.scale * unitSum(inUnit, input.costs) };
      }
      return { ...unit, costs };
    }),
    fixed: { ...table.fixed, latencyMs: fit.fixedMs },
  };
}
