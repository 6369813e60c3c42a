/** The report's input: plain data, so `sweep`, `quantize --report` and scripts can all build one. */
import type { Allocation } from "../method/allocate.js";
import type { Estimate } from "../method/estimators.js";
import type { WeightingCategory } from "../method/weightings.js";

/** The spread of a measurement, drawn as error bars and printed by core/format.ts (absent for estimates). */
export interface Spread {
  /** the distribution-free interval of the median latency, ms/token (the interleaved protocol's) */
  readonly latencyInterval?: { readonly low: number; readonly high: number };
  /** sd of the latency over repetitions, ms/token: drawn only where no interval was measured (older profiles) */
  readonly latencyMsPerTokenSd?: number;
  /** stderr of the perplexity */
  readonly perplexityStderr?: number;
  /** mean KL divergence from the source model (measured, or a front's estimate); absent where not known */
  readonly kld?: number;
  /** stderr of the measured KLD */
  readonly kldStderr?: number;
}

/** A model uniformly quantized to one type. */
export interface UniformPoint extends Estimate, Spread {
  readonly type: string;
}

/** A mixed model chosen by the method under one weighting. */
export interface MixedPoint extends Estimate, Spread {
  /** The weighting's id, e.g. "latency-0.8" or "custom". */
  readonly id: string;
  readonly category: WeightingCategory | "custom";
}

/** A llama.cpp preset mix (e.g. Q4_K_M), for comparison. */
export interface PresetPoint extends Estimate, Spread {
  readonly preset: string;
}

/** One allocation to draw in the type map: type per unit (sub-layer, or tensor at tensor granularity). */
export interface LabelledAllocation {
  readonly label: string;
  readonly allocation: Allocation | Readonly<Record<string, string>>;
}

/** Everything a report shows. `measured` says whether the points are measurements or estimates. */
export interface ReportInput {
  readonly title: string;
  /** Free lines under the title (model, hardware, settings, caveats such as the built-in eval text). */
  readonly notes?: readonly string[];
  readonly measured: boolean;
  /**
   * The accuracy the plan ran on (default perplexity). With "kld" the charts' accuracy axis is KLD
   * from the source (log), the plan's estimate is drawn on it, and perplexity follows as a second view.
   */
  readonly accuracy?: "perplexity" | "kld";
  readonly uniform: readonly UniformPoint[];
  readonly mixed: readonly MixedPoint[];
  readonly presets?: readonly PresetPoint[];
  readonly allocations?: readonly LabelledAllocation[];
  /** Reference points drawn and labelled as such: the plan's estimate for the chosen mix. */
  readonly references?: readonly (Estimate & Spread & { readonly label: string })[];
  /** The source model (F16/F32/BF16), the reference KLD is measured from: drawn and labelled, never on a front. */
  readonly source?: Estimate & Spread & { readonly label: string };
}
