/**
 * probeSensitivity(): the KL divergence from the source model of a reference model with one set of
 * tensors at a time swapped in from another GGUF file, in one process with the reference loaded
 * once (native/probe.cpp). Scoring follows perplexity() with nBatch = nCtx: chunks of nCtx, BOS
 * first, the second half scored. CPU only: the swap points a weight at host memory.
 */
import { invalidOption } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { binding, type RawProbeResult } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { requireInt, requireOptions, validateJobOptions } from "../core/validate.js";

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
  /** called once per finished probe, in order, also for those finished before a cancel */
  readonly onProbe?: (index: number, kld: ProbeKld) => void;
}

export interface ProbeKld {
  readonly mean: number;
  readonly stderr: number;
  readonly sameTopPercent: number;
}

export interface ProbeResult extends Omit<RawProbeResult, "logitsHashes"> {
  readonly kld: readonly ProbeKld[];
  readonly logitsHashes: readonly string[];
}

export async function probeSensitivity(options: ProbeOptions): Promise<ProbeResult> {
  requireOptions(options, "probeSensitivity");
  validateJobOptions(options);
  if (typeof options.text !== "string" || options.text.length === 0) throw invalidOption("text", "a non-empty string", options.text);
  const nCtx = requireInt(options.nCtx ?? 512, "nCtx", 4);
  const chunks = options.chunks === undefined ? -1 : requireInt(options.chunks, "chunks", 1);
  const threads = requireInt(options.threads ?? 0, "threads", 0);
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
  const results = new Float64Array(3 * probes.length).fill(Number.NaN);
  let reported = 0;
  // the native side writes each probe's numbers as it finishes; report those not yet reported
  const flush = () => {
    while (reported < probes.length && !Number.isNaN(results[3 * reported])) {
      options.onProbe?.(reported, kldAt(results, reported));
      reported++;
    }
  };
  try {
    const raw = await runJob({ ...(options.signal ? { signal: options.signal } : {}), onProgress: (f) => (flush(), options.onProgress?.(f)) }, (job) =>
      binding().probeSensitivity({ model, base, text: options.text, nCtx, chunks, threads, probes, results, ...job }),
    );
    flush();
    return { ...raw, kld: probes.map((_, i) => kldAt(results, i)) };
  } catch (e) {
    flush();
    throw e;
  }
}

function kldAt(results: Float64Array, i: number): ProbeKld {
  return { mean: results[3 * i] as number, stderr: results[3 * i + 1] as number, sameTopPercent: results[3 * i + 2] as number };
}
