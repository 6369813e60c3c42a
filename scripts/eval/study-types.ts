/** The records the study writes (study.ts) and renders (study-doc.ts). */
import type { Allocation, EstimatorName, GgmlType, LatencySettings, LayerName, PlanResult, Profile, ScoresFile, Weighting } from "../../lib/all.js";

/**
 * The estimators the study compares: those that plan from the paper's cosine scores. `measured` needs a probed
 * Δ table (issue 14), which the study's scores do not carry; the front's own evaluation is
 * the study's front stage (study-front.ts, section 9 of docs/results.md).
 */
export const STUDY_ESTIMATORS: readonly EstimatorName[] = ["linear", "weighted", "sensitivity"];

export interface LatencySample {
  readonly msPerToken: number;
  readonly sd: number;
  readonly promptTokensPerSecond: number | null;
  readonly loadAverage?: number;
}

export interface ModelRecord {
  readonly key: string;
  label: string;
  readonly kind: "reference" | "uniform" | "preset" | "mixed" | "ablation";
  readonly file: string;
  readonly memoryBytes: number;
  readonly layerBytes: number;
  readonly layerParams: number;
  /** bits per weight of the planned layers (norms included) */
  readonly bpw: number;
  /** types of the tensors outside the blocks */
  readonly nonLayer: Readonly<Record<string, string>>;
  /** parameters per layer tensor type (presets mix types within a layer) */
  readonly layerTypes: Readonly<Record<string, number>>;
  latency: LatencySample[];
  perplexity?: number;
  perplexityStderr?: number;
  evalTokens?: number;
  kld?: { readonly mean: number; readonly stderr: number; readonly sameTopPercent: number };
  allocation?: Allocation;
  distribution?: Readonly<Partial<Record<GgmlType, number>>>;
}

export interface VariantRun {
  readonly name: "perplexity" | "kld";
  readonly weightings: readonly Weighting[];
  readonly plans: readonly PlanResult[];
  /** record key per weighting */
  readonly models: readonly string[];
  /** the method profile the plans came from (accuracy = perplexity or KLD mean) */
  readonly profile: Profile;
  /** the estimator the plans used (apreqel's default for this profile and scores) */
  readonly estimator: EstimatorName;
  /** per estimator: how many of its 28 plans choose another distribution than the plans' estimator */
  readonly differs: Readonly<Record<EstimatorName, number>>;
  readonly estimates: Readonly<Record<string, Record<EstimatorName, { memoryBytes: number; latencyMsPerToken: number; perplexity: number }>>>;
}

export interface DebianResult {
  readonly model: { readonly f32: string; readonly f16: string; readonly sha256: string; readonly blocks: number; readonly layers: number; readonly parameters: number };
  readonly calibration: { readonly paragraphs: number; readonly tokens: number };
  readonly evalTokens: number;
  readonly uniform: Readonly<Record<string, string>>;
  readonly reference: string;
  readonly presets: Readonly<Record<string, string>>;
  /** the same presets with q8_0 token embeddings and output head, like every apreqel file */
  readonly presetsQ8: Readonly<Record<string, string>>;
  readonly variants: readonly VariantRun[];
  readonly scores: ScoresFile;
  readonly ranking: readonly LayerName[];
  readonly ablation: readonly { distribution: Readonly<Partial<Record<GgmlType, number>>>; from: string; rows: { ranking: string; key: string }[] }[];
  readonly latencySettings: LatencySettings;
}

export interface RealisticResult {
  readonly id: string;
  readonly description: string;
  readonly shape: Readonly<Record<string, number>>;
  readonly parameters: number;
  readonly layerParameters: number;
  readonly f16: string;
  readonly uniform: Readonly<Record<string, string>>;
  readonly sweep?: { readonly variant: VariantRun; readonly calibrationTokens: number };
  readonly seconds: number;
}
