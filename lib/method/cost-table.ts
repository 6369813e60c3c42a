// The input of the front optimizer: what each plan unit costs in each
// candidate type. Unlike the paper's profile (uniform models, interpolated),
// every cost here is per unit and additive:
//   file bytes  = fixed.bytes     + Σ_u b(u, t_u)      (exact: tensor bytes add)
//   latency     = fixed.latencyMs + Σ_u ℓ(u, t_u)      (model: per-unit decode time)
//   KLD         = fixed.kld       + Σ_u Δ(u, t_u)      (model: additive sensitivity)
//   ln PPL      = ln fixed.perplexity + Σ_u nll(u, t_u) (model, only when the table carries it)
// Δ and nll are measured against a reference (every unit at its least
// aggressive type, issue 14), so fixed.kld is the reference model's KLD.
//
// Perplexity is never derived from KLD: KLD is an expectation over the whole
// next-token distribution, Δ ln PPL the change in the observed token's
// log-probability; they differ in size and can differ in sign. A table that
// wants `maxPerplexity` must carry `nll` for every cost and `fixed.perplexity`.
import { MethodInputError, describeValue, expectCount, expectFiniteNumber, expectObject } from "./errors.js";
import { orderTypes, parseGgmlType, type GgmlType } from "./types.js";

/** What one unit costs in one type. */
export interface UnitCost {
  /** Exact bytes of the unit's tensors in this type (integer). */
  readonly bytes: number;
  /** Δ(u, t): KLD added to the reference's, additive over units (may be slightly negative: measurement noise). */
  readonly kld: number;
  /** ℓ(u, t): ms per token the unit's tensors take in this type, ≥ 0. */
  readonly latencyMs: number;
  /** Optional Δ mean negative log-likelihood (nats); all costs carry it or none. */
  readonly nll?: number;
}

/** A plan unit: a sub-layer, a tensor group or a single tensor. */
export interface CostUnit {
  /** Unique id, e.g. `"blk.3.attn_q"` or `"blk.3.attn"`. */
  readonly name: string;
  /** GGUF tensor names the unit covers; a recipe needs them. */
  readonly tensors?: readonly string[];
  /** Weights (parameters) in the unit, a positive integer; used for bits per weight. */
  readonly params: number;
  /** One entry per type the unit may take (a subset of the table's types, at least one). */
  readonly costs: Readonly<Partial<Record<GgmlType, UnitCost>>>;
}

/** The parts of the model no unit covers. */
export interface FixedCosts {
  /** File bytes outside the units (other tensors, GGUF header and metadata). */
  readonly bytes: number;
  /** Runtime memory beyond the file (KV cache, compute buffers); default 0. Counts for maxMemoryBytes, not for size. */
  readonly runtimeBytes?: number;
  /** ms per token outside the units (non-unit tensors, attention over the cache, sampling). */
  readonly latencyMs: number;
  /** KLD of the reference mix (every unit at its least aggressive type) against the source model. */
  readonly kld: number;
  /** Perplexity of the reference mix; needed (with every cost's `nll`) to estimate perplexity. */
  readonly perplexity?: number;
}

/** Per-unit costs of every candidate type: the front optimizer's input. */
export interface CostTable {
  /** Candidate types, any order (kept least → most aggressive). */
  readonly types: readonly GgmlType[];
  readonly units: readonly CostUnit[];
  readonly fixed: FixedCosts;
}

/**
 * A validated table in flat arrays: entry `u·M + j` is unit u in `types[j]`;
 * a type a unit cannot take has `available` 0 and NaN costs.
 */
export interface DenseCostTable {
  readonly table: CostTable;
  readonly types: readonly GgmlType[];
  readonly units: number;
  readonly names: readonly string[];
  readonly params: Float64Array;
  readonly bytes: Float64Array;
  readonly kld: Float64Array;
  readonly latency: Float64Array;
  /** null when the table carries no perplexity. */
  readonly nll: Float64Array | null;
  readonly available: Uint8Array;
  readonly totalParams: number;
}

/** Estimated metrics of one mix. */
export interface MixEstimate {
  /** File bytes: fixed.bytes + Σ b. Exact. */
  readonly sizeBytes: number;
  /** sizeBytes + fixed.runtimeBytes. */
  readonly memoryBytes: number;
  readonly latencyMsPerToken: number;
  readonly kld: number;
  /** Present when the table carries perplexity. */
  readonly perplexity?: number;
  /** 8 · Σ_u b / Σ_u params: bits per weight over the units (the tensors being planned). */
  readonly bitsPerWeight: number;
}

/**
 * Validates a cost table and flattens it. Every rejection names the field.
 *
 * @example
 * const dense = parseCostTable({
 *   types: ["q8_0", "q4_K"],
 *   units: [{ name: "blk.0.attn_q", tensors: ["blk.0.attn_q.weight"], params: 4096,
 *             costs: { q8_0: { bytes: 4352, kld: 0, latencyMs: 0.01 }, q4_K: { bytes: 2304, kld: 0.002, latencyMs: 0.006 } } }],
 *   fixed: { bytes: 1000, latencyMs: 1, kld: 0.001 },
 * });
 * dense.units // 1
 * parseCostTable({ types: [], units: [], fixed: { bytes: 0, latencyMs: 0, kld: 0 } }) // throws: types must list at least one type (got none)
 */
export function parseCostTable(value: unknown): DenseCostTable {
  const root = expectObject(value, "table");
  if (!Array.isArray(root["types"])) throw new MethodInputError(`table.types must be an array of type names (got ${describeValue(root["types"])})`);
  const types = orderTypes((root["types"] as unknown[]).map((t) => parseGgmlType(t)));
  const fixed = parseFixed(root["fixed"]);
  const unitsValue = root["units"];
  if (!Array.isArray(unitsValue) || unitsValue.length === 0) {
    throw new MethodInputError(`table.units must be a non-empty array (got ${Array.isArray(unitsValue) ? "none" : describeValue(unitsValue)})`);
  }
  const N = unitsValue.length;
  const M = types.length;
  if (M > 255) throw new MethodInputError(`table.types may list at most 255 types (got ${M})`);
  const bytes = new Float64Array(N * M).fill(Number.NaN);
  const kld = new Float64Array(N * M).fill(Number.NaN);
  const latency = new Float64Array(N * M).fill(Number.NaN);
  const withPerplexity = fixed.perplexity !== undefined;
  const nll = withPerplexity ? new Float64Array(N * M).fill(Number.NaN) : null;
  const available = new Uint8Array(N * M);
  const params = new Float64Array(N);
  const names: string[] = [];
  const seen = new Set<string>();
  const tensorOwner = new Map<string, string>();
  let totalParams = 0;
  unitsValue.forEach((raw: unknown, u) => {
    const what = `table.units[${u}]`;
    const unit = expectObject(raw, what);
    const name = unit["name"];
    if (typeof name !== "string" || name === "") throw new MethodInputError(`${what}.name must be a non-empty string (got ${describeValue(name)})`);
    if (seen.has(name)) throw new MethodInputError(`table.units lists ${JSON.stringify(name)} twice`);
    seen.add(name);
    names.push(name);
    if (unit["tensors"] !== undefined) {
      for (const tensor of parseTensorNames(unit["tensors"], `${what}.tensors`)) {
        const owner = tensorOwner.get(tensor);
        if (owner !== undefined) throw new MethodInputError(`tensor ${JSON.stringify(tensor)} is in both ${JSON.stringify(owner)} and ${JSON.stringify(name)}`);
        tensorOwner.set(tensor, name);
      }
    }
    const p = expectCount(unit["params"], `${what}.params`);
    if (p === 0) throw new MethodInputError(`${what}.params must be a positive integer (got 0)`);
    params[u] = p;
    totalParams += p;
    const costs = expectObject(unit["costs"], `${what}.costs`);
    const keys = Object.keys(costs);
    if (keys.length === 0) throw new MethodInputError(`${what}.costs must list at least one type (got none)`);
    for (const key of keys) {
      const type = parseGgmlType(key);
      const j = types.indexOf(type);
      if (j < 0) throw new MethodInputError(`${what}.costs has ${JSON.stringify(type)}, which is not in table.types (${types.join(", ")})`);
      const at = `${what}.costs.${type}`;
      const cost = expectObject(costs[key], at);
      const i = u * M + j;
      bytes[i] = expectCount(cost["bytes"], `${at}.bytes`);
      kld[i] = expectFiniteNumber(cost["kld"], `${at}.kld`);
      const l = expectFiniteNumber(cost["latencyMs"], `${at}.latencyMs`);
      if (l < 0) throw new MethodInputError(`${at}.latencyMs must be ≥ 0 (got ${describeValue(l)})`);
      latency[i] = l;
      if (nll !== null) {
        if (cost["nll"] === undefined) throw new MethodInputError(`${at}.nll is missing; a table with fixed.perplexity needs nll on every cost`);
        nll[i] = expectFiniteNumber(cost["nll"], `${at}.nll`);
      } else if (cost["nll"] !== undefined) {
        throw new MethodInputError(`${at}.nll is given but fixed.perplexity is not; give both or neither`);
      }
      available[i] = 1;
    }
  });
  if (!Number.isSafeInteger(totalParams)) throw new MethodInputError(`the units' params add up to more than 2^53 (got ${describeValue(totalParams)})`);
  const table: CostTable = { types, units: unitsValue as CostUnit[], fixed };
  return { table, types, units: N, names, params, bytes, kld, latency, nll, available, totalParams };
}

/**
 * Estimate of one mix: `mix[u]` is the index into `dense.types` of unit u's type.
 *
 * @example
 * estimateMix(dense, Uint8Array.of(1)) // { sizeBytes: 3304, memoryBytes: 3304, latencyMsPerToken: 1.006, kld: 0.003, bitsPerWeight: 4.5 }
 */
export function estimateMix(dense: DenseCostTable, mix: ArrayLike<number>): MixEstimate {
  const M = dense.types.length;
  if (mix.length !== dense.units) throw new MethodInputError(`a mix must give one type per unit (${dense.units}), got ${mix.length}`);
  let b = 0;
  let l = dense.table.fixed.latencyMs;
  let k = dense.table.fixed.kld;
  let n = 0;
  for (let u = 0; u < dense.units; u++) {
    const j = mix[u] as number;
    const i = u * M + j;
    if (!(j >= 0 && j < M) || dense.available[i] !== 1) {
      throw new MethodInputError(`unit ${JSON.stringify(dense.names[u])} cannot take type index ${describeValue(j)}`);
    }
    b += dense.bytes[i] as number;
    l += dense.latency[i] as number;
    k += dense.kld[i] as number;
    if (dense.nll !== null) n += dense.nll[i] as number;
  }
  return finishEstimate(dense, b, l, k, n);
}

/** The estimate from the sums over units (latency and KLD already include the fixed parts). Internal. */
export function finishEstimate(dense: DenseCostTable, unitBytes: number, latency: number, kld: number, nll: number): MixEstimate {
  const { fixed } = dense.table;
  const sizeBytes = fixed.bytes + unitBytes;
  const estimate = {
    sizeBytes,
    memoryBytes: sizeBytes + (fixed.runtimeBytes ?? 0),
    latencyMsPerToken: latency,
    kld,
    bitsPerWeight: (8 * unitBytes) / dense.totalParams,
  };
  return fixed.perplexity === undefined ? estimate : { ...estimate, perplexity: fixed.perplexity * Math.exp(nll) };
}

/**
 * Type per unit name of a mix.
 *
 * @example
 * mixAssignment(dense, Uint8Array.of(1)) // { "blk.0.attn_q": "q4_K" }
 */
export function mixAssignment(dense: DenseCostTable, mix: ArrayLike<number>): Readonly<Record<string, GgmlType>> {
  const out: Record<string, GgmlType> = {};
  for (let u = 0; u < dense.units; u++) out[dense.names[u] as string] = dense.types[mix[u] as number] as GgmlType;
  return out;
}

/**
 * Units per type of a mix, every candidate type listed, least aggressive first.
 *
 * @example
 * mixDistribution(dense, Uint8Array.of(1)) // { q8_0: 0, q4_K: 1 }
 */
export function mixDistribution(dense: DenseCostTable, mix: ArrayLike<number>): Readonly<Partial<Record<GgmlType, number>>> {
  const counts = new Array<number>(dense.types.length).fill(0);
  for (let u = 0; u < dense.units; u++) counts[mix[u] as number] = (counts[mix[u] as number] as number) + 1;
  const out: Partial<Record<GgmlType, number>> = {};
  dense.types.forEach((t, j) => (out[t] = counts[j] as number));
  return out;
}

function parseFixed(value: unknown): FixedCosts {
  const fixed = expectObject(value, "table.fixed");
  const bytes = expectCount(fixed["bytes"], "table.fixed.bytes");
  const latencyMs = expectFiniteNumber(fixed["latencyMs"], "table.fixed.latencyMs");
  if (latencyMs < 0) throw new MethodInputError(`table.fixed.latencyMs must be ≥ 0 (got ${describeValue(latencyMs)})`);
  const kld = expectFiniteNumber(fixed["kld"], "table.fixed.kld");
  if (kld < 0) throw new MethodInputError(`table.fixed.kld must be ≥ 0 (got ${describeValue(kld)})`);
  const out: { bytes: number; latencyMs: number; kld: number; runtimeBytes?: number; perplexity?: number } = { bytes, latencyMs, kld };
  if (fixed["runtimeBytes"] !== undefined) out.runtimeBytes = expectCount(fixed["runtimeBytes"], "table.fixed.runtimeBytes");
  if (fixed["perplexity"] !== undefined) {
    const p = expectFiniteNumber(fixed["perplexity"], "table.fixed.perplexity");
    if (p < 1) throw new MethodInputError(`table.fixed.perplexity must be ≥ 1 (got ${describeValue(p)})`);
    out.perplexity = p;
  }
  return out;
}

function parseTensorNames(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new MethodInputError(`${what} must be a non-empty array of tensor names (got ${Array.isArray(value) ? "none" : describeValue(value)})`);
  }
  value.forEach((name: unknown, i) => {
    // llama-quantize reads a recipe split on whitespace and matches names as regular expressions.
    if (typeof name !== "string" || !/^[A-Za-z0-9_.\-]+$/.test(name)) {
      throw new MethodInputError(`${what}[${i}] must be a GGUF tensor name of letters, digits, "_", "." or "-" (got ${describeValue(name)})`);
    }
  });
  return value as string[];
}
