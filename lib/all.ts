/**
 * The whole library, every module's exports in one place: for the repository's own scripts
 * (scripts/eval), not a package door. Users import `apreqel` (lib/index.ts), `apreqel/method`
 * or `apreqel/ops`; names here may move without notice.
 */
export { assemble, type AssembleOptions, type AssembleResult } from "./ops/assemble.js";
export { AbortError, InputError, OptionError } from "./core/errors.js";
export { FIXTURE_SHAPES, writeRandomModel, type ModelShape, type RandomModelOptions } from "./ops/fixtures.js";
export { generate, type GenerateOptions } from "./ops/generate.js";
export { ggmlTypes, quantizePresets, quantizeTypes } from "./ops/ggml-types.js";
export { inspect, type LayerInfo, type MetadataValue, type ModelInfo, type TensorInfo } from "./ops/inspect.js";
export { subLayerOf, type SubLayer } from "./gguf/layers.js";
export * from "./method/index.js";
export type { JobOptions } from "./core/job-options.js";
export { quantize, type QuantizeOptions, type QuantizeResult, type QuantizeTarget, type QuantizedTensor } from "./ops/quantize.js";
export { bench, type BenchOptions, type BenchResult, type MeanSd, type PhaseTiming } from "./ops/bench.js";
export { captureSimilarity, type CaptureOptions, type SimilarityCapture } from "./ops/capture.js";
export { perplexity, type PerplexityOptions, type PerplexityResult } from "./ops/perplexity.js";
export { countTokens, type CountTokensOptions, type TokenCount } from "./ops/tokens.js";
export type { ModelRunOptions, RunOptions } from "./ops/run-options.js";
export * from "./cache/index.js";
export { parseAge, parseMilliseconds, parseSize } from "./core/units.js";
export { describeBuild, describeHardware, fingerprint, type BuildDescription, type Hardware } from "./pipeline/hardware.js";
export {
  GROUP_METRIC,
  METRIC_GROUPS,
  mergeProfiles,
  missingMetrics,
  parseProfileFile,
  toMethodProfile,
  type MetricGroup,
  type ModelIdentity,
  type ProfileFile,
  type Provenance,
  type TypeMeasurements,
} from "./pipeline/profile-file.js";
export { readProfiles, type LoadedProfile } from "./pipeline/read-profiles.js";
export { BUILTIN_EVAL_NOTE, readCalibration, readEvalText, type CalibrationSet, type EvalText, type TextSource } from "./pipeline/texts.js";
export * from "./report/index.js";
export { keyFor, openSession, type KeyScope, type Session, type SessionOptions, type StepReporter } from "./pipeline/session.js";
export { DEFAULT_NON_LAYER_TYPE, uniformModels, resolveUniform, type UniformOptions, type ResolvedUniformOptions } from "./pipeline/uniform.js";
export { calibrationCapture, type CalibrationPass, type CalibrationCapture } from "./pipeline/calibration.js";
export { profileModel, type ProfileOptions } from "./pipeline/profile.js";
export { measureSource, sourceType, type SourceModel } from "./pipeline/source.js";
export { scoreLayers, type ScoreOptions, type ScoreResult } from "./pipeline/scores.js";
export { assembleMix, tensorAssignment, type MixLabel } from "./pipeline/mixed.js";
export { quantizeAdaptive, type AdaptiveOptions, type AdaptiveResult } from "./pipeline/adaptive.js";
export { sweep, type SweepModel, type SweepOptions, type SweepResult } from "./pipeline/sweep.js";
export { evaluate, type EvaluateOptions } from "./pipeline/evaluate.js";
export {
  DEFAULT_LATENCY,
  measureAccuracy,
  measureLatency,
  measureMemory,
  measureModel,
  type AccuracyMetrics,
  type AccuracySettings,
  type LatencyMetrics,
  type LatencySettings,
  type MeasuredModel,
  type MemoryMetrics,
} from "./pipeline/measure-file.js";
export { parseManifest, latencyOn, MANIFEST_FILE, PORTFOLIO_FORMAT, PORTFOLIO_VERSION, type PortfolioManifest, type Variant, type LatencyMeasurement, type AccuracyMeasurement, type Selection } from "./portfolio/manifest.js";
export { writePortfolio, readPortfolio, addDeviceLatencies, saveManifest, type ChosenMix, type WritePortfolioOptions } from "./portfolio/write.js";
export { choose, NoVariantFitsError, MIN_OBSERVED, type Choice, type DeviceState, type PickPolicy, type PickLimits, type CandidateReport } from "./portfolio/choose.js";
export { profilePortfolio, type ProfilePortfolioOptions } from "./portfolio/profile.js";
export { readLiveState, toDeviceState, type LiveState, type Known, type StateSources } from "./portfolio/state.js";
export { AdaptiveModel, nodeLlamaCppLoader, type AdaptiveModelOptions, type AdaptiveEvent, type VariantLoader, type LoadedVariant } from "./portfolio/adaptive-model.js";
// Issue 14: measured sensitivity, its proxy, plan units, the imatrix from the calibration pass
export { planUnits, unitOf, GRANULARITIES, type Granularity, type PlanUnit } from "./gguf/units.js";
export { probeSensitivity, probeStopAt, DEFAULT_PROBE_WARMUP, DEFAULT_PROBE_STOP, type ProbeOptions, type ProbeResult, type ProbeKld, type ProbeSpec, type ProbeStopRule } from "./ops/probe.js";
export { quantizationError, type QuantizationErrorOptions } from "./ops/quant-error.js";
export { measureSensitivity, proxySensitivity, calibrationText, type SensitivityOptions, type MeasuredSensitivity, type ProxyOptions } from "./pipeline/sensitivity.js";
export { parseSensitivity, estimateMixKld, groupSensitivity, spearman, type SensitivityTable, type SensitivityKind } from "./method/sensitivity.js";
export { matmulBench, type MatmulBenchOptions, type MatmulShape, type MatmulTiming } from "./ops/matmul-bench.js";
export { LATENCY_RULES, latencyOverlaps, measureInterleaved, measureLatencies, type LatencyInterval } from "./pipeline/measure-file.js";
export { readMachineState } from "./pipeline/machine-state.js";
export { latencyFor, profileForCriterion, LATENCY_CRITERIA, type LatencyCriterion } from "./pipeline/latency-criterion.js";
export { unitLatencyModel, unitLatencyTable, LATENCY_MODELS, type LatencyModelName, type UnitLatencyModel } from "./pipeline/unit-latency.js";
export { quantizeFront, modelFront, type FrontQuantizeOptions, type FrontResult, type ModelFront, type FrontLatency } from "./pipeline/front.js";
export { buildPortfolio, DEFAULT_COUNT, type BuildPortfolioOptions, type BuildPortfolioResult } from "./portfolio/build.js";
// Issue 24: one set of defaults, one quantize entry, a preset's size from llama.cpp's dry run
export { DEFAULTS, IMATRIX_TYPES, METHODS, SENSITIVITY_CHOICES, accuracyFor, modelFacts, readModelFacts, resolveRunSettings, resolveSettings, sensitivityFor, weightsFor, type Limits, type MethodName, type ModelFacts, type RunSettingsOptions, type RunSettings, type RunWeights, type SensitivityChoice, type Settings, type SettingsOptions } from "./pipeline/settings.js";
export { limitsInBytes, presetSize, quantizeChecks, quantizeFile, quantizeModel, type QuantizeFileOptions, type QuantizeModelOptions, type QuantizeModelResult } from "./pipeline/quantize-model.js";
export { runOnModel, type ModelRun } from "./pipeline/runner.js";
export { quantizePlan, type QuantizePlan } from "./ops/quantize.js";
export { DEFAULT_CTX, DEFAULT_LATENCY_PROTOCOL } from "./core/defaults.js";
export { requireContext, trainedContext } from "./pipeline/session.js";
export { measuredThreads, type LoadSettings } from "./portfolio/adaptive-model.js";
// Issue 23: a fleet (BullMQ over Redis; bullmq is loaded only when these are used)
export { Coordinator, computeOnFleet, latencyOnFleet, jobId, type CoordinatorOptions, type FleetProgress, type FleetSteps } from "./fleet/coordinator.js";
export { startWorker, type WorkerOptions, type RunningWorker } from "./fleet/worker.js";
export { parseJob, JobPayloadError, type FleetJob } from "./fleet/jobs.js";
export { Store, StoreIntegrityError } from "./fleet/store.js";
// Issue 25: the planned Δ table within a probe budget, and the verify step
export { planSensitivity, unitBytes, probeForwardTokens, type PlannedSensitivityOptions, type PlannedSensitivity } from "./pipeline/probe-plan.js";
export { probeCells, type CellsOptions, type ProbedCells } from "./pipeline/sensitivity.js";
export { verifyChoice, type VerifyOptions, type VerifiedChoice } from "./pipeline/verify.js";
export { predictSensitivity, planRound, cellValues, lambdaAt, lagrangianMix, parseProbeBudget, describeProbeBudget, DEFAULT_PROBE_BUDGET, type ProbeBudget, type PartialSensitivity, type PredictedSensitivity, type Round } from "./method/probe-plan.js";
export { fitCorrelation, correlatedExcess, linearisedDelta, pairTerm, type VerifiedMix } from "./method/verify.js";
export { describeSensitivity, type SensitivityCells, type SensitivityProbes, type ProbeStop } from "./method/sensitivity.js";
