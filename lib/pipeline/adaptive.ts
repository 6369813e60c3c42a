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
import { canonicalJson } from "../core/json.js";
import { DEFAULT_NON_LAYER_TYPE, quantizationSettings, resolveUniform, uniformModels } from "./uniform.js";
import type { Session } from "./session.js";

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
  /** the run was interrupted after the output was published, while measuring it: the output is complete */
  readonly interrupted?: boolean;
}

export async function quantizeAdaptive(s: Session, o: AdaptiveOptions): Promise<AdaptiveResult> {
  // a bad output path fails now, not after minutes of profiling
  await requireOutputPath(o.output, "output", [s.model]);
  if (o.profile && o.profile.model.sha256 !== s.sha256) {
    throw new InputError(`the profile measured ${o.profile.model.name} (sha256 ${o.profile.model.sha256.slice(0, 12)}…), not ${s.model}`);
  }
  const { profile, files } = o.profile ? { profile: o.profile, files: await givenProfileFiles(s, o.profile, o) } : await profileModel(s, o);
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
      result = await measureModel(s, output.output, "result", o);
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
      interrupted = true;
    }
  }
  return { plan: chosen, profile, scores, output, nonLayerType, uniform, result, ...(interrupted ? { interrupted } : {}) };
}

/**
 * The uniform files of a run planned from a given profile: they must be the files the profile
 * measured (same non-layer type, same importance matrix), or the plan would rest on other models.
 */
async function givenProfileFiles(s: Session, profile: ProfileFile, o: AdaptiveOptions): Promise<Map<GgmlType, string>> {
  const uniform = await resolveUniform(s, o);
  const ours = quantizationSettings(uniform);
  if (profile.quantization !== undefined && canonicalJson(profile.quantization) !== canonicalJson(ours)) {
    throw new InputError(
      `the profile measured uniform files quantized with ${canonicalJson(profile.quantization)}, this run's are ${canonicalJson(ours)}: ` +
        "give the same --calibration, --imatrix or --no-imatrix and --non-layer-type as the profile was made with",
    );
  }
  return uniformModels(s, o.types, uniform);
}
