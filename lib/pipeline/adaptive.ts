/**
 * The whole method for one model and one set of priorities: uniform files → profile → layer
 * scores → plan → mixed GGUF assembled from the uniform files → the result measured next to
 * the uniform set. Every step before the plan is cached, so a second run with other weights
 * only plans, assembles and measures the new file.
 */
import type { AssembleResult } from "../ops/assemble.js";
import { InputError } from "../core/errors.js";
import { requireOutputPath } from "../core/files.js";
import { plan, type Constraints, type PlanResult } from "../method/plan.js";
import type { EstimatorName } from "../method/estimators.js";
import type { GgmlType } from "../method/types.js";
import type { Weights } from "../method/weights.js";
import { toMethodProfile, type ProfileFile } from "./profile-file.js";
import { measureModel, type MeasuredModel } from "./measure-file.js";
import { assembleMix } from "./mixed.js";
import { profileModel, type ProfileOptions } from "./profile.js";
import { scoreLayers, type ScoreOptions } from "./scores.js";
import { DEFAULT_NON_LAYER_TYPE, uniformModels } from "./uniform.js";
import type { Session } from "./session.js";
import { latencyFor, profileForCriterion, type LatencyCriterion } from "./latency-criterion.js";

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
  /** the run was interrupted after the output was published, while measuring it: the output is complete */
  readonly interrupted?: boolean;
}

export async function quantizeAdaptive(s: Session, o: AdaptiveOptions): Promise<AdaptiveResult> {
  // a bad output path fails now, not after minutes of profiling
  await requireOutputPath(o.output, "output", [s.model]);
  if (o.profile && o.profile.model.sha256 !== s.sha256) {
    throw new InputError(`the profile measured ${o.profile.model.name} (sha256 ${o.profile.model.sha256.slice(0, 12)}…), not ${s.model}`);
  }
  const criterion = o.latencyCriterion ?? "decode";
  // a given profile without the criterion's latency fails now, before any quantization
  const given = o.profile ? profileForCriterion(o.profile, criterion) : undefined;
  const measured = given ? { profile: given, files: await uniformModels(s, o.types, o) } : await profileModel(s, o);
  const { files } = measured;
  const profile = given ?? profileForCriterion(measured.profile, criterion);
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
  const uniform: Partial<Record<GgmlType, MeasuredModel>> = {};
  for (const type of o.types) {
    const t = profile.types[type];
    if (t) uniform[type] = t as unknown as MeasuredModel;
  }
  // the output is published: an interrupt from here on stops the measurement, not the run's success
  let result: MeasuredModel | null = null;
  let interrupted = false;
  if (o.measureResult ?? true) {
    try {
      result = latencyFor(await measureModel(s, output.output, "result", o), criterion, "the result");
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
      interrupted = true;
    }
  }
  return { plan: chosen, profile, scores, output, nonLayerType, uniform, result, ...(interrupted ? { interrupted } : {}) };
}
