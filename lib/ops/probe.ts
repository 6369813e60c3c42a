/**
 * probeSensitivity(): the KL divergence from the source model of a reference model with one set of
 * tensors at a time swapped in from another GGUF file, in one process with the reference loaded
 * once (native/probe.cpp). Chunks of nCtx, BOS first; scored: every position past `warmup`, or with
 * warmup "perplexity" llama-perplexity's second half (as perplexity() with nBatch = nCtx). Each
 * probe starts at its first block from the reference's captured residual stream where that is
 * exact, and stops by `stop` (issue 25). CPU only: the swap points a weight at host memory.
 */
import { invalidOption } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { binding, type RawProbeResult } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { requireInt, requireOptions, validateJobOptions } from "../core/validate.js";
import { DEFAULT_CTX } from "../core/defaults.js";

/** One probe: these tensors of the reference replaced by the same-named tensors of `source`. */
export type ProbeSpec = { readonly tensors: readonly string[]; readonly source: string } | { readonly tensors: readonly []; readonly source?: undefined };

export interface ProbeOptions extends JobOptions {
  /** the reference model */
  readonly model: string;
  /** the source model (F16/F32), the KL divergence's base */
  readonly base: string;
  /** calibration text (never the evaluation text) */
  readonly text: string;
  readonly probes: readonly ProbeSpec[];
  /** tokens per chunk; default 512 */
  readonly nCtx?: number;
  /** only the first N chunks; default all */
  readonly chunks?: number;
  readonly threads?: number;
  /**
   * positions of each chunk left unscored before the first scored one (default
   * DEFAULT_PROBE_WARMUP), or "perplexity": llama-perplexity's convention (second half scored)
   */
  readonly warmup?: number | "perplexity";
  /** start each probe at its first swapped block where exact (default true); see ProbeResult.startAtBlockRefused */
  readonly startAtBlock?: boolean;
  /** sequential stopping rule per probe (default: none, every chunk) */
  readonly stop?: ProbeStopRule;
  /** how the source's distributions are kept: "auto" (default: f32 up to 1 GiB, else f16), "f32", "f16" */
  readonly baseFormat?: "auto" | "f32" | "f16";
  /** called once per finished probe, in order, also for those finished before a cancel */
  readonly onProbe?: (index: number, kld: ProbeKld) => void;
}

/**
 * A probe stops after a chunk once it has scored minTokens and either maxTokens or a mean Δ (its
 * KLD minus the reference's, token by token) whose standard error is ≤ relativeStderr · |mean Δ|,
 * or ≤ referenceFraction · the reference's KLD (a Δ too small to matter need not be known to a
 * fraction of itself).
 */
export interface ProbeStopRule {
  readonly relativeStderr: number;
  /** default 0: off */
  readonly referenceFraction?: number;
  readonly minTokens: number;
  /** Infinity: every chunk */
  readonly maxTokens: number;
}

/**
 * The pipeline's default stopping rule (lib/pipeline/sensitivity.ts): Δ known to 10% of itself, or
 * to 2% of the reference's KLD (the floor of every mix's KLD: a Δ that small barely moves any
 * plan's estimate, and would take the whole calibration text to know to 10%), after at least 512
 * tokens (two chunks or more at --ctx ≤ 512: tokens within a chunk are correlated, so a one-chunk
 * standard error flatters), at most every chunk the calibration gives.
 */
export const DEFAULT_PROBE_STOP: ProbeStopRule = { relativeStderr: 0.1, referenceFraction: 0.02, minTokens: 512, maxTokens: Infinity };

/**
 * The probes' default warm-up: positions 0–7 of each chunk are decoded but not scored. Position 0
 * predicts from BOS alone (the same context in every chunk: one row counted once per chunk) and the
 * next few from contexts shorter than any prompt; 8 of 256–512 positions cost 2–3% of the tokens,
 * against the 50% llama-perplexity's convention leaves unscored (docs/benchmarks.md, "Probe cost").
 */
export const DEFAULT_PROBE_WARMUP = 8;

export interface ProbeKld {
  /** KLD over all scored tokens: the reference's plus this probe's mean Δ (its own mean when it scored them all) */
  readonly mean: number;
  /** standard error of the probe's KLD over the tokens it scored */
  readonly stderr: number;
  readonly sameTopPercent: number;
  /** tokens scored */
  readonly tokens: number;
  /** tokens decoded × fraction of the blocks computed (0 for the reference: its pass is in ProbeResult.cost) */
  readonly forwardTokens: number;
  /** standard error of the mean Δ against the reference (paired, token by token) */
  readonly deltaStderr: number;
  /** the block the probe started at (0: from the tokens) */
  readonly startBlock: number;
}

export interface ProbeResult extends Omit<RawProbeResult, "logitsHashes"> {
  readonly kld: readonly ProbeKld[];
  readonly logitsHashes: readonly string[];
}

const STRIDE = 7;

export async function probeSensitivity(options: ProbeOptions): Promise<ProbeResult> {
  requireOptions(options, "probeSensitivity");
  validateJobOptions(options);
  if (typeof options.text !== "string" || options.text.length === 0) throw invalidOption("text", "a non-empty string", options.text);
  const nCtx = requireInt(options.nCtx ?? DEFAULT_CTX, "nCtx", 4);
  const chunks = options.chunks === undefined ? -1 : requireInt(options.chunks, "chunks", 1);
  const threads = requireInt(options.threads ?? 0, "threads", 0);
  const warmup = options.warmup === "perplexity" ? -1 : requireInt(options.warmup ?? DEFAULT_PROBE_WARMUP, "warmup", 0, nCtx - 1);
  if (options.startAtBlock !== undefined && typeof options.startAtBlock !== "boolean") throw invalidOption("startAtBlock", "a boolean", options.startAtBlock);
  if (options.baseFormat !== undefined && !["auto", "f32", "f16"].includes(options.baseFormat)) throw invalidOption("baseFormat", '"auto", "f32" or "f16"', options.baseFormat);
  const stop = validateStop(options.stop);
  if (!Array.isArray(options.probes) || options.probes.length === 0) throw invalidOption("probes", "a non-empty array of probes", options.probes);
  const model = await requireInputFile(options.model, "model");
  const base = await requireInputFile(options.base, "base");
  const sources = new Map<string, string>();
  const probes: { tensors: readonly string[]; source?: string }[] = [];
  for (const [i, p] of options.probes.entries()) {
    if (p === null || typeof p !== "object" || !Array.isArray(p.tensors) || (p.tensors as readonly unknown[]).some((t) => typeof t !== "string" || t === "")) {
      throw invalidOption(`probes[${i}]`, "an object with an array of tensor names", p);
    }
    if ((p.source === undefined) !== (p.tensors.length === 0)) {
      throw invalidOption(`probes[${i}]`, "tensors with a source, or neither (the reference itself)", p);
    }
    if (p.source === undefined) {
      probes.push({ tensors: [] });
      continue;
    }
    let source = sources.get(p.source);
    if (source === undefined) {
      source = await requireInputFile(p.source, `probes[${i}].source`);
      sources.set(p.source, source);
    }
    probes.push({ tensors: p.tensors, source });
  }
  const results = new Float64Array(STRIDE * probes.length).fill(Number.NaN);
  let reported = 0;
  // the native side writes each probe's numbers as it finishes; report those not yet reported
  const flush = () => {
    while (reported < probes.length && !Number.isNaN(results[STRIDE * reported])) {
      options.onProbe?.(reported, kldAt(results, reported));
      reported++;
    }
  };
  try {
    const raw = await runJob({ ...(options.signal ? { signal: options.signal } : {}), onProgress: (f) => (flush(), options.onProgress?.(f)) }, (job) =>
      binding().probeSensitivity({
        model, base, text: options.text, nCtx, chunks, threads, probes, results, warmup,
        startAtBlock: options.startAtBlock ?? true,
        ...(stop ? { stopRelativeStderr: stop.relativeStderr, stopReferenceFraction: stop.referenceFraction ?? 0, stopMinTokens: stop.minTokens, stopMaxTokens: Number.isFinite(stop.maxTokens) ? stop.maxTokens : -1 } : {}),
        ...(options.baseFormat ? { baseFormat: options.baseFormat } : {}),
        ...job,
      }),
    );
    flush();
    return { ...raw, kld: probes.map((_, i) => kldAt(results, i)) };
  } catch (e) {
    flush();
    throw e;
  }
}

function validateStop(stop: ProbeStopRule | undefined): ProbeStopRule | undefined {
  if (stop === undefined) return undefined;
  const ok = (x: unknown, min: number) => typeof x === "number" && !Number.isNaN(x) && x >= min;
  if (stop === null || typeof stop !== "object" || !ok(stop.relativeStderr, 0) || !ok(stop.referenceFraction ?? 0, 0) || !ok(stop.minTokens, 0) || !ok(stop.maxTokens, 1)) {
    throw invalidOption("stop", "{ relativeStderr ≥ 0, referenceFraction? ≥ 0, minTokens ≥ 0, maxTokens ≥ 1 }", stop);
  }
  return stop;
}

/**
 * How many of `deltas` (a probe's Δ per token, in order) the stopping rule scores before it stops,
 * checked every `step` tokens as a probe checks after each chunk, with the reference's KLD
 * `referenceKld`: the native rule itself.
 * @example probeStopAt([1, 1, 1, 1], 2, { relativeStderr: 0.1, minTokens: 2, maxTokens: Infinity }) // 2: stderr 0 ≤ 0.1 · 1
 */
export function probeStopAt(deltas: readonly number[], step: number, rule: ProbeStopRule, referenceKld = 0): number {
  const r = validateStop(rule)!;
  return binding().probeStopAt({
    deltas: Float64Array.from(deltas),
    step: requireInt(step, "step", 1),
    relativeStderr: r.relativeStderr,
    absoluteStderr: (r.referenceFraction ?? 0) * referenceKld,
    minTokens: r.minTokens,
    maxTokens: Number.isFinite(r.maxTokens) ? r.maxTokens : -1,
  });
}

function kldAt(results: Float64Array, i: number): ProbeKld {
  const r = (k: number) => results[STRIDE * i + k] as number;
  return { mean: r(0), stderr: r(1), sameTopPercent: r(2), tokens: r(3), forwardTokens: r(4), deltaStderr: r(5), startBlock: r(6) };
}
