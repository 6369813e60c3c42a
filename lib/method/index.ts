// The method's public API: pure functions and the file formats that connect
// the pipeline steps. Nothing here does I/O.
export { MethodInputError, InfeasibleConstraintsError, type ConstraintName } from "./errors.js";
export {
  GGML_TYPE_TABLE,
  DEFAULT_TYPES,
  bitsPerWeight,
  isGgmlType,
  orderTypes,
  parseGgmlType,
  type GgmlType,
} from "./types.js";
export { layerNameAt, layerOrder, parseLayerName, type LayerKind, type LayerName } from "./layers.js";
export {
  CRITERIA,
  WEIGHT_SUM_TOLERANCE,
  parseWeights,
  validateWeights,
  type Criterion,
  type Weights,
} from "./weights.js";
export { DEFAULT_GAMMA, layerScores, rankLayers, type CosineInput, type LayerScore, type ScoresFile } from "./scores.js";
export { parseScores } from "./scores-file.js";
export { parseProfile, profileEntry, type Profile, type TypeProfile } from "./profile.js";
export { countDistributions, forEachDistribution } from "./distributions.js";
export {
  defaultEstimator,
  ESTIMATOR_TABLE,
  ESTIMATORS,
  type CriterionPrefixes,
  type Estimate,
  type Estimator,
  type EstimatorName,
  type PrefixFunction,
  type PrefixInput,
} from "./estimators.js";
export { topsis, type TopsisResult } from "./topsis.js";
export {
  plan,
  planSweep,
  type Constraints,
  type LayerImportance,
  type PlanInput,
  type PlanOptions,
  type PlanResult,
  type SweepOptions,
} from "./plan.js";
export { allocate, type Allocation, type Distribution } from "./allocate.js";
export {
  hypervolume,
  hypervolumeReport,
  nonDominated,
  type HypervolumeReport,
  type Point,
  type SetVolume,
} from "./hypervolume.js";
export {
  DEFAULT_PRIORITY,
  PAPER_WEIGHTINGS,
  PRIORITIES,
  PRIORITY_WEIGHTINGS,
  priorityWeighting,
  type Priority,
  type WeightChoice,
  type Weighting,
  type WeightingCategory,
} from "./weightings.js";
export {
  estimateMix,
  mixAssignment,
  mixDistribution,
  parseCostTable,
  type CostTable,
  type CostUnit,
  type DenseCostTable,
  type FixedCosts,
  type MixEstimate,
  type UnitCost,
} from "./cost-table.js";
export {
  DEFAULT_GRID,
  kldLowerBound,
  paretoFront,
  weightedSumMix,
  type Front,
  type FrontOptions,
  type FrontOrigin,
  type FrontPoint,
} from "./front.js";
export { chooseOnFront, type FrontChoice, type FrontChoiceOptions, type FrontConstraints } from "./choose.js";
export { quantizeRecipe, type Recipe, type RecipeOptions } from "./recipe.js";
export { costTableFromProfile, type ProfileCostsInput } from "./profile-costs.js";
export {
  interleavedSchedule,
  machineVerdict,
  median,
  medianInterval,
  notSeparable,
  summarizeTimings,
  BUSY_LOAD_PER_CPU,
  type MachineReading,
  type MachineVerdict,
  type MedianInterval,
  type ScheduleStep,
  type TimingSummary,
} from "./latency-protocol.js";
export { costKey, fitForTable, fitLatency, isUnit, predictLatency, relativeErrors, unitShapes, unitSum, withUnitLatency, type LatencyFit, type MatmulCost, type UnitLatencyInput, type UnitTensor } from "./latency-model.js";
export { costTableFromMeasured, type MeasuredCostsInput } from "./measured-costs.js";
export { spreadOnFront, type SpreadMix, type SpreadSelection } from "./spread.js";
export { frontConstraints, frontBounds, type FrontLimits, type AccuracyColumn } from "./front-limits.js";
