// Choosing one mix on the front: the user's limits first, then TOPSIS under
// their weights over the front points that meet them, with the paper's
// normalisation (vector normalisation over the candidates, ideal and
// anti-ideal their column extremes; topsis.ts). Criteria: memory (bytes, the
// file plus the table's runtime bytes), latency (ms/token), accuracy (KLD).
//
// Limits:
// - maxMemoryBytes, maxLatencyMs, maxKld: upper bounds on the estimates.
// - maxPerplexity: only with a table that carries perplexity (cost-table.ts
//   says why KLD is never turned into perplexity).
// - targetSizeBytes (file bytes) and targetBpw (bits per weight over the
//   units), as llama.cpp PR #15550's `--target-bpw` users expect: never
//   exceeded. With a target, weights { memory: 0, latency: 0, accuracy: 1 }
//   give that PR's meaning, the most accurate mix within the target.
// Sizes are exact for the table's bytes, so a target is never exceeded by the
// file llama-quantize writes from the recipe when the table's bytes are the
// tensors' exact sizes and fixed.bytes covers everything else.
import { InfeasibleConstraintsError, MethodInputError, describeValue, expectObject, expectPositiveNumber, type ConstraintName } from "./errors.js";
import { mixAssignment, mixDistribution, type MixEstimate } from "./cost-table.js";
import type { Front, FrontPoint } from "./front.js";
import { topsis } from "./topsis.js";
import type { GgmlType } from "./types.js";
import { validateWeights, type Weights } from "./weights.js";

/** Limits a front choice honours, all upper bounds. */
export interface FrontConstraints {
  readonly maxMemoryBytes?: number;
  readonly maxLatencyMs?: number;
  readonly maxKld?: number;
  readonly maxPerplexity?: number;
  readonly targetSizeBytes?: number;
  readonly targetBpw?: number;
}

/** Options of {@link chooseOnFront}. */
export interface FrontChoiceOptions {
  readonly weights: Weights;
  readonly constraints?: FrontConstraints;
}

/** The chosen mix. */
export interface FrontChoice {
  readonly weights: Weights;
  readonly point: FrontPoint;
  readonly estimate: MixEstimate;
  /** TOPSIS closeness among the candidates, in [0, 1]. */
  readonly score: number;
  /** Front points meeting the constraints (those ranked). */
  readonly candidates: number;
  /** Type per unit name. */
  readonly assignment: Readonly<Record<string, GgmlType>>;
  /** Units per type, least aggressive first. */
  readonly distribution: Readonly<Partial<Record<GgmlType, number>>>;
}

type FrontConstraintName = Extract<ConstraintName, keyof FrontConstraints>;

const LIMITS: readonly { readonly name: FrontConstraintName; readonly metric: keyof MixEstimate }[] = [
  { name: "maxMemoryBytes", metric: "memoryBytes" },
  { name: "maxLatencyMs", metric: "latencyMsPerToken" },
  { name: "maxKld", metric: "kld" },
  { name: "maxPerplexity", metric: "perplexity" },
  { name: "targetSizeBytes", metric: "sizeBytes" },
  { name: "targetBpw", metric: "bitsPerWeight" },
];

/**
 * The front point TOPSIS ranks first under `weights` among those meeting the
 * constraints. Equal scores go to the smaller mix (front order). Throws
 * InfeasibleConstraintsError naming the limits no front point meets (or that
 * only their combination fails) and the closest point.
 *
 * @example
 * const front = paretoFront(table);
 * chooseOnFront(front, { weights: { memory: 0, latency: 0, accuracy: 1 }, constraints: { targetSizeBytes: 4.2e9 } }).estimate.sizeBytes // ≤ 4.2e9
 */
export function chooseOnFront(front: Front, options: FrontChoiceOptions): FrontChoice {
  const opts = expectObject(options, "options");
  const weights = validateWeights(opts["weights"] as Weights);
  const limits = resolveConstraints(opts["constraints"], front.table.nll !== null);
  const points = front.points;
  if (points.length === 0) throw new MethodInputError("the front has no points");
  const meets = (p: FrontPoint): boolean => limits.every(({ metric, limit }) => (p.estimate[metric] as number) <= limit);
  const kept = points.filter(meets);
  if (kept.length === 0) throw infeasible(front, limits);
  const rows = kept.map((p) => [p.estimate.memoryBytes, p.estimate.latencyMsPerToken, p.estimate.kld]);
  const ranked = topsis(rows, [weights.memory, weights.latency, weights.accuracy]);
  const best = ranked.order[0] as number;
  const point = kept[best] as FrontPoint;
  return {
    weights,
    point,
    estimate: point.estimate,
    score: ranked.scores[best] as number,
    candidates: kept.length,
    assignment: mixAssignment(front.table, point.mix),
    distribution: mixDistribution(front.table, point.mix),
  };
}

interface ActiveLimit {
  readonly name: FrontConstraintName;
  readonly metric: keyof MixEstimate;
  readonly limit: number;
}

function resolveConstraints(value: unknown, withPerplexity: boolean): ActiveLimit[] {
  if (value === undefined) return [];
  const given = expectObject(value, "constraints");
  const names = LIMITS.map((l) => l.name as string);
  for (const key of Object.keys(given)) {
    if (!names.includes(key)) throw new MethodInputError(`unknown constraint ${JSON.stringify(key)} (expected ${names.join(", ")})`);
  }
  const out: ActiveLimit[] = [];
  for (const { name, metric } of LIMITS) {
    if (given[name] === undefined) continue;
    const limit = expectPositiveNumber(given[name], `constraints.${name}`);
    if (name === "maxPerplexity" && !withPerplexity) {
      throw new MethodInputError(
        "constraints.maxPerplexity needs a table that carries perplexity (fixed.perplexity and nll on every cost); KLD is not converted to perplexity",
      );
    }
    out.push({ name, metric, limit });
  }
  return out;
}

// Which limits no front point meets on its own (with the lowest value any
// reaches), or that only their combination fails, and the point with the
// smallest worst relative violation (ties: the smaller mix).
function infeasible(front: Front, limits: readonly ActiveLimit[]): InfeasibleConstraintsError {
  const value = (p: FrontPoint, l: ActiveLimit): number => p.estimate[l.metric] as number;
  const lowest = limits.map((l) => Math.min(...front.points.map((p) => value(p, l))));
  const unmet = limits.filter((l, i) => (lowest[i] as number) > l.limit);
  const reason =
    unmet.length > 0
      ? unmet
          .map((l) => `${l.name} = ${describeValue(l.limit)} cannot be met (the lowest ${l.metric} on the front is ${describeValue(lowest[limits.indexOf(l)])})`)
          .join("; ")
      : `${limits.map((l) => `${l.name} = ${describeValue(l.limit)}`).join(" and ")} cannot be met together (each alone can)`;
  let closest = front.points[0] as FrontPoint;
  let closestViolation = Infinity;
  for (const p of front.points) {
    const v = Math.max(...limits.map((l) => (value(p, l) - l.limit) / l.limit));
    if (v < closestViolation) {
      closestViolation = v;
      closest = p;
    }
  }
  const distribution = mixDistribution(front.table, closest.mix);
  const split = front.table.types.map((t) => `${t} ${distribution[t]}`).join(", ");
  const metrics = limits
    .map((l) => {
      const x = value(closest, l);
      const over = x > l.limit ? ` (${describeValue(Number((((x - l.limit) / l.limit) * 100).toPrecision(3)))}% over ${l.name})` : "";
      return `${l.metric} ${describeValue(x)}${over}`;
    })
    .join(", ");
  return new InfeasibleConstraintsError(
    `no mix on the front meets the constraints: ${reason}; the closest is {${split}} with ${metrics}`,
    unmet.map((l) => l.name),
    { distribution, estimate: closest.estimate, assignment: mixAssignment(front.table, closest.mix) },
  );
}
