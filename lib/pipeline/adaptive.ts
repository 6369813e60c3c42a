/**
 * The whole method for one model and one set of priorities: uniform files → profile → layer
 * scores → plan → mixed GGUF assembled from the uniform files → the result measured next to
 * the uniform set. Every step before the plan is cached, so a second run with other weights
 * only plans, assembles and measures the new file.
 */
import type { AssembleResult } from "../ops/assemble.js";
import { requireOutputPath } from "../core/files.js";
import { runInputs } from "./output-inputs.js";
import { plan, type Constraints, type PlanResult } from "../method/plan.js";
import type { EstimatorName } from "../method/estimators.js";
import type { GgmlType } from "../method/types.js";
import type { Weights } from "../method/weights.js";
import { toMethodProfile, type ProfileFile } from "./profile-file.js";
import { assembleMix } from "./mixed.js";
import { profileOrGiven, type ProfileOptions } from "./profile.js";
import { scoreLayers, type ScoreOptions } from "./scores.js";
import { DEFAULT_NON_LAYER_TYPE } from "./uniform.js";
import { requireContext, settingsContextUse, type Session } from "./session.js";
import { measureOutcome, type MixOutcome } from "./outcome.js";
import type { LatencyCriterion } from "./latency-criterion.js";

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

export interface AdaptiveResult extends MixOutcome {
  readonly plan: PlanResult;
  /** the profile planned from, its latency the criterion's */
  readonly profile: ProfileFile;
  readonly scores: Awaited<ReturnType<typeof scoreLayers>>["scores"];
  readonly output: AssembleResult;
  readonly nonLayerType: string;
}

export async function quantizeAdaptive(s: Session, o: AdaptiveOptions): Promise<AdaptiveResult> {
  // a bad output path or a context the model does not have fails now, not after minutes of profiling
  requireContext(s, settingsContextUse(o));
  await requireOutputPath(o.output, "output", runInputs(s.model, o));
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
  const outcome = await measureOutcome(s, output.output, { ...o, profile, profiled });
  return { plan: chosen, profile, scores, output, nonLayerType, ...outcome };
}
