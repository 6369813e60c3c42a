// Steps 3 and 4 together: find the best split of the layers among the types
// under the user's priorities, then allocate it. plan() validates everything
// up front, so the search itself only does arithmetic.
import {
  InfeasibleConstraintsError,
  MethodInputError,
  describeValue,
  expectObject,
  expectPositiveNumber,
  type ConstraintName,
} from "./errors.js";
import { allocate, type Allocation } from "./allocate.js";
import { countDistributions } from "./distributions.js";
import { buildBoundaryTables, defaultEstimator, ESTIMATORS, type Estimate, type EstimatorName } from "./estimators.js";
import { parseLayerNames, type LayerName } from "./layers.js";
import { parseProfile, profileEntry, type Profile } from "./profile.js";
import { rankLayers, type ScoresFile } from "./scores.js";
import { parseScores } from "./scores-file.js";
import { groupSensitivity, type SensitivityTable } from "./sensitivity.js";
import { searchBest, type Found, type Limits } from "./search.js";
import { DEFAULT_TYPES, orderTypes, type GgmlType } from "./types.js";
import { validateWeights, type Weights } from "./weights.js";

/** Upper bounds that drop candidates before ranking. */
export interface Constraints {
  readonly maxMemoryBytes?: number;
  readonly maxLatencyMs?: number;
  readonly maxPerplexity?: number;
}

/** Where the importance ranking comes from: scores.json, or a ranking already made (most important first). */
export type LayerImportance =
  | { readonly scores: ScoresFile; readonly ranking?: undefined }
  | { readonly ranking: readonly LayerName[]; readonly scores?: undefined };

/** Everything plan() and planSweep() share. */
export type PlanInput = LayerImportance & {
  readonly profile: Profile;
  /** Candidate types, any order; defaults to {@link DEFAULT_TYPES}. */
  readonly types?: readonly GgmlType[];
  /** Defaults to `sensitivity` when the profile has `layerBytes` and scores are given, `weighted` with a bare ranking, else `linear`. */
  readonly estimator?: EstimatorName;
  readonly constraints?: Constraints;
};

/** Options of {@link plan}. */
export type PlanOptions = PlanInput & { readonly weights: Weights };

/** Options of {@link planSweep}. */
export type SweepOptions = PlanInput & { readonly weightings: readonly Weights[] };

/** The `apreqel plan --json` contract, plus `estimator` and `enumerated`. */
export interface PlanResult {
  readonly weights: Weights;
  readonly estimator: EstimatorName;
  /** Candidates ranked by TOPSIS, i.e. those meeting the constraints. */
  readonly candidates: number;
  /** All splits enumerated, C(L+M−1, M−1). */
  readonly enumerated: number;
  /** Layers per type, every candidate type listed, least aggressive first. */
  readonly distribution: Readonly<Partial<Record<GgmlType, number>>>;
  readonly estimate: Estimate;
  /** TOPSIS closeness of the chosen split, in [0, 1]. */
  readonly score: number;
  readonly allocation: Allocation;
}

const CONSTRAINTS: readonly ConstraintName[] = ["maxMemoryBytes", "maxLatencyMs", "maxPerplexity"];
const METRICS = ["memoryBytes", "latencyMsPerToken", "perplexity"] as const;

/**
 * Best split of the layers among the types under `weights` (memory, latency,
 * accuracy), ranked with TOPSIS over every split that meets the constraints,
 * and its allocation. Ties: see search.ts (higher score, then lower memory,
 * latency, perplexity, then the most conservative split).
 *
 * @example
 * const result = plan({ profile, scores, weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } });
 * result.distribution // { q8_0: 0, q6_K: 12, q5_K: 0, q4_K: 40, q3_K: 12 }
 * result.allocation["blk.0.attn"] // "q6_K"
 */
export function plan(options: PlanOptions): PlanResult {
  const results = planSweep({ ...options, weightings: [options.weights] });
  return results[0] as PlanResult;
}

/**
 * plan() for several weightings at once, sharing the enumeration: the
 * TOPSIS normalisation and extremes do not depend on the weights, so one
 * first pass serves all and the second pass scores each split under every
 * weighting. Results in the order of `weightings`.
 *
 * @example
 * planSweep({ profile, scores, weightings: PAPER_WEIGHTINGS.map((w) => w.weights) }).length // 28
 */
export function planSweep(options: SweepOptions): PlanResult[] {
  const profile = parseProfile(options.profile);
  const importance = resolveImportance(options);
  const { sensitivity } = importance;
  const types = orderTypes(options.types ?? DEFAULT_TYPES);
  for (const type of types) profileEntry(profile, type);
  const table = options.scores !== undefined ? parseScores(options.scores).sensitivity : undefined;
  const estimator = resolveEstimator(options.estimator, profile, types, sensitivity !== undefined, table !== undefined);
  const measured = estimator === "measured" ? measuredImportance(table, importance.ranking, types) : undefined;
  const ranking = measured?.ranking ?? importance.ranking;
  const limits = resolveLimits(options.constraints);
  if (!Array.isArray(options.weightings) || options.weightings.length === 0) {
    throw new MethodInputError("weightings must list at least one weighting (got none)");
  }
  const weightings = options.weightings.map(validateWeights);
  countDistributions(ranking.length, types.length);

  const tables = buildBoundaryTables({
    profile,
    types,
    ranking,
    estimator,
    ...(sensitivity ? { sensitivity } : {}),
    ...(measured ? { measured: measured.measured } : {}),
  });
  const outcome = searchBest(
    tables,
    weightings.map((w) => [w.memory, w.latency, w.accuracy] as const),
    limits,
  );
  if (outcome.kind === "infeasible") throw infeasible(outcome.lowest, outcome.closest, limits, types);
  return outcome.best.map((best, k) => {
    const distribution = toDistribution(best, types);
    return {
      weights: weightings[k] as Weights,
      estimator,
      candidates: outcome.kept,
      enumerated: outcome.enumerated,
      distribution,
      estimate: best.estimate,
      score: best.score,
      allocation: allocate(ranking, distribution),
    };
  });
}

// The ranking, and with scores each ranked layer's mean (1 − cos) for the sensitivity estimator.
function resolveImportance(options: LayerImportance): { ranking: LayerName[]; sensitivity?: number[] } {
  if (options.scores !== undefined && options.ranking !== undefined) {
    throw new MethodInputError("give either scores or ranking, not both");
  }
  if (options.scores !== undefined) {
    const layers = parseScores(options.scores).layers;
    const ranking = rankLayers(layers);
    const byName = new Map(layers.map((l) => [l.name, l.meanOneMinusCos]));
    return { ranking, sensitivity: ranking.map((name) => byName.get(name) as number) };
  }
  if (!Array.isArray(options.ranking)) {
    throw new MethodInputError(`ranking must be an array of layer names (got ${describeValue(options.ranking)})`);
  }
  const ranking = parseLayerNames(options.ranking, "ranking");
  if (ranking.length === 0) throw new MethodInputError("no layers to plan (L = 0)");
  return { ranking };
}

// With a measured table, layers rank by the Δ KLD they cause at the most aggressive candidate type
// (largest first, so Algorithm 1 keeps them least aggressive); ties keep the cosine ranking. A
// tensor-level table is summed per sub-layer (additivity); units outside the blocks stay at the
// non-layer type, as in the reference, so they add nothing.
function measuredImportance(
  table: SensitivityTable | undefined,
  cosineRanking: readonly LayerName[],
  types: readonly GgmlType[],
): { ranking: LayerName[]; measured: { referenceKld: number; delta: number[][] } } {
  if (table === undefined) {
    throw new MethodInputError('the measured estimator needs scores with a measured sensitivity table (scores.json "sensitivity", from `apreqel score --sensitivity measured`)');
  }
  const bySubLayer = table.granularity === "sublayer" ? table : groupSensitivity(table, (unit) => /^blk\.\d+\./.test(unit) ? unit.replace(/^(blk\.\d+)\.(attn|ffn).*$/, (_, b: string, k: string) => `${b}.${k}`) : null);
  const column = types.map((t) => {
    const j = bySubLayer.types.indexOf(t);
    if (j < 0) throw new MethodInputError(`the sensitivity table has no ${t} column (it measured ${bySubLayer.types.join(", ")}); measure it with the plan's types`);
    return j;
  });
  const rows = new Map(bySubLayer.units.map((u, i) => [u, column.map((j) => bySubLayer.delta[i]![j]!)]));
  for (const layer of cosineRanking) {
    if (!rows.has(layer)) throw new MethodInputError(`the sensitivity table has no entry for ${layer}`);
  }
  const position = new Map(cosineRanking.map((l, i) => [l, i]));
  const last = types.length - 1;
  const ranking = [...cosineRanking].sort((a, b) => rows.get(b)![last]! - rows.get(a)![last]! || position.get(a)! - position.get(b)!);
  return { ranking, measured: { referenceKld: table.referenceKld, delta: ranking.map((l) => rows.get(l)!) } };
}

function resolveEstimator(requested: unknown, profile: Profile, types: readonly GgmlType[], haveScores: boolean, haveTable: boolean): EstimatorName {
  if (requested === undefined) return defaultEstimator(profile, types, haveScores, haveTable);
  if (!(ESTIMATORS as readonly unknown[]).includes(requested)) {
    throw new MethodInputError(`estimator must be ${ESTIMATORS.map((e) => `"${e}"`).join(", ")} (got ${describeValue(requested)})`);
  }
  return requested as EstimatorName;
}

function resolveLimits(constraints: Constraints | undefined): Limits {
  if (constraints === undefined) return [Infinity, Infinity, Infinity];
  const given = expectObject(constraints, "constraints");
  for (const key of Object.keys(given)) {
    if (!(CONSTRAINTS as readonly string[]).includes(key)) {
      throw new MethodInputError(`unknown constraint ${JSON.stringify(key)} (expected ${CONSTRAINTS.join(", ")})`);
    }
  }
  const limit = (name: ConstraintName): number =>
    given[name] === undefined ? Infinity : expectPositiveNumber(given[name], `constraints.${name}`);
  return [limit("maxMemoryBytes"), limit("maxLatencyMs"), limit("maxPerplexity")];
}

function toDistribution(found: Found, types: readonly GgmlType[]): Partial<Record<GgmlType, number>> {
  const distribution: Partial<Record<GgmlType, number>> = {};
  types.forEach((type, j) => (distribution[type] = found.counts[j] as number));
  return distribution;
}

// Says which limits are out of reach on their own (with the lowest estimate
// any split reaches), or that only their combination is, and describes the
// split that comes closest.
function infeasible(lowest: Estimate, closest: Found, limits: Limits, types: readonly GgmlType[]): InfeasibleConstraintsError {
  const active = CONSTRAINTS.filter((_, c) => limits[c] !== Infinity);
  const unmet = active.filter((name) => {
    const c = CONSTRAINTS.indexOf(name);
    return lowest[METRICS[c] as (typeof METRICS)[number]] > (limits[c] as number);
  });
  const reason =
    unmet.length > 0
      ? unmet
          .map((name) => {
            const c = CONSTRAINTS.indexOf(name);
            const metric = METRICS[c] as (typeof METRICS)[number];
            return `${name} = ${describeValue(limits[c])} cannot be met (the lowest estimated ${metric} is ${describeValue(lowest[metric])})`;
          })
          .join("; ")
      : `${active.map((name) => `${name} = ${describeValue(limits[CONSTRAINTS.indexOf(name)])}`).join(" and ")} cannot be met together (each alone can)`;
  const distribution = toDistribution(closest, types);
  const split = types.map((t) => `${t} ${distribution[t]}`).join(", ");
  const metrics = METRICS.map((metric, c) => {
    const value = closest.estimate[metric];
    const limit = limits[c] as number;
    const over = limit !== Infinity && value > limit ? ` (${describeValue(Number((((value - limit) / limit) * 100).toPrecision(3)))}% over ${CONSTRAINTS[c]})` : "";
    return `${metric} ${describeValue(value)}${over}`;
  }).join(", ");
  return new InfeasibleConstraintsError(
    `no distribution meets the constraints: ${reason}; the closest is {${split}} with ${metrics}`,
    unmet,
    { distribution, estimate: closest.estimate },
  );
}
