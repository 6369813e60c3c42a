/** The report's input: plain data, so `sweep`, `quantize --report` and scripts can all build one. */
import type { Allocation } from "../method/allocate.js";
import type { Estimate } from "../method/estimators.js";
import type { WeightingCategory } from "../method/weightings.js";

/** A model uniformly quantized to one type. */
export interface UniformPoint extends Estimate {
  readonly type: string;
}

/** A mixed model chosen by the method under one weighting. */
export interface MixedPoint extends Estimate {
  /** The weighting's id, e.g. "latency-0.8" or "custom". */
  readonly id: string;
  readonly category: WeightingCategory | "custom";
}

/** A llama.cpp preset mix (e.g. Q4_K_M), for comparison. */
export interface PresetPoint extends Estimate {
  readonly preset: string;
}

/** One allocation to draw in the per-layer type map. */
export interface LabelledAllocation {
  readonly label: string;
  readonly allocation: Allocation;
}

/** Everything a report shows. `measured` says whether the points are measurements or estimates. */
export interface ReportInput {
  readonly title: string;
  /** Free lines under the title (model, hardware, settings, caveats such as the built-in eval text). */
  readonly notes?: readonly string[];
  readonly measured: boolean;
  readonly uniform: readonly UniformPoint[];
  readonly mixed: readonly MixedPoint[];
  readonly presets?: readonly PresetPoint[];
  readonly allocations?: readonly LabelledAllocation[];
}
