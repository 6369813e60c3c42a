/**
 * `apreqel/ops`: one function per native call, each validating its options first and naming them
 * in its errors (lib/ops/*). The building blocks under the pipeline, for a program that wants to
 * drive llama.cpp itself: read a GGUF's header, quantize (or plan a quantization without writing),
 * assemble a mix, measure speed, perplexity, KLD and similarity, probe a tensor's sensitivity.
 */
export { assemble, type AssembleOptions, type AssembleResult } from "./assemble.js";
export { bench, type BenchOptions, type BenchResult, type MeanSd, type PhaseTiming } from "./bench.js";
export { buildInfo, type BuildInfo } from "./build-info.js";
export { captureSimilarity, type CaptureOptions, type SimilarityCapture } from "./capture.js";
export { FIXTURE_SHAPES, writeRandomModel, type ModelShape, type RandomModelOptions } from "./fixtures.js";
export { generate, type GenerateOptions } from "./generate.js";
export { ggmlTypes, quantizePresets, quantizeTypes, type GgmlTypeInfo } from "./ggml-types.js";
export { inspect, type LayerInfo, type MetadataValue, type ModelInfo, type TensorInfo } from "./inspect.js";
export { matmulBench, type MatmulBenchOptions, type MatmulShape, type MatmulTiming } from "./matmul-bench.js";
export { perplexity, type PerplexityOptions, type PerplexityResult } from "./perplexity.js";
export { probeSensitivity, probeStopAt, DEFAULT_PROBE_WARMUP, DEFAULT_PROBE_STOP, type ProbeKld, type ProbeOptions, type ProbeResult, type ProbeSpec, type ProbeStopRule } from "./probe.js";
export { quantizationError, type QuantizationErrorOptions } from "./quant-error.js";
export { quantize, quantizePlan, type QuantizeOptions, type QuantizePlan, type QuantizeResult, type QuantizeTarget, type QuantizedTensor } from "./quantize.js";
export type { ModelRunOptions, RunOptions } from "./run-options.js";
export { countTokens, type CountTokensOptions, type TokenCount } from "./tokens.js";
export type { JobOptions } from "../core/job-options.js";
