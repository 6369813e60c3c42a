// The measured sensitivity table: Δ(u, t) = KLD(reference with unit u at type t) − KLD(reference),
// the reference being every unit at the least aggressive candidate type. Pure functions over it:
// validation (scores.json carries it), the additive estimate of a mix, the sum of a tensor-level
// table over sub-layers, and Spearman's rank correlation (to compare the proxy with it).
import { MethodInputError, describeValue, expectFiniteNumber, expectObject } from "./errors.js";

/** How Δ was obtained: measured by in-process probes, or the imatrix-weighted error proxy. */
export type SensitivityKind = "measured" | "proxy";

export interface SensitivityTable {
  readonly kind: SensitivityKind;
  readonly granularity: "sublayer" | "tensor";
  /** candidate types, least aggressive first; types[0] is the reference's */
  readonly types: readonly string[];
  readonly units: readonly string[];
  /** KLD of the reference against the source (0 for the proxy) */
  readonly referenceKld: number;
  /** delta[u][t] in the order of units and types; delta[u][0] is 0 */
  readonly delta: readonly (readonly number[])[];
}

/**
 * Validates a parsed table (the `sensitivity` field of scores.json).
 *
 * @example
 * parseSensitivity({ kind: "measured", granularity: "sublayer", types: ["q8_0", "q4_K"], units: ["blk.0.attn"], referenceKld: 0.001, delta: [[0, 0.01]] }).units // ["blk.0.attn"]
 */
export function parseSensitivity(value: unknown, what = "sensitivity"): SensitivityTable {
  const o = expectObject(value, what);
  const kind = o["kind"];
  if (kind !== "measured" && kind !== "proxy") throw new MethodInputError(`${what}.kind must be "measured" or "proxy" (got ${describeValue(kind)})`);
  const granularity = o["granularity"];
  if (granularity !== "sublayer" && granularity !== "tensor") {
    throw new MethodInputError(`${what}.granularity must be "sublayer" or "tensor" (got ${describeValue(granularity)})`);
  }
  const strings = (key: string): string[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string" || x === "")) {
      throw new MethodInputError(`${what}.${key} must be a non-empty array of names (got ${describeValue(v)})`);
    }
    if (new Set(v).size !== v.length) throw new MethodInputError(`${what}.${key} lists a name twice`);
    return v as string[];
  };
  const types = strings("types");
  const units = strings("units");
  const referenceKld = expectFiniteNumber(o["referenceKld"], `${what}.referenceKld`);
  const rows = o["delta"];
  if (!Array.isArray(rows) || rows.length !== units.length) throw new MethodInputError(`${what}.delta must have one row per unit (${units.length})`);
  const delta = rows.map((row: unknown, u) => {
    if (!Array.isArray(row) || row.length !== types.length) throw new MethodInputError(`${what}.delta[${u}] must have one value per type (${types.length})`);
    return row.map((x: unknown, t) => expectFiniteNumber(x, `${what}.delta[${u}][${t}]`));
  });
  return { kind, granularity, types, units, referenceKld, delta };
}

/**
 * The additive estimate of a mix's KLD: KLD(reference) + Σ_u Δ(u, type of u). Units the
 * assignment leaves out stay at the reference type.
 *
 * @example
 * estimateMixKld({ kind: "measured", granularity: "sublayer", types: ["q8_0", "q4_K"], units: ["a", "b"], referenceKld: 0.01, delta: [[0, 0.02], [0, 0.05]] }, { b: "q4_K" }) // 0.06
 */
export function estimateMixKld(table: SensitivityTable, assignment: Readonly<Record<string, string>>): number {
  let kld = table.referenceKld;
  for (const [unit, type] of Object.entries(assignment)) {
    const u = table.units.indexOf(unit);
    if (u < 0) throw new MethodInputError(`the sensitivity table has no unit ${JSON.stringify(unit)}`);
    const t = table.types.indexOf(type);
    if (t < 0) throw new MethodInputError(`the sensitivity table has no type ${JSON.stringify(type)} (it has ${table.types.join(", ")})`);
    kld += table.delta[u]![t]!;
  }
  return kld;
}

/**
 * Δ of each unit of `groupOf` summed over the units mapped to it (additivity assumed): turns a
 * tensor-level table into a sub-layer one. Units mapped to null are dropped.
 *
 * @example
 * groupSensitivity(tensorTable, (u) => subLayerOf(`${u}.weight`)?.name ?? null).units // ["blk.0.attn", "blk.0.ffn", …]
 */
export function groupSensitivity(table: SensitivityTable, groupOf: (unit: string) => string | null): SensitivityTable {
  const groups = new Map<string, number[]>();
  table.units.forEach((unit, u) => {
    const g = groupOf(unit);
    if (g === null) return;
    const sum = groups.get(g) ?? new Array<number>(table.types.length).fill(0);
    table.delta[u]!.forEach((d, t) => (sum[t] = sum[t]! + d));
    groups.set(g, sum);
  });
  return { ...table, granularity: "sublayer", units: [...groups.keys()], delta: [...groups.values()] };
}

/**
 * Spearman's rank correlation of two equally long series (average ranks for ties).
 *
 * @example
 * spearman([1, 2, 3, 4], [10, 20, 30, 40]) // 1
 * spearman([1, 2, 3], [3, 2, 1]) // -1
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new MethodInputError(`spearman needs two series of the same length ≥ 2 (got ${a.length} and ${b.length})`);
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (a.length + 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) {
    const x = ra[i]! - mean;
    const y = rb[i]! - mean;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return num / Math.sqrt(da * db);
}

function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
  const out = new Array<number>(v.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}
