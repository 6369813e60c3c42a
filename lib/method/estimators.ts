// Step 3a: estimate memory, latency and perplexity of a mixed model from the
// uniform measurements, for every split at once.
//
// Every estimator is a sum over the M "segments" of the importance ranking
// (the first z_0 ranked layers get type 0, the next z_1 type 1, …), so with
// boundaries b_j = z_0 + … + z_j and a per-type prefix function F_j:
//   x = Σ_j F_j(b_j) − F_j(b_{j−1}) = F_{M−1}(L) − F_0(0) + Σ_{j<M−1} [F_j(b_j) − F_{j+1}(b_j)]
// i.e. a constant plus one table lookup per boundary. The search walks the
// boundaries in nested loops and adds M−1 numbers per candidate per criterion.
// An estimator is therefore just its prefix functions per criterion: one entry
// of ESTIMATOR_TABLE (at the end of this file).
import { MethodInputError, describeValue } from "./errors.js";
import type { LayerName } from "./layers.js";
import { profileEntry, type Profile } from "./profile.js";
import type { GgmlType } from "./types.js";

/**
 * A name in {@link ESTIMATOR_TABLE} (a new estimator adds its name here and its entry there).
 * What each estimator assumes is written on its entry; how far each one's estimates fall from
 * measured mixes is in docs/results.md, §6.
 */
export type EstimatorName = "linear" | "weighted" | "sensitivity" | "measured";

/** Estimated metrics of one mixed model (the plan output's `estimate`). */
export interface Estimate {
  readonly memoryBytes: number;
  readonly latencyMsPerToken: number;
  readonly perplexity: number;
}

/** Criteria in table order: memory, latency, perplexity (accuracy). */
export const CRITERION_COUNT = 3;

/**
 * x_c = constant[c] + Σ_j table[(c·D + j)·(L+1) + b_j] for boundaries
 * 0 ≤ b_0 ≤ … ≤ b_{D−1} ≤ L, D = M − 1. Internal to the search, exported for it.
 */
export interface BoundaryTables {
  readonly estimator: EstimatorName;
  readonly layers: number;
  readonly boundaries: number;
  readonly constant: Float64Array;
  readonly table: Float64Array;
}

/** What an estimator needs: types least → most aggressive, layers most important first. */
export interface EstimatorInput {
  readonly profile: Profile;
  readonly types: readonly GgmlType[];
  readonly ranking: readonly LayerName[];
  readonly estimator: EstimatorName;
  /** mean (1 − cos) of each ranked layer, in ranking order; needed by `sensitivity` */
  readonly sensitivity?: readonly number[];
  /** needed by `measured`: KLD of the reference, and Δ KLD of each ranked layer (ranking order) at each of `types` */
  readonly measured?: { readonly referenceKld: number; readonly delta: readonly (readonly number[])[] };
}

/**
 * The estimator plan() uses when none is named: `measured` when the scores
 * carry a sensitivity table (and the profile `layerBytes`), `sensitivity` when the
 * profile carries `layerBytes` for any of the types (it then needs them for
 * all) and the layers' scores are known, `weighted` with `layerBytes` but a
 * bare ranking, otherwise `linear` — the paper contract has nothing more to
 * be exact with. The order follows the measured errors (docs/results.md, §6).
 *
 * @example
 * defaultEstimator({ types: { q8_0: { memoryBytes: 1, latencyMsPerToken: 1, perplexity: 1 } } }, ["q8_0"], true) // "linear"
 */
export function defaultEstimator(profile: Profile, types: readonly GgmlType[], haveScores: boolean, haveTable = false): EstimatorName {
  if (!types.some((t) => profile.types[t]?.layerBytes !== undefined)) return "linear";
  if (haveTable) return "measured";
  return haveScores ? "sensitivity" : "weighted";
}

/**
 * Builds the boundary tables of an estimator (see the module comment).
 *
 * @example
 * const t = buildBoundaryTables({ profile, types: ["q8_0", "q4_K"], ranking, estimator: "linear" });
 * // memory of the split with b_0 layers of q8_0: t.constant[0] + t.table[b_0]
 */
export function buildBoundaryTables(input: EstimatorInput): BoundaryTables {
  const { profile, types, ranking, estimator } = input;
  const L = ranking.length;
  if (L === 0) throw new MethodInputError("no layers to plan (L = 0)");
  const definition = ESTIMATOR_TABLE[estimator];
  if (definition === undefined) throw new MethodInputError(`estimator must be ${ESTIMATORS.map((e) => `"${e}"`).join(", ")} (got ${describeValue(estimator)})`);
  const metrics = types.map((t) => profileEntry(profile, t));
  const prefixes = definition.prefixes({ ...input, metrics });
  const criteria: readonly PrefixFunction[] = [prefixes.memory, prefixes.latency, prefixes.accuracy];
  const offsets: readonly number[] = [prefixes.memoryOffset ?? 0, 0, prefixes.accuracyOffset ?? 0];
  const M = types.length;
  const D = M - 1;
  const width = L + 1;
  const constant = new Float64Array(CRITERION_COUNT);
  const table = new Float64Array(CRITERION_COUNT * D * width);
  for (let c = 0; c < CRITERION_COUNT; c++) {
    // F_j(r) for every type j; the table is F_j − F_{j+1}, the constant F_{M−1}(L) − F_0(0)
    const F = Array.from({ length: M }, (_, j) => (criteria[c] as PrefixFunction)(j));
    constant[c] = ((F[M - 1] as Float64Array)[L] as number) - ((F[0] as Float64Array)[0] as number) + (offsets[c] as number);
    for (let j = 0; j < D; j++) {
      const a = F[j] as Float64Array;
      const b = F[j + 1] as Float64Array;
      const offset = (c * D + j) * width;
      for (let r = 0; r <= L; r++) table[offset + r] = (a[r] as number) - (b[r] as number);
    }
  }
  return { estimator, layers: L, boundaries: D, constant, table };
}

/**
 * Estimate of one split (counts per type, least aggressive first), with the
 * same tables and arithmetic the search ranks by.
 *
 * @example
 * estimateFromTables(tables, [40, 0, 0, 24, 0]) // { memoryBytes, latencyMsPerToken, perplexity }
 */
export function estimateFromTables(tables: BoundaryTables, counts: ArrayLike<number>): Estimate {
  const { layers: L, boundaries: D, constant, table } = tables;
  const x = [constant[0] as number, constant[1] as number, constant[2] as number];
  let b = 0;
  for (let j = 0; j < D; j++) {
    b += counts[j] as number;
    for (let c = 0; c < CRITERION_COUNT; c++) x[c] = (x[c] as number) + (table[(c * D + j) * (L + 1) + b] as number);
  }
  return { memoryBytes: x[0] as number, latencyMsPerToken: x[1] as number, perplexity: x[2] as number };
}

// Bytes of each ranked layer in the uniform model of `type`; every planned
// layer must be there and nothing else, or the sum would not be the model.
function layerBytes(profile: Profile, type: GgmlType, ranking: readonly LayerName[], estimator: EstimatorName): Float64Array {
  const map = profileEntry(profile, type).layerBytes;
  const what = `profile.types.${type}.layerBytes`;
  if (map === undefined) {
    throw new MethodInputError(`the ${estimator} estimator needs ${what} (or choose the "linear" estimator)`);
  }
  return layerValues(map, what, ranking);
}

// Parameter share of each ranked layer, as a prefix sum normalised to end at
// exactly 1: from profile.layerParams, else from the bytes of the least
// aggressive type (bytes ∝ parameters when a layer's tensors share one type).
function parameterShares({ profile, types, ranking }: EstimatorInput, estimator: EstimatorName): Float64Array {
  const base = types[0] as GgmlType;
  const params =
    profile.layerParams !== undefined
      ? layerValues(profile.layerParams, "profile.layerParams", ranking)
      : layerBytes(profile, base, ranking, estimator);
  return normalisedPrefix(params, `the ${estimator} estimator needs a positive total parameter count (all layers are 0)`);
}

// Sensitivity share of each ranked layer, as a prefix sum normalised to end at 1.
function sensitivityShares(values: readonly number[] | undefined, ranking: readonly LayerName[]): Float64Array {
  if (values === undefined) {
    throw new MethodInputError('the sensitivity estimator needs the layer scores (mean 1 − cos per layer), not only a ranking; give scores, or choose "weighted"');
  }
  if (values.length !== ranking.length) throw new MethodInputError(`sensitivity must have one value per ranked layer (${ranking.length}), got ${values.length}`);
  values.forEach((v, r) => {
    if (!Number.isFinite(v) || v < 0) {
      throw new MethodInputError(`the sensitivity of ${ranking[r]} (mean 1 − cos) must be a finite number ≥ 0 (got ${describeValue(v)})`);
    }
  });
  return normalisedPrefix(values, 'the sensitivity estimator needs some layer with mean 1 − cos > 0 (all are 0); choose "weighted"');
}

// Prefix sums of `values` divided by their total, so they end at exactly 1; `allZero` when the total is not positive.
function normalisedPrefix(values: ArrayLike<number>, allZero: string): Float64Array {
  const L = values.length;
  const cumulative = new Float64Array(L + 1);
  for (let r = 0; r < L; r++) cumulative[r + 1] = (cumulative[r] as number) + (values[r] as number);
  const total = cumulative[L] as number;
  if (!(total > 0)) throw new MethodInputError(allZero);
  for (let r = 0; r <= L; r++) cumulative[r] = (cumulative[r] as number) / total;
  return cumulative;
}

function layerValues(map: Readonly<Partial<Record<LayerName, number>>>, what: string, ranking: readonly LayerName[]): Float64Array {
  const planned = new Set<string>(ranking);
  for (const key of Object.keys(map)) {
    if (!planned.has(key)) {
      throw new MethodInputError(`${what} has ${JSON.stringify(key)}, which is not among the ${ranking.length} layers being planned`);
    }
  }
  return Float64Array.from(ranking, (name) => {
    const v = map[name];
    if (v === undefined) throw new MethodInputError(`${what} has no entry for ${JSON.stringify(name)}`);
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// The estimators. Each one is an entry of ESTIMATOR_TABLE giving, per criterion, its prefix
// function F_j (see the module comment); a new estimator is one more entry.

/**
 * F_j(r) for r = 0..L: the part of a criterion carried by the r most important layers when they
 * all have type j (types least aggressive first).
 */
export type PrefixFunction = (j: number) => Float64Array;

/** One estimator's prefix functions for one input. */
export interface CriterionPrefixes {
  readonly memory: PrefixFunction;
  readonly latency: PrefixFunction;
  readonly accuracy: PrefixFunction;
  /** Memory no layer carries (non-layer tensors, runtime), added to every split; default 0. */
  readonly memoryOffset?: number;
  /** Accuracy no layer carries (the measured reference's KLD), added to every split; default 0. */
  readonly accuracyOffset?: number;
}

/** What an estimator's prefix functions are built from: the input and each type's profile entry. */
export interface PrefixInput extends EstimatorInput {
  /** profile entry of each type, in `types` order */
  readonly metrics: readonly { readonly memoryBytes: number; readonly latencyMsPerToken: number; readonly perplexity: number }[];
}

/** An estimator: a one-line summary (help texts) and its prefix functions. */
export interface Estimator {
  readonly summary: string;
  /** The prefix functions for this input; a MethodInputError when the input lacks what the estimator needs. */
  prefixes(input: PrefixInput): CriterionPrefixes;
}

/**
 * Every estimator by name.
 *
 * @example
 * ESTIMATOR_TABLE.linear.summary // "the paper's: every layer weighs the same"
 */
export const ESTIMATOR_TABLE: Readonly<Record<EstimatorName, Estimator>> = {
  /** The paper's x_kj = Σ_i (z_ki / L)·c_ij: every layer weighs the same. */
  linear: {
    summary: "the paper's: every layer weighs the same",
    prefixes: ({ metrics, ranking }) => {
      const L = ranking.length;
      const even = (value: (j: number) => number): PrefixFunction => (j) => Float64Array.from({ length: L + 1 }, (_, r) => (r / L) * value(j));
      return {
        memory: even((j) => metrics[j]!.memoryBytes),
        latency: even((j) => metrics[j]!.latencyMsPerToken),
        accuracy: even((j) => metrics[j]!.perplexity),
      };
    },
  },
  /**
   * A split alone does not say which layers get which type, but the allocation does (Algorithm 1
   * is deterministic given the ranking), so this prices each split as the model it becomes:
   * - memory = measured memory of the uniform least-aggressive model, minus its layer bytes,
   *   plus the bytes each layer has in the type it receives (profile `layerBytes`). Exact for the
   *   weights when memory is weights plus a constant; non-layer tensors and runtime overhead are
   *   taken from that least-aggressive model (an assumption: what a mix keeps for them is
   *   decided later).
   * - latency and perplexity = Σ_i share_i · c_{type(i)}, share_i the layer's parameter share
   *   (profile `layerParams`, else its bytes in the least aggressive type): decode time follows
   *   the bytes read, and quantization damage the number of weights quantized, rather than the
   *   layer count. A 7B FFN sub-layer has ~2× the weights of an attention one; `linear` counts
   *   them the same.
   */
  weighted: {
    summary: "exact layer bytes, parameter shares",
    prefixes: (input) => {
      const shares = parameterShares(input, "weighted");
      return { ...exactMemory(input, "weighted"), latency: scaled(shares, input, "latencyMsPerToken"), accuracy: scaled(shares, input, "perplexity") };
    },
  },
  /**
   * `weighted` for memory and latency; perplexity = Σ_i s_i · c_{type(i)} with s_i the layer's
   * share of the summed mean (1 − cos) from step 1 (scores.json `meanOneMinusCos`). A sub-layer
   * that changes the hidden state more passes more of its quantization error on to the output,
   * and the allocation gives exactly those layers the least aggressive types, so a mix is more
   * accurate than its share of weights suggests. It needs the scores, not only a ranking.
   */
  sensitivity: {
    summary: "weighted, with accuracy shared by each layer's 1 − cos",
    prefixes: (input) => {
      const shares = parameterShares(input, "sensitivity");
      const sensitive = sensitivityShares(input.sensitivity, input.ranking);
      return { ...exactMemory(input, "sensitivity"), latency: scaled(shares, input, "latencyMsPerToken"), accuracy: scaled(sensitive, input, "perplexity") };
    },
  },
  /**
   * `weighted` for memory and latency; accuracy = KLD(reference) + Σ_i Δ(i, type(i)), the
   * sensitivity table of scores.json (each sub-layer's Δ KLD when it alone takes a type, measured
   * in-process, lib/pipeline/sensitivity.ts): the sum of measured effects rather than a share of
   * the uniform metrics. Its accuracy criterion is therefore the KL divergence from the source
   * model (estimate.perplexity carries it, and --max-perplexity bounds it), whatever the profile's
   * accuracy metric. With a proxy table (quantization error, no KLD) it is that error's sum:
   * TOPSIS's vector normalisation makes its unit irrelevant, but --max-perplexity then bounds it
   * in those units. plan() ranks the layers by their Δ at the most aggressive type for it.
   */
  measured: {
    summary: "weighted, with accuracy = KLD(reference) + Σ measured Δ KLD (scores.json sensitivity)",
    prefixes: (input) => {
      const shares = parameterShares(input, "measured");
      const m = measuredDeltas(input.measured, input.ranking, input.types.length);
      const accuracy: PrefixFunction = (j) => {
        // F_j(r) = Σ of Δ(layer, type j) over the r most important layers
        const out = new Float64Array(input.ranking.length + 1);
        for (let r = 0; r < input.ranking.length; r++) out[r + 1] = (out[r] as number) + (m.delta[r]![j] as number);
        return out;
      };
      return { ...exactMemory(input, "measured"), latency: scaled(shares, input, "latencyMsPerToken"), accuracy, accuracyOffset: m.referenceKld };
    },
  },
};

// The measured table in ranking order, checked: one finite row of M values per ranked layer.
function measuredDeltas(m: EstimatorInput["measured"], ranking: readonly LayerName[], M: number): NonNullable<EstimatorInput["measured"]> {
  if (m === undefined) {
    throw new MethodInputError('the measured estimator needs a measured sensitivity table (scores.json "sensitivity", from `apreqel score --sensitivity measured`); choose another estimator');
  }
  if (!Number.isFinite(m.referenceKld)) throw new MethodInputError(`the measured estimator's reference KLD must be finite (got ${describeValue(m.referenceKld)})`);
  if (m.delta.length !== ranking.length) throw new MethodInputError(`the measured table must have one row per ranked layer (${ranking.length}), got ${m.delta.length}`);
  m.delta.forEach((row, r) => {
    if (row.length !== M || row.some((d) => !Number.isFinite(d))) {
      throw new MethodInputError(`the measured table's row for ${ranking[r]} must hold ${M} finite values (got ${describeValue(row)})`);
    }
  });
  return m;
}

/** Every estimator, for option parsers and messages. */
export const ESTIMATORS = Object.keys(ESTIMATOR_TABLE) as readonly EstimatorName[];

// Memory as measured uniform memory with layer bytes swapped: F_j = bytes of the first r layers in type j.
function exactMemory(input: PrefixInput, estimator: EstimatorName): Pick<CriterionPrefixes, "memory" | "memoryOffset"> {
  const memory: PrefixFunction = (j) => {
    const bytes = layerBytes(input.profile, input.types[j] as GgmlType, input.ranking, estimator);
    const out = new Float64Array(bytes.length + 1);
    for (let r = 0; r < bytes.length; r++) out[r + 1] = (out[r] as number) + (bytes[r] as number);
    return out;
  };
  const first = memory(0);
  return { memory, memoryOffset: input.metrics[0]!.memoryBytes - (first[first.length - 1] as number) };
}

// F_j(r) = share(r) · the metric of type j.
function scaled(shares: Float64Array, input: PrefixInput, metric: "latencyMsPerToken" | "perplexity"): PrefixFunction {
  return (j) => shares.map((share) => share * input.metrics[j]![metric]);
}
