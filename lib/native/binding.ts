/**
 * The raw native binding, typed. Only lib/native/* imports this; everything else uses the
 * typed wrappers (inspect, quantize, assemble, ...), which validate options first.
 */
import { loadAddon } from "./loader.js";

/** Options every long native call accepts (see native/job.h). */
export interface RawJobOptions {
  readonly onProgress?: (fraction: number) => void;
  readonly cancelFlag?: Int32Array;
}

export type RawMetadataValue = number | bigint | boolean | string | readonly (number | bigint | boolean | string)[];

export interface RawMetadataEntry {
  readonly key: string;
  /** gguf type name: u8, i8, u16, i16, u32, i32, f32, bool, str, arr, u64, i64, f64 */
  readonly type: string;
  readonly arrayType?: string;
  readonly length?: number;
  /** absent for arrays longer than 64 items (vocabularies): only type and length are given */
  readonly value?: RawMetadataValue;
}

export interface RawTensor {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  readonly offset: number;
}

export interface RawHeader {
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly fileSize: number;
  readonly metadata: readonly RawMetadataEntry[];
  readonly tensors: readonly RawTensor[];
}

export interface RawGgmlType {
  readonly id: number;
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
  readonly quantized: boolean;
}

export interface RawBuildInfo {
  readonly system: string;
  readonly cuda: boolean;
  /** llama_supports_gpu_offload(): false on a CPU-only build */
  readonly gpuOffload: boolean;
  readonly devices: readonly RawDevice[];
}

/** A ggml backend device, with its memory as the backend reports it when buildInfo() is called. */
export interface RawDevice {
  readonly name: string;
  readonly description: string;
  readonly type: "cpu" | "gpu" | "igpu" | "accel";
  readonly memoryFree: number;
  readonly memoryTotal: number;
}

export interface RawQuantizeOptions extends RawJobOptions {
  readonly input: string;
  readonly output: string;
  readonly type?: string;
  readonly preset?: string;
  readonly overrides?: Readonly<Record<string, string>>;
  readonly tokenEmbeddingType?: string;
  readonly outputType?: string;
  readonly imatrix?: string;
  readonly threads?: number;
  readonly allowRequantize?: boolean;
  /** decide every tensor's type and the file's size, write nothing (llama_model_quantize_params.dry_run) */
  readonly dryRun?: boolean;
}

/** What a dry run of quantize reports: each tensor's type and the bytes the file would have. */
export interface RawQuantizePlan {
  readonly tensors: readonly { readonly name: string; readonly type: string }[];
  readonly fileBytes: number;
}

export interface RawAssembleOptions extends RawJobOptions {
  readonly base: string;
  readonly output: string;
  readonly sources: readonly string[];
  /** tensor name → index into sources; tensors not named come from base */
  readonly assignment: Readonly<Record<string, number>>;
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

export interface RawRandomModelOptions extends RawJobOptions {
  readonly vocab: string;
  readonly output: string;
  readonly nEmbd?: number;
  readonly nFf?: number;
  readonly nLayer?: number;
  readonly nHead?: number;
  readonly nHeadKv?: number;
  readonly nCtx?: number;
  readonly seed?: number;
  readonly type?: "f16" | "f32";
  readonly arch?: "llama" | "qwen2" | "qwen3" | "phi3" | "gemma3";
}

export interface RawGenerateOptions extends RawJobOptions {
  readonly model: string;
  readonly prompt: string;
  readonly nPredict?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export interface RawGenerateResult {
  readonly text: string;
  readonly promptTokens: number;
  readonly tokens: readonly number[];
}

export interface RawModelRunOptions extends RawJobOptions {
  readonly model: string;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export interface RawCaptureOptions extends RawModelRunOptions {
  readonly texts: readonly string[];
  readonly nCtx?: number;
  readonly nBatch?: number;
  /** device: on-device cosines (the patch); reference: host cosines from full hidden states; none: plain forward */
  readonly mode?: "device" | "reference" | "none";
  /** also write llama-imatrix's statistics of the same pass to this path */
  readonly imatrix?: string;
  readonly dataset?: string;
  /** llama-imatrix's windows: whole chunks of nCtx, BOS replacing each chunk's first token */
  readonly chunked?: boolean;
}

export interface RawCaptureResult {
  readonly blocks: number;
  readonly tokens: number;
  readonly cos: Float32Array;
  readonly tokensPerText: readonly number[];
  /** bytes of graph tensors read back to the host (the device → host traffic when offloaded) */
  readonly bytesRead: number;
  /** weights with imatrix statistics written, when `imatrix` was given */
  readonly imatrixTensors?: number;
}

export interface RawPerplexityOptions extends RawModelRunOptions {
  readonly text: string;
  readonly nCtx?: number;
  readonly chunks?: number;
  readonly nBatch?: number;
  readonly klBase?: string;
}

export interface RawPerplexityResult {
  readonly ppl: number;
  readonly stderr: number;
  readonly chunks: number;
  readonly tokens: number;
  readonly scoredTokens: number;
  readonly kld?: { readonly mean: number; readonly stderr: number; readonly sameTopPercent: number };
}

export interface RawBenchOptions extends RawModelRunOptions {
  readonly nGen?: number;
  readonly nPrompt?: number;
  readonly reps?: number;
  readonly nBatch?: number;
  readonly warmup?: boolean;
}

export interface RawBenchResult {
  readonly nPrompt: number;
  readonly nGen: number;
  readonly ppSamplesNs: readonly number[];
  readonly tgSamplesNs: readonly number[];
  readonly modelBytes: number;
  readonly modelParams: number;
  readonly peakRssBytes: number;
}

export interface RawProbeOptions extends RawJobOptions {
  /** the reference model (loaded once; tensors are swapped in and out of it) */
  readonly model: string;
  /** the source model whose token distributions the KL divergence is taken from */
  readonly base: string;
  readonly text: string;
  readonly nCtx?: number;
  readonly chunks?: number;
  readonly threads?: number;
  /** first scored position of each chunk; < 0: llama-perplexity's second half */
  readonly warmup?: number;
  /** start each probe at its first block from the reference's captured states, where exact */
  readonly startAtBlock?: boolean;
  /** the stopping rule (0 / < 0: off) */
  readonly stopRelativeStderr?: number;
  /** also stop when the standard error ≤ this × the reference's KLD */
  readonly stopReferenceFraction?: number;
  readonly stopMinTokens?: number;
  readonly stopMaxTokens?: number;
  /** how the base distributions are kept: auto = f32 up to baseMemory bytes, else f16 */
  readonly baseFormat?: "auto" | "f32" | "f16";
  readonly baseMemory?: number;
  /** captured states beyond this many bytes go to a temporary file */
  readonly stateMemory?: number;
  /** each probe swaps `tensors` in from `source`; a probe with neither measures the reference */
  readonly probes: readonly { readonly tensors: readonly string[]; readonly source?: string }[];
  /** 7 per probe (KLD mean, its standard error, same-top %, tokens, forward-equivalent tokens, Δ's standard error, start block), written as each probe finishes */
  readonly results: Float64Array;
}

export interface RawProbeResult {
  readonly chunks: number;
  readonly scoredTokens: number;
  /** the first scored position of each chunk */
  readonly firstScored: number;
  /** FNV-1a of each probe's scored logits */
  readonly logitsHashes: readonly string[];
  /** tokens decoded, and forward-equivalent tokens (decoded × fraction of the blocks computed) */
  readonly cost: {
    readonly blocks: number;
    readonly baseTokens: number;
    readonly referenceTokens: number;
    readonly probeTokens: number;
    readonly probeForwardTokens: number;
    readonly forwardTokens: number;
    readonly baseFormat: "f32" | "f16";
    readonly baseBytes: number;
    readonly stateBytes: number;
    readonly stateSpilled: boolean;
  };
  /** why probes ran from the tokens although startAtBlock was asked for */
  readonly startAtBlockRefused?: string;
  readonly timing: {
    readonly totalSeconds: number;
    readonly decodeSeconds: number;
    readonly kldSeconds: number;
    readonly swapSeconds: number;
    readonly decodedTokens: number;
  };
}

export interface RawMatmulBenchOptions extends RawJobOptions {
  readonly shapes: readonly { readonly type: string; readonly k: number; readonly n: number }[];
  readonly batches: readonly number[];
  readonly reps?: number;
  readonly threads?: number;
  readonly streamMiB?: number;
  readonly gpu?: boolean;
  readonly warmup?: boolean;
}

export interface RawMatmulTiming {
  readonly type: string;
  readonly k: number;
  readonly n: number;
  readonly batch: number;
  readonly copies: number;
  readonly buffer: string;
  readonly samplesNs: readonly number[];
}

export interface RawBinding {
  ggmlTypes(): readonly RawGgmlType[];
  buildInfo(): RawBuildInfo;
  quantizeTargets(): { readonly types: readonly string[]; readonly presets: readonly string[] };
  inspect(options: { readonly path: string } & RawJobOptions): Promise<RawHeader>;
  quantize(options: RawQuantizeOptions & { readonly dryRun?: false }): Promise<void>;
  quantize(options: RawQuantizeOptions & { readonly dryRun: true }): Promise<RawQuantizePlan>;
  assemble(options: RawAssembleOptions): Promise<void>;
  writeRandomModel(options: RawRandomModelOptions): Promise<void>;
  generate(options: RawGenerateOptions): Promise<RawGenerateResult>;
  captureSimilarity(options: RawCaptureOptions): Promise<RawCaptureResult>;
  perplexity(options: RawPerplexityOptions): Promise<RawPerplexityResult>;
  bench(options: RawBenchOptions): Promise<RawBenchResult>;
  probeSensitivity(options: RawProbeOptions): Promise<RawProbeResult>;
  /** how many of `deltas` a probe's stopping rule scores, checked every `step` (native/probe.cpp) */
  probeStopAt(options: { readonly deltas: Float64Array; readonly step: number; readonly relativeStderr: number; readonly absoluteStderr: number; readonly minTokens: number; readonly maxTokens: number }): number;
  /** [tensor][file] importance-weighted squared error against the source's tensor */
  quantizationError(options: { readonly source: string; readonly files: readonly string[]; readonly tensors: readonly string[]; readonly imatrix?: string } & RawJobOptions): Promise<Float64Array>;
  matmulBench(options: RawMatmulBenchOptions): Promise<readonly RawMatmulTiming[]>;
  /** tokens of `text` with the model's tokenizer (vocabulary only); with atLeast, of a prefix giving at least that many */
  countTokens(options: { readonly model: string; readonly text: string; readonly atLeast?: number } & RawJobOptions): Promise<{ readonly tokens: number; readonly complete: boolean }>;
}

let cached: RawBinding | undefined;

/** The loaded addon (loaded on first use, so importing apreqel never fails by itself). */
export function binding(): RawBinding {
  cached ??= loadAddon() as RawBinding;
  return cached;
}
