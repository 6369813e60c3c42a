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
  /** a planned table (issue 25): which cells were measured, the spread of the others */
  readonly cells?: SensitivityCells;
  /** a planned table: what its probes cost and why they stopped */
  readonly probes?: SensitivityProbes;
}

/** Where each cell of a planned table came from: measured by a probe, or predicted (lib/method/probe-plan.ts). */
export interface SensitivityCells {
  /** measured[u][t]: true where a probe measured the cell (column 0, the reference, counts as measured) */
  readonly measured: readonly (readonly boolean[])[];
  /** sigma[u][t]: one-sigma spread of a predicted cell, in Δ's units; 0 where measured */
  readonly sigma: readonly (readonly number[])[];
}

/** Why a planned table stopped probing. */
export type ProbeStop = "settled" | "budget" | "complete" | "proxy only";

/** What a planned table's probes cost. */
export interface SensitivityProbes {
  /** cells measured (types other than the reference), and predicted */
  readonly measured: number;
  readonly predicted: number;
  /** forward-equivalent tokens the measured cells cost (tokens × share of the model computed) */
  readonly forwardTokens: number;
  /** what every cell at a full probe would have cost */
  readonly fullTableTokens: number;
  /** the budget, as the user gave it */
  readonly budget: string;
  readonly stopped: ProbeStop;
  /** what the reader of the table must know (e.g. a budget of 0: Δ is the proxy's, not KLD) */
  readonly note?: string;
}

const PROBE_STOPS: readonly ProbeStop[] = ["settled", "budget", "complete", "proxy only"];

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
  const table: SensitivityTable = { kind, granularity, types, units, referenceKld, delta };
  const cells = o["cells"] === undefined ? undefined : parseCells(o["cells"], units.length, types.length, `${what}.cells`);
  const probes = o["probes"] === undefined ? undefined : parseProbes(o["probes"], `${what}.probes`);
  return { ...table, ...(cells ? { cells } : {}), ...(probes ? { probes } : {}) };
}

function parseCells(value: unknown, units: number, types: number, what: string): SensitivityCells {
  const o = expectObject(value, what);
  const grid = <T>(key: string, item: (x: unknown, at: string) => T): T[][] => {
    const rows = o[key];
    if (!Array.isArray(rows) || rows.length !== units) throw new MethodInputError(`${what}.${key} must have one row per unit (${units})`);
    return rows.map((row: unknown, u) => {
      if (!Array.isArray(row) || row.length !== types) throw new MethodInputError(`${what}.${key}[${u}] must have one value per type (${types})`);
      return row.map((x: unknown, t) => item(x, `${what}.${key}[${u}][${t}]`));
    });
  };
  const measured = grid("measured", (x, at) => {
    if (typeof x !== "boolean") throw new MethodInputError(`${at} must be true or false (got ${describeValue(x)})`);
    return x;
  });
  const sigma = grid("sigma", (x, at) => {
    const v = expectFiniteNumber(x, at);
    if (v < 0) throw new MethodInputError(`${at} must be ≥ 0 (got ${describeValue(v)})`);
    return v;
  });
  return { measured, sigma };
}

function parseProbes(value: unknown, what: string): SensitivityProbes {
  const o = expectObject(value, what);
  const count = (key: string) => {
    const v = expectFiniteNumber(o[key], `${what}.${key}`);
    if (v < 0) throw new MethodInputError(`${what}.${key} must be ≥ 0 (got ${describeValue(v)})`);
    return v;
  };
  const stopped = o["stopped"];
  if (!PROBE_STOPS.includes(stopped as ProbeStop)) throw new MethodInputError(`${what}.stopped must be one of ${PROBE_STOPS.join(", ")} (got ${describeValue(stopped)})`);
  if (typeof o["budget"] !== "string") throw new MethodInputError(`${what}.budget must be a string (got ${describeValue(o["budget"])})`);
  if (o["note"] !== undefined && typeof o["note"] !== "string") throw new MethodInputError(`${what}.note must be a string (got ${describeValue(o["note"])})`);
  return {
    measured: count("measured"),
    predicted: count("predicted"),
    forwardTokens: count("forwardTokens"),
    fullTableTokens: count("fullTableTokens"),
    budget: o["budget"],
    stopped: stopped as ProbeStop,
    ...(typeof o["note"] === "string" ? { note: o["note"] } : {}),
  };
}

/**
 * One line on how a table was obtained: measured in full, planned (measured and predicted cells,
 * their spread, the probes' cost), or the proxy.
 *
 * @example
 * describeSensitivity(table) // "96 of 430 cells measured, 334 predicted (median ± 31%); 196608 forward-equivalent tokens (11% of the full table); budget 25% of the full table; stopped: settled"
 */
export function describeSensitivity(table: SensitivityTable): string {
  const p = table.probes;
  if (p === undefined) return table.kind === "measured" ? `all ${table.units.length * (table.types.length - 1)} cells measured` : "the proxy (imatrix-weighted quantization error), no probe";
  const spread: number[] = [];
  if (table.cells) {
    table.cells.measured.forEach((row, u) =>
      row.forEach((m, t) => {
        const d = table.delta[u]![t]!;
        if (!m && d > 0) spread.push(table.cells!.sigma[u]![t]! / d);
      }),
    );
  }
  spread.sort((a, b) => a - b);
  const median = spread.length > 0 ? spread[Math.floor(spread.length / 2)]! : undefined;
  const share = p.fullTableTokens > 0 ? ` (${Math.round((p.forwardTokens / p.fullTableTokens) * 100)}% of the full table)` : "";
  return (
    `${p.measured} of ${p.measured + p.predicted} cells measured, ${p.predicted} predicted${median !== undefined ? ` (median ± ${Math.round(median * 100)}%)` : ""}; ` +
    `${Math.round(p.forwardTokens)} forward-equivalent tokens${share}; budget ${p.budget}; stopped: ${p.stopped}${p.note ? `; ${p.note}` : ""}`
  );
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
  // a planned table's per-cell flags do not survive the sum (a group mixes measured and predicted cells)
  const { cells: _cells, ...rest } = table;
  return { ...rest, granularity: "sublayer", units: [...groups.keys()], delta: [...groups.values()] };
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
