/**
 * `sweep`: the paper's experiment on one model. Plans under every weighting (28 by default),
 * assembles each distinct allocation once, measures every mixed model the same way as the
 * uniform set (and, optionally, llama.cpp's preset mixes as a harder baseline), and reports the
 * hypervolume of the measured points next to that of the estimates.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { hypervolumeReport, type HypervolumeReport } from "../method/hypervolume.js";
import type { Estimate } from "../method/estimators.js";
import { planSweep, type Constraints, type PlanResult } from "../method/plan.js";
import type { Profile } from "../method/profile.js";
import type { ScoresFile } from "../method/scores.js";
import type { EstimatorName } from "../method/estimators.js";
import type { GgmlType } from "../method/types.js";
import { PAPER_WEIGHTINGS, type Weighting } from "../method/weightings.js";
import { quantize } from "../ops/quantize.js";
import { measureModel, type MeasuredModel } from "./measure-file.js";
import { assembleMix } from "./mixed.js";
import { toMethodProfile } from "./profile-file.js";
import { profileModel, type ProfileOptions } from "./profile.js";
import { scoreLayers, type ScoreOptions } from "./scores.js";
import { jobOptions, keyFor, type Session } from "./session.js";
import { DEFAULT_NON_LAYER_TYPE, resolveUniform } from "./uniform.js";

export interface SweepOptions extends Omit<ProfileOptions, "only"> {
  /** folder for the mixed models (created if missing) */
  readonly outDir: string;
  readonly weightings?: readonly Weighting[];
  readonly constraints?: Constraints;
  readonly estimator?: EstimatorName;
  readonly score: ScoreOptions;
  /** llama.cpp presets to measure as a baseline, e.g. ["Q3_K_M", "Q4_K_M", "Q5_K_M"] */
  readonly presets?: readonly string[];
}

export interface SweepModel {
  readonly weighting: Weighting;
  readonly plan: PlanResult;
  readonly file: string;
  readonly measured: MeasuredModel;
}

export interface SweepResult {
  readonly uniform: Readonly<Partial<Record<GgmlType, MeasuredModel>>>;
  /** the files measured: uniform models and presets (in the cache), mixed models (in outDir) */
  readonly files: {
    readonly uniform: Readonly<Partial<Record<GgmlType, string>>>;
    readonly presets: Readonly<Record<string, string>>;
  };
  /** the layer scores the plans ranked by */
  readonly scores: ScoresFile;
  /** the method profile the plans were made from */
  readonly profile: Profile;
  readonly models: readonly SweepModel[];
  readonly presets: Readonly<Record<string, MeasuredModel>>;
  /** hypervolume of the measured points */
  readonly measured: HypervolumeReport;
  /** hypervolume of the method's estimates for the same plans (how far the estimates carry) */
  readonly estimated: HypervolumeReport;
}

export async function sweep(s: Session, o: SweepOptions): Promise<SweepResult> {
  const weightings = o.weightings ?? PAPER_WEIGHTINGS;
  const { profile, files: uniformFiles } = await profileModel(s, o);
  const { scores } = await scoreLayers(s, o.score);
  const methodProfile = toMethodProfile(profile, o.types);
  const plans = planSweep({
    profile: methodProfile,
    scores,
    weightings: weightings.map((w) => w.weights),
    types: o.types,
    ...(o.constraints ? { constraints: o.constraints } : {}),
    ...(o.estimator ? { estimator: o.estimator } : {}),
  });
  await fs.mkdir(o.outDir, { recursive: true });
  const byAllocation = new Map<string, { file: string; measured: MeasuredModel }>();
  const models: SweepModel[] = [];
  for (let i = 0; i < weightings.length; i++) {
    const weighting = weightings[i]!;
    const p = plans[i]!;
    const key = JSON.stringify(p.allocation);
    let done = byAllocation.get(key);
    if (!done) {
      const file = path.join(path.resolve(o.outDir), `${weighting.id}.gguf`);
      await assembleMix(s, uniformFiles, p.allocation, file, {
        weights: p.weights,
        distribution: p.distribution,
        nonLayerType: o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE,
        weighting: weighting.id,
      });
      done = { file, measured: await measureModel(s, file, weighting.id, o) };
      byAllocation.set(key, done);
    }
    models.push({ weighting, plan: p, file: done.file, measured: done.measured });
    s.onStep?.("sweep", (i + 1) / weightings.length);
  }
  const presets: Record<string, MeasuredModel> = {};
  const presetFiles: Record<string, string> = {};
  // the presets get the uniform files' importance matrix (or none), so the baseline is as well made as the mixes
  const { imatrix } = await resolveUniform(s, o);
  for (const preset of o.presets ?? []) {
    const entry = await s.cache.getOrCreate(
      keyFor(s, "uniform", preset, { preset: true, ...(imatrix ? { imatrixSha256: imatrix.sha256 } : {}) }),
      async (dir) => {
        await quantize({
          input: s.model,
          output: path.join(dir, "model.gguf"),
          preset,
          ...(imatrix ? { imatrix: imatrix.path } : {}),
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
          ...jobOptions(s, `quantize ${preset}`),
        });
      },
      { description: `${path.basename(s.model)} quantized with llama.cpp's ${preset} preset${imatrix ? " and the importance matrix" : ""}` },
    );
    presetFiles[preset] = path.join(entry.dir, "model.gguf");
    presets[preset] = await measureModel(s, presetFiles[preset], preset, o);
  }
  const uniform: Partial<Record<GgmlType, MeasuredModel>> = {};
  for (const type of o.types) uniform[type] = profile.types[type] as unknown as MeasuredModel;
  const point = (m: MeasuredModel): Estimate => ({ memoryBytes: m.memoryBytes, latencyMsPerToken: m.latencyMsPerToken!, perplexity: m.perplexity! });
  const uniformPoints = o.types.map((t) => point(uniform[t]!));
  const distinct = [...byAllocation.values()].map((d) => point(d.measured));
  const presetPoints = Object.values(presets).map(point);
  const measured = hypervolumeReport({ uniform: uniformPoints, mixed: distinct, ...(presetPoints.length > 0 ? { baseline: presetPoints } : {}) });
  const estimated = hypervolumeReport({ uniform: uniformPoints, mixed: plans.map((p) => p.estimate) });
  const files = { uniform: Object.fromEntries(o.types.map((t) => [t, uniformFiles.get(t)!])), presets: presetFiles };
  return { uniform, files, scores, profile: methodProfile, models, presets, measured, estimated };
}
