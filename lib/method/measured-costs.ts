// The cost table from a measured Δ table (issue 14's scores.json "sensitivity"):
//   bytes   b(u, t) = Σ bytes of u's tensors in the uniform file of type t   (exact, from headers)
//   KLD     Δ(u, t) from the table, fixed.kld = its reference's KLD          (measured, additive)
//   latency ℓ(u, t) = p_u / Σ p · latency of the uniform type-t model        (the `weighted` split)
// The latency split is a model until per-unit latency is measured: it gives
// every unit the share of decode time its parameters have, which overstates
// cheap lookups such as token_embd (a get_rows, not a matmul).
import { MethodInputError, describeValue } from "./errors.js";
import type { CostTable } from "./cost-table.js";
import { orderTypes, type GgmlType } from "./types.js";

/** Input of {@link costTableFromMeasured}. */
export interface MeasuredCostsInput {
  /** The Δ table: candidate types (types[0] the reference), unit names, Δ[u][t], the reference's KLD. */
  readonly sensitivity: {
    readonly types: readonly string[];
    readonly units: readonly string[];
    readonly referenceKld: number;
    readonly delta: readonly (readonly number[])[];
  };
  /** The plan's types (a subset of the table's; default all of them). */
  readonly types?: readonly GgmlType[];
  /** Each unit's tensor names. */
  readonly unitTensors: Readonly<Record<string, readonly string[]>>;
  /** Parameters per tensor. */
  readonly tensorParams: Readonly<Record<string, number>>;
  /** Bytes per tensor in each type (for a unit outside the blocks, from the file where it has that type). */
  readonly tensorBytes: Readonly<Partial<Record<GgmlType, Readonly<Record<string, number>>>>>;
  /** ms per token of each uniform model. */
  readonly latencyMsPerToken: Readonly<Partial<Record<GgmlType, number>>>;
  /** File bytes outside the units, at the reference type (header, norms, unplanned tensors). */
  readonly fixedBytes: number;
}

/**
 * The per-unit cost table of a measured Δ table (see the module comment).
 *
 * @example
 * costTableFromMeasured({
 *   sensitivity: { types: ["q8_0", "q4_K"], units: ["blk.0.attn_q"], referenceKld: 0.001, delta: [[0, 0.02]] },
 *   unitTensors: { "blk.0.attn_q": ["blk.0.attn_q.weight"] }, tensorParams: { "blk.0.attn_q.weight": 65536 },
 *   tensorBytes: { q8_0: { "blk.0.attn_q.weight": 69632 }, q4_K: { "blk.0.attn_q.weight": 36864 } },
 *   latencyMsPerToken: { q8_0: 2, q4_K: 1.5 }, fixedBytes: 4096,
 * }).units[0].costs.q4_K // { bytes: 36864, kld: 0.02, latencyMs: 1.5 }
 */
export function costTableFromMeasured(input: MeasuredCostsInput): CostTable {
  const { sensitivity: s } = input;
  const types = orderTypes((input.types ?? s.types) as GgmlType[]);
  const column = types.map((t) => {
    const j = s.types.indexOf(t);
    if (j < 0) throw new MethodInputError(`the sensitivity table has no ${t} column (it measured ${s.types.join(", ")}); measure it with the plan's types`);
    return j;
  });
  if (s.types.indexOf(types[0] as string) !== 0) {
    throw new MethodInputError(`the plan's least aggressive type ${types[0]} must be the table's reference type ${s.types[0]} (Δ is measured against it)`);
  }
  const params = s.units.map((unit) => {
    const tensors = input.unitTensors[unit];
    if (tensors === undefined || tensors.length === 0) throw new MethodInputError(`the model has no tensors for the table's unit ${JSON.stringify(unit)}`);
    return tensors.reduce((a, t) => {
      const p = input.tensorParams[t];
      if (p === undefined || !(p > 0)) throw new MethodInputError(`tensor ${JSON.stringify(t)} has no parameter count (got ${describeValue(p)})`);
      return a + p;
    }, 0);
  });
  const total = params.reduce((a, b) => a + b, 0);
  return {
    types,
    units: s.units.map((unit, u) => {
      const tensors = input.unitTensors[unit] as readonly string[];
      return {
        name: unit,
        tensors,
        params: params[u] as number,
        costs: Object.fromEntries(
          types.map((t, k) => {
            const bytesOf = input.tensorBytes[t];
            const latency = input.latencyMsPerToken[t];
            if (bytesOf === undefined) throw new MethodInputError(`no tensor sizes for type ${t}`);
            if (latency === undefined || !(latency > 0)) throw new MethodInputError(`no latency for the uniform ${t} model (got ${describeValue(latency)})`);
            const bytes = tensors.reduce((a, name) => {
              const b = bytesOf[name];
              if (b === undefined) throw new MethodInputError(`no size for tensor ${JSON.stringify(name)} in type ${t}`);
              return a + b;
            }, 0);
            return [t, { bytes, kld: s.delta[u]![column[k] as number] as number, latencyMs: ((params[u] as number) / total) * latency }];
          }),
        ),
      };
    }),
    fixed: { bytes: input.fixedBytes, latencyMs: 0, kld: s.referenceKld },
  };
}
