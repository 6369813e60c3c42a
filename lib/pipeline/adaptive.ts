/**
 * The whole method for one model and one set of priorities: uniform files → profile → layer
 * scores → plan → mixed GGUF assembled from the uniform files → the result measured next to
 * the uniform set. Every step before the plan is cached, so a second run with other weights
 * only plans, assembles and measures the new file.
 */
import type { AssembleResult } from "../ops/assemble.js";
import { requireOutputPath } from "../core/files.js";
import { plan, type Constraints, type PlanResult } from "../method/plan.js";
import type { EstimatorName } from "../method/estimators.js";
import type { GgmlType } from "../method/types.js";
import type { Weights } from "../method/weights.js";
import { toMethodProfile, type ProfileFile } from "./profile-file.js";
import { measurePublished, type MeasuredModel } from "./measure-file.js";
import { assembleMix } from "./mixed.js";
import { profileOrGiven, uniformMeasurements, type ProfileOptions } from "./profile.js";
import { scoreLayers, type ScoreOptions } from "./scores.js";
import { DEFAULT_NON_LAYER_TYPE } from "./uniform.js";
import type { Session } from "./session.js";
import { publishedSource, type SourceModel } from "./source.js";
import { latencyFor, type LatencyCriterion } from "./latency-criterion.js";

export interface AdaptiveOptions extends Omit<ProfileOptions, "only"> {
  readonly output: string;
  readonly weights: Weights;
  readonly weighting?: string;
  readonly constraints?: Constraints;
  readonly estimator?: EstimatorName;
  readonly score: ScoreOptions;
  /** measure the mixed model too (default true) */
  readonly measureResult?: boolean;
  /** extra profiles to merge before planning (e.g. latency measured on the edge device) */
  readonly profile?: ProfileFile;
  /** the latency the plan optimizes (default decode) */
  readonly latencyCriterion?: LatencyCriterion;
}

export interface AdaptiveResult {
  readonly plan: PlanResult;
  /** the profile planned from, its latency the criterion's */
  readonly profile: ProfileFile;
  readonly scores: Awaited<ReturnType<typeof scoreLayers>>["scores"];
  readonly output: AssembleResult;
  readonly nonLayerType: string;
  /** measurements of the uniform files and of the result (when measured) */
  readonly uniform: Readonly<Partial<Record<GgmlType, MeasuredModel>>>;
  readonly result: MeasuredModel | null;
  /** the source model measured beside them (the report's reference point); null when a given profile was used and the result not measured */
  readonly source: SourceModel | null;
  /** the run was interrupted after the output was published, while measuring it: the output is complete */
  readonly interrupted?: boolean;
}

export async function quantizeAdaptive(s: Session, o: AdaptiveOptions): Promise<AdaptiveResult> {
  // a bad output path fails now, not after minutes of profiling
  await requireOutputPath(o.output, "output", [s.model]);
  const { profile, files, source: profiled } = await profileOrGiven(s, { ...o, source: true });
  const { scores } = await scoreLayers(s, o.score);
  const chosen = plan({
    profile: toMethodProfile(profile, o.types),
    scores,
    weights: o.weights,
    types: o.types,
    ...(o.constraints ? { constraints: o.constraints } : {}),
    ...(o.estimator ? { estimator: o.estimator } : {}),
  });
  const nonLayerType = o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE;
  const output = await assembleMix(s, files, chosen.allocation, o.output, {
    weights: chosen.weights,
    distribution: chosen.distribution,
    nonLayerType,
    ...(o.weighting ? { weighting: o.weighting } : {}),
  });
  const uniform = uniformMeasurements(profile, o.types);
  const measure = o.measureResult ?? true;
  const criterion = o.latencyCriterion ?? "decode";
  const published = await publishedSource(s, profiled, measure, o);
  const source = published.source && { ...published.source, measured: latencyFor(published.source.measured, criterion, "the source model") };
  const measured = measure && !published.interrupted ? await measurePublished(s, output.output, o) : { result: null, interrupted: published.interrupted };
  const result = measured.result && latencyFor(measured.result, criterion, "the result");
  const interrupted = measured.interrupted;
  return { plan: chosen, profile, scores, output, nonLayerType, uniform, result, source, ...(interrupted ? { interrupted } : {}) };
}
