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
import { measureSource, type SourceModel } from "./source.js";

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
}

export interface AdaptiveResult {
  readonly plan: PlanResult;
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
  if (o.profile && o.profile.model.sha256 !== s.sha256) {
    throw new InputError(`the profile measured ${o.profile.model.name} (sha256 ${o.profile.model.sha256.slice(0, 12)}…), not ${s.model}`);
  }
  const measureResult = o.measureResult ?? true;
  const profiled = o.profile ? { profile: o.profile, files: await uniformModels(s, o.types, o), source: undefined } : await profileModel(s, { ...o, source: true });
  const { profile, files } = profiled;
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
  let source: SourceModel | null = profiled.source ?? null;
  if (measureResult) {
    try {
      // with a given profile the source is measured here, like the result
      source ??= await measureSource(s, o);
      result = await measureModel(s, output.output, "result", o);
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
      interrupted = true;
    }
  }
  return { plan: chosen, profile, scores, output, nonLayerType, uniform, result, source, ...(interrupted ? { interrupted } : {}) };
}
