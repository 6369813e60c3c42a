/**
 * `sweep`: the paper's experiment on one model. Plans under every weighting (28 by default) with
 * the paper's method or on the front (`method`), assembles each distinct allocation once,
 * measures every mixed model the same way as the uniform set (and, optionally, llama.cpp's preset
 * mixes as a harder baseline; the mixes and presets in one interleaved latency run), and reports
 * the hypervolume of the measured points next to that of the estimates.
 *
 * The accuracy axis is the one the method planned on: perplexity for the paper's method and for a
 * front built from the profile, KLD for a front built from a measured Δ table (then every file's
 * KLD is measured, uniform files included).
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
import { measureModels, type MeasuredModel } from "./measure-file.js";
import { chooseOnFront, type FrontChoice } from "../method/choose.js";
import type { AccuracyColumn } from "../method/front-limits.js";
import { assembleFrontMix, modelFront } from "./front.js";
import { assembleMix } from "./mixed.js";
import { toMethodProfile } from "./profile-file.js";
import { profileOrGiven, uniformMeasurements, type ProfileOptions } from "./profile.js";
import { scoreLayers, type ScoreOptions } from "./scores.js";
import { jobOptions, keyFor, type Session } from "./session.js";
import { measureSource, type SourceModel } from "./source.js";
import { DEFAULT_NON_LAYER_TYPE, resolveUniform } from "./uniform.js";
import { latencyFor, type LatencyCriterion } from "./latency-criterion.js";
import { DEFAULTS, type MethodName } from "./settings.js";

export interface SweepOptions extends Omit<ProfileOptions, "only"> {
  /** folder for the mixed models (created if missing) */
  readonly outDir: string;
  readonly weightings?: readonly Weighting[];
  readonly constraints?: Constraints;
  readonly estimator?: EstimatorName;
  readonly score: ScoreOptions;
  /** llama.cpp presets to measure as a baseline, e.g. ["Q3_K_M", "Q4_K_M", "Q5_K_M"] */
  readonly presets?: readonly string[];
  /** TOPSIS on the Pareto front (the default, as for `apreqel sweep`: settings.ts DEFAULTS) or the paper's enumeration + Algorithm 1 */
  readonly method?: SweepMethod;
  /** the latency the plans and the hypervolume use (default decode) */
  readonly latencyCriterion?: LatencyCriterion;
}

export type SweepMethod = MethodName;

interface SweepModelCommon {
  readonly weighting: Weighting;
  readonly file: string;
  readonly measured: MeasuredModel;
  /** type per planned unit (sub-layer, or tensor for a front from a per-tensor table) */
  readonly allocation: Readonly<Record<string, GgmlType>>;
  readonly distribution: Readonly<Partial<Record<GgmlType, number>>>;
  /** the method's estimate, its accuracy on the sweep's axis ({@link SweepResult.accuracyMetric}) */
  readonly estimate: Estimate;
}

/** One weighting's mix: the paper's plan, or the front's choice. */
export type SweepModel = SweepModelCommon & ({ readonly method: "paper"; readonly plan: PlanResult } | { readonly method: "front"; readonly choice: FrontChoice });

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
  readonly method: SweepMethod;
  /** the accuracy axis of the estimates and the hypervolume */
  readonly accuracyMetric: AccuracyColumn;
  readonly models: readonly SweepModel[];
  readonly presets: Readonly<Record<string, MeasuredModel>>;
  /** the source model, measured with the uniform set (the report's reference point) */
  readonly source: SourceModel;
  /** hypervolume of the measured points */
  readonly measured: HypervolumeReport;
  /** hypervolume of the method's estimates for the same plans (how far the estimates carry) */
  readonly estimated: HypervolumeReport;
}

/** The file a weighting's mix is written to in the sweep's folder (one per distinct allocation). */
export function sweepModelFile(outDir: string, weighting: Weighting): string {
  return path.join(path.resolve(outDir), `${weighting.id}.gguf`);
}

/**
 * The sweep of `o.weightings` on the session's model. Its measuring settings are given, as
 * `apreqel sweep` resolves them; the same defaults as the command come from settings.ts:
 *
 * @example
 * const settings = await resolveSettings({}, modelFacts(s.info)); // what `apreqel sweep` with no flags uses
 * await sweep(s, { ...settings, ...settings.uniform, outDir: "sweep" });
 */
export async function sweep(s: Session, o: SweepOptions): Promise<SweepResult> {
  const weightings = o.weightings ?? PAPER_WEIGHTINGS;
  const method = o.method ?? DEFAULTS.method;
  const criterion = o.latencyCriterion ?? "decode";
  const { profile, files: uniformFiles, source: measuredSource } = await profileOrGiven(s, { ...o, source: true });
  const { scores } = await scoreLayers(s, o.score);
  const methodProfile = toMethodProfile(profile, o.types);
  const nonLayerType = o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE;
  await fs.mkdir(o.outDir, { recursive: true });
  const fileOf = (w: Weighting) => sweepModelFile(o.outDir, w);
  // one file per distinct allocation, named after the first weighting that chose it
  const byAllocation = new Map<string, string>();
  const planned: Unmeasured<SweepModel>[] = [];
  let accuracyMetric: AccuracyColumn = "perplexity";
  if (method === "paper") {
    const plans = planSweep({
      profile: methodProfile,
      scores,
      weightings: weightings.map((w) => w.weights),
      types: o.types,
      ...(o.constraints ? { constraints: o.constraints } : {}),
      ...(o.estimator ? { estimator: o.estimator } : {}),
    });
    for (const [i, weighting] of weightings.entries()) {
      const p = plans[i]!;
      const key = JSON.stringify(p.allocation);
      let file = byAllocation.get(key);
      if (file === undefined) {
        file = fileOf(weighting);
        await assembleMix(s, uniformFiles, p.allocation, file, { weights: p.weights, distribution: p.distribution, nonLayerType, weighting: weighting.id });
        byAllocation.set(key, file);
      }
      planned.push({ method, weighting, plan: p, file, allocation: p.allocation, distribution: p.distribution, estimate: p.estimate });
      s.onStep?.("sweep", (i + 1) / weightings.length);
    }
  } else {
    const m = await modelFront(s, o);
    accuracyMetric = m.costs.accuracy;
    for (const [i, weighting] of weightings.entries()) {
      const choice = chooseOnFront(m.front, { weights: weighting.weights, ...(o.constraints ? { constraints: o.constraints } : {}) });
      const key = JSON.stringify(choice.assignment);
      let file = byAllocation.get(key);
      if (file === undefined) {
        file = fileOf(weighting);
        await assembleFrontMix(s, m, choice, file, { weighting: weighting.id, nonLayerType });
        byAllocation.set(key, file);
      }
      const e = choice.estimate;
      planned.push({ method, weighting, choice, file, allocation: choice.assignment, distribution: choice.distribution, estimate: { memoryBytes: e.memoryBytes, latencyMsPerToken: e.latencyMsPerToken, perplexity: e.kld } });
      s.onStep?.("sweep", (i + 1) / weightings.length);
    }
  }
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
  }
  // the mixes and the presets measured together: one interleaved latency run over all of them
  const mixFiles = [...byAllocation.values()];
  const toMeasure = [...mixFiles.map((file) => ({ file, label: path.basename(file, ".gguf") })), ...Object.entries(presetFiles).map(([label, file]) => ({ file, label }))];
  const measuredList = (await measureModels(s, toMeasure, o)).map((m, i) => latencyFor(m, criterion, toMeasure[i]!.label));
  const measuredOf = new Map(toMeasure.map((f, i) => [f.file, measuredList[i]!]));
  const models: SweepModel[] = planned.map((p) => ({ ...p, measured: measuredOf.get(p.file)! }) as SweepModel);
  const presets: Record<string, MeasuredModel> = Object.fromEntries(Object.entries(presetFiles).map(([preset, file]) => [preset, measuredOf.get(file)!]));
  const uniform = uniformMeasurements(profile, o.types);
  const point = (m: MeasuredModel, what: string): Estimate => ({ memoryBytes: m.memoryBytes, latencyMsPerToken: m.latencyMsPerToken!, perplexity: accuracyOf(m, accuracyMetric, what) });
  const uniformPoints = o.types.map((t) => point(uniform[t]!, `uniform ${t}`));
  const distinct = mixFiles.map((f) => point(measuredOf.get(f)!, path.basename(f)));
  const presetPoints = Object.entries(presets).map(([name, m]) => point(m, name));
  const measured = hypervolumeReport({ uniform: uniformPoints, mixed: distinct, ...(presetPoints.length > 0 ? { baseline: presetPoints } : {}) });
  const estimated = hypervolumeReport({ uniform: uniformPoints, mixed: planned.map((p) => p.estimate) });
  const files = { uniform: Object.fromEntries(o.types.map((t) => [t, uniformFiles.get(t)!])), presets: presetFiles };
  // the source: from the profiling run, or (a given profile) measured here like the mixes
  const raw = measuredSource ?? (await measureSource(s, o));
  const source = { ...raw, measured: latencyFor(raw.measured, criterion, "the source model") };
  return { uniform, files, scores, profile: methodProfile, method, accuracyMetric, models, presets, source, measured, estimated };
}

/** A union member by member without its measurement (Omit alone would merge the members). */
type Unmeasured<T> = T extends unknown ? Omit<T, "measured"> : never;

/** A measured model's value on the accuracy axis; KLD must have been measured when it is the axis. */
function accuracyOf(m: MeasuredModel, metric: AccuracyColumn, what: string): number {
  if (metric === "perplexity") return m.perplexity!;
  if (m.kld === undefined) throw new Error(`${what} has no KLD measurement, but the front planned on KLD (measure with kld: true)`);
  return m.kld.mean;
}
