/**
 * matmulBench(): the time of one weight matmul y = W·x per (type, shape, batch) on this device,
 * with the buffer type (CPU repack included), backend and thread count a model run would use
 * (native/matmul_bench.cpp says how it stays faithful). The per-unit latency model
 * (lib/method/latency-model.ts) is built from these costs.
 */
import { invalidOption, unknownName } from "../core/errors.js";
import { binding } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { optionalBoolean, requireInt, requireOptions, validateJobOptions } from "../core/validate.js";

export interface MatmulShape {
  /** ggml type name of the weight, e.g. "q4_K" */
  readonly type: string;
  /** row length (input features, the weight's ne0) */
  readonly k: number;
  /** rows (output features, ne1) */
  readonly n: number;
}

export interface MatmulBenchOptions extends JobOptions {
  readonly shapes: readonly MatmulShape[];
  /** token batches to time each shape at: 1 for decode, the prompt batch (ubatch) for prefill */
  readonly batches: readonly number[];
  /** timed repetitions per (shape, batch); default 5 */
  readonly reps?: number;
  /** CPU threads; default: all cores, as model runs */
  readonly threads?: number;
  /** decode streams weights from memory: distinct copies are chained until they pass this many MiB (default 256) */
  readonly streamMiB?: number;
  /** time on the first GPU device instead of the CPU (CUDA builds) */
  readonly gpu?: boolean;
  readonly warmup?: boolean;
}

export interface MatmulTiming extends MatmulShape {
  readonly batch: number;
  /** distinct weight copies chained in the graph (see streamMiB) */
  readonly copies: number;
  /** the weight's buffer type, e.g. "CPU_REPACK" or "CPU" */
  readonly buffer: string;
  /** ms of one matmul (all `batch` tokens), per repetition */
  readonly samplesMs: readonly number[];
}

export async function matmulBench(options: MatmulBenchOptions): Promise<MatmulTiming[]> {
  requireOptions(options, "matmulBench");
  validateJobOptions(options);
  if (!Array.isArray(options.shapes) || options.shapes.length === 0) throw invalidOption("shapes", "a non-empty array of { type, k, n }", options.shapes);
  if (!Array.isArray(options.batches) || options.batches.length === 0) throw invalidOption("batches", "a non-empty array of token counts", options.batches);
  const types = binding().ggmlTypes();
  const shapes = options.shapes.map((s, i) => {
    const t = types.find((x) => x.name === s.type);
    if (t === undefined) throw unknownName(`shapes[${i}].type`, "ggml type", String(s.type), types.map((x) => x.name));
    const k = requireInt(s.k, `shapes[${i}].k`, 1);
    const n = requireInt(s.n, `shapes[${i}].n`, 1);
    if (k % t.blockSize !== 0) throw invalidOption(`shapes[${i}].k`, `a multiple of ${s.type}'s block size ${t.blockSize}`, k);
    return { type: s.type, k, n };
  });
  const batches = options.batches.map((b, i) => requireInt(b, `batches[${i}]`, 1));
  const reps = requireInt(options.reps ?? 5, "reps", 1);
  const threads = requireInt(options.threads ?? 0, "threads", 0);
  const streamMiB = requireInt(options.streamMiB ?? 256, "streamMiB", 0);
  optionalBoolean(options.gpu, "gpu");
  optionalBoolean(options.warmup, "warmup");
  if (options.gpu && !binding().buildInfo().gpuOffload) throw invalidOption("gpu", "false on this build (CPU only; build with CUDA for GPU timings)", true);
  const raw = await runJob(options, (job) =>
    binding().matmulBench({ shapes, batches, reps, threads, streamMiB, gpu: options.gpu ?? false, warmup: options.warmup ?? true, ...job }),
  );
  return raw.map((r) => ({ type: r.type, k: r.k, n: r.n, batch: r.batch, copies: r.copies, buffer: r.buffer, samplesMs: r.samplesNs.map((ns) => ns / 1e6) }));
}
