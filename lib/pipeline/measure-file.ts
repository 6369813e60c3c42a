/**
 * The three metrics of one GGUF file: memory (exact: the bytes of its parameters, read from the
 * header), latency (ms per generated token, llama-bench's rules) and accuracy (perplexity as
 * llama-perplexity computes it, optionally KL divergence from the source model). Latency and
 * accuracy are cached per file content and settings; latency also per hardware and build.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CacheKey } from "../cache/index.js";
import { readCachedJson, type Shape } from "../cache/read.js";
import { ACCURACY_SHAPE, LATENCY_SHAPE } from "./cached-shapes.js";
import type { JobOptions } from "../core/job-options.js";
import { inspect } from "../ops/inspect.js";
import type { LayerName } from "../method/layers.js";
import { bench, meanSd } from "../ops/bench.js";
import { interleavedSchedule, machineVerdict, notSeparable, summarizeTimings } from "../method/latency-protocol.js";
import { readMachineState } from "./machine-state.js";
import { perplexity } from "../ops/perplexity.js";
import type { EvalText } from "./texts.js";
import { jobOptions, keyFor, type Session } from "./session.js";
import { DEFAULT_LATENCY_PROTOCOL } from "../core/defaults.js";

export interface MemoryMetrics {
  /** bytes of all parameters: what llama.cpp loads */
  readonly memoryBytes: number;
  readonly layerBytes: Readonly<Partial<Record<LayerName, number>>>;
  /** bytes outside the planned layers (embeddings, output head, norms) */
  readonly fixedBytes: number;
  readonly fileBytes: number;
}

export interface LatencySettings {
  readonly nGen: number;
  readonly nPrompt: number;
  readonly reps: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export interface LatencyMetrics {
  /** median ms per generated token over the interleaved rounds (before the protocol: the mean) */
  readonly latencyMsPerToken: number;
  readonly latencyMsPerTokenSd: number;
  readonly tokensPerSecond: number;
  readonly promptTokensPerSecond: number | null;
  /** distribution-free interval of the median ms per generated token (absent in older profiles) */
  readonly latencyInterval?: LatencyInterval;
  /** prefill: median ms per prompt token and its interval; null when nPrompt is 0 */
  readonly promptMsPerToken?: (LatencyInterval & { readonly median: number }) | null;
  /** the machine during the measurement (load average, governor); absent in older profiles */
  readonly latencyMachine?: { readonly busy: boolean; readonly reasons: readonly string[] };
}

export interface LatencyInterval {
  readonly low: number;
  readonly high: number;
  /** exact coverage of [low, high] for the median (below 0.95 with fewer than 6 rounds) */
  readonly coverage: number;
  readonly samples: number;
}

export interface AccuracySettings {
  readonly evalText: EvalText;
  readonly nCtx: number;
  readonly chunks?: number;
  /** also KL divergence from the source model (run side by side) */
  readonly kld: boolean;
  readonly threads?: number;
  readonly gpuLayers?: number;
}

export interface AccuracyMetrics {
  readonly perplexity: number;
  readonly perplexityStderr: number;
  readonly evalTokens: number;
  readonly kld?: { readonly mean: number; readonly stderr: number; readonly sameTopPercent: number };
}

/** reps = interleaved rounds; 6 is the fewest whose [min, max] is a 95% interval for the median */
export const DEFAULT_LATENCY: LatencySettings = DEFAULT_LATENCY_PROTOCOL;

/** How latency is measured, recorded in profiles (measuredWith.latency.settings.rules). */
export const LATENCY_RULES =
  "llama-bench tg/pp per run; files measured interleaved (warm-up of each, then rounds A B C …), median per file with a distribution-free interval (order statistics of Binomial(n, ½))";

export async function measureMemory(file: string): Promise<MemoryMetrics> {
  const info = await inspect(file);
  const layerBytes: Partial<Record<LayerName, number>> = {};
  let inLayers = 0;
  for (const layer of info.layers) {
    layerBytes[layer.name] = layer.bytes;
    inLayers += layer.bytes;
  }
  const memoryBytes = info.tensors.reduce((a, t) => a + t.bytes, 0);
  return { memoryBytes, layerBytes, fixedBytes: memoryBytes - inLayers, fileBytes: info.fileSize };
}

/** Latency of `file` on this machine (one file: {@link measureLatencies} of one). */
export async function measureLatency(s: Session, file: string, label: string, o: LatencySettings): Promise<LatencyMetrics> {
  return (await measureLatencies(s, [{ file, label }], o))[0]!;
}

/**
 * Latency of several files measured together by the noise-aware protocol
 * (lib/method/latency-protocol.ts): each file warmed up once, then `reps` rounds visiting every
 * file in turn (one llama-bench-style run each), so a drift of the shared machine hits all files
 * alike; median and a distribution-free interval per file; load and governor read at the start
 * and end say whether the machine was busy. Results are cached per file content, settings,
 * hardware and build; only files without a cached result are measured (together).
 */
export async function measureLatencies(s: Session, files: readonly { readonly file: string; readonly label: string }[], o: LatencySettings): Promise<LatencyMetrics[]> {
  const settings = { nGen: o.nGen, nPrompt: o.nPrompt, reps: o.reps, threads: o.threads ?? 0, gpuLayers: o.gpuLayers ?? 0, protocol: "interleaved-median-v1" };
  const keyOf = (sha: string, busy: boolean) =>
    s.cache.key({ modelSha256: sha, kind: "measurement", type: "latency", settings: busy ? { ...settings, machine: "busy" } : settings, fingerprint: s.deviceFingerprint });
  const hashes = await Promise.all(files.map(({ file }) => s.cache.modelHash(file)));
  const keys = hashes.map((h) => keyOf(h, false));
  const out: (LatencyMetrics | undefined)[] = await Promise.all(keys.map((k) => readCached<LatencyMetrics>(s, k, LATENCY_SHAPE)));
  // a latency measured on a busy machine is kept apart from the valid ones (issue 26): it is used
  // again only while the machine is still busy; the next run on a quiet machine measures anew
  if (out.some((m) => m === undefined) && latencyMachineNow().busy) {
    await Promise.all(hashes.map(async (h, i) => void (out[i] ??= await readCached<LatencyMetrics>(s, keyOf(h, true), LATENCY_SHAPE))));
  }
  const todo = files.flatMap((f, i) => (out[i] === undefined ? [i] : []));
  if (todo.length > 0) {
    const measured = await measureInterleaved(todo.map((i) => files[i]!), settings, jobOptions(s, todo.length === 1 ? `latency ${files[todo[0]!]!.label}` : `latency of ${todo.length} files, interleaved`));
    for (const [j, i] of todo.entries()) {
      const m = measured[j]!;
      if (m.latencyMachine?.busy) {
        // stored under the busy key (a later busy run may reuse it), returned as measured now
        await writeCached(s, keyOf(hashes[i]!, true), `latency of ${files[i]!.label} (machine busy: not a valid measurement)`, m, LATENCY_SHAPE);
        out[i] = m;
      } else out[i] = await writeCached(s, keys[i]!, `latency of ${files[i]!.label}`, m, LATENCY_SHAPE);
    }
  }
  return out as LatencyMetrics[];
}

/** Whether the machine is busy right now (the latency protocol's rule, one reading, none of the load ours). */
function latencyMachineNow(): { readonly busy: boolean } {
  const now = readMachineState();
  return machineVerdict(now, now, 0);
}

/**
 * The protocol itself, without a session or cache (benchmarks call it directly): files measured
 * interleaved, `reps` rounds after a warm-up round, one llama-bench-style run per step.
 */
export async function measureInterleaved(
  files: readonly { readonly file: string }[],
  o: { readonly nGen: number; readonly nPrompt: number; readonly reps: number; readonly threads: number; readonly gpuLayers: number },
  job: JobOptions = {},
): Promise<LatencyMetrics[]> {
  if (o.nGen < 1) throw new Error("latency needs nGen ≥ 1 (ms per generated token)");
  const start = readMachineState();
  const tg: number[][] = files.map(() => []);
  const pp: number[][] = files.map(() => []);
  const schedule = interleavedSchedule(files.length, o.reps);
  for (const [k, step] of schedule.entries()) {
    const { file } = files[step.item]!;
    const r = await bench({
      model: file,
      nGen: o.nGen,
      nPrompt: o.nPrompt,
      reps: 1,
      threads: o.threads,
      gpuLayers: o.gpuLayers,
      ...(job.signal ? { signal: job.signal } : {}),
    });
    job.onProgress?.((k + 1) / schedule.length);
    if (step.round < 0) continue; // warm-up: pages the file in, settles the clock
    if (r.tg) tg[step.item]!.push(r.tg.repetitionsMs[0]! / r.tg.tokens);
    if (r.pp) pp[step.item]!.push(r.pp.repetitionsMs[0]! / r.pp.tokens);
  }
  const threads = o.threads > 0 ? o.threads : os.availableParallelism();
  const verdict = machineVerdict(start, readMachineState(), threads);
  const machine = { busy: verdict.busy, reasons: verdict.reasons };
  return files.map((_, i) => {
    const t = summarizeTimings(tg[i]!);
    const p = o.nPrompt > 0 ? summarizeTimings(pp[i]!) : null;
    return {
      latencyMsPerToken: t.median,
      latencyMsPerTokenSd: meanSd(tg[i]!).sd,
      tokensPerSecond: 1000 / t.median,
      promptTokensPerSecond: p ? 1000 / p.median : null,
      latencyInterval: { low: t.low, high: t.high, coverage: t.coverage, samples: t.samples },
      promptMsPerToken: p ? { median: p.median, low: p.low, high: p.high, coverage: p.coverage, samples: p.samples } : null,
      latencyMachine: machine,
    };
  });
}

/**
 * Labels of the files each file cannot be told apart from by latency (intervals overlap), or
 * null for a file measured before the protocol (no interval).
 *
 * @example
 * latencyOverlaps([m1, m2, m3]) // [[1], [0], []]
 */
export function latencyOverlaps(metrics: readonly Partial<LatencyMetrics>[]): (number[] | null)[] {
  const withInterval = metrics.flatMap((m, i) => (m.latencyInterval ? [i] : []));
  const pairs = notSeparable(withInterval.map((i) => metrics[i]!.latencyInterval!));
  return metrics.map((m, i) => (m.latencyInterval ? pairs[withInterval.indexOf(i)]!.map((j) => withInterval[j]!) : null));
}

/** Perplexity (and KLD from the session's model) of `file`, cached by content, settings and build. */
export async function measureAccuracy(s: Session, file: string, label: string, o: AccuracySettings): Promise<AccuracyMetrics> {
  const settings = {
    evalSha256: o.evalText.sha256,
    nCtx: o.nCtx,
    chunks: o.chunks ?? null,
    kldBase: o.kld ? s.sha256 : null,
    gpuLayers: o.gpuLayers ?? 0,
  };
  return cachedJson(s, file, "accuracy", settings, false, `accuracy of ${label}`, ACCURACY_SHAPE, async () => {
    const r = await perplexity({
      model: file,
      text: o.evalText.text,
      nCtx: o.nCtx,
      ...(o.chunks !== undefined ? { chunks: o.chunks } : {}),
      ...(o.kld ? { klBase: s.model } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
      ...jobOptions(s, `perplexity ${label}`),
    });
    return { perplexity: r.ppl, perplexityStderr: r.stderr, evalTokens: r.scoredTokens, ...(r.kld ? { kld: r.kld } : {}) };
  });
}

// Cached results are read back checked against their shape: a damaged one is a miss (issue 22).
async function readCached<T>(s: Session, key: CacheKey, shape: Shape): Promise<T | undefined> {
  return s.cache.find(key, (dir) => readCachedJson<T>(dir, "result.json", shape));
}

async function writeCached<T>(s: Session, key: CacheKey, description: string, value: T, shape: Shape): Promise<T> {
  const entry = await s.cache.use(key, (dir) => fs.writeFile(path.join(dir, "result.json"), JSON.stringify(value)), (dir) => readCachedJson<T>(dir, "result.json", shape), { description });
  return entry.value;
}

async function cachedJson<T>(
  s: Session,
  file: string,
  group: string,
  settings: Record<string, unknown>,
  device: boolean,
  description: string,
  shape: Shape,
  compute: () => Promise<T>,
): Promise<T> {
  const fileSha = await s.cache.modelHash(file);
  const key = keyFor(s, "measurement", group, settings, { device, modelSha256: fileSha });
  const entry = await s.cache.use(
    key,
    async (dir) => {
      const value = await compute();
      await fs.writeFile(path.join(dir, "result.json"), JSON.stringify(value));
    },
    (dir) => readCachedJson<T>(dir, "result.json", shape),
    { description },
  );
  return entry.value;
}


/** One model's three metrics (latency and accuracy optional for partial runs). */
export interface MeasuredModel extends MemoryMetrics, Partial<LatencyMetrics>, Partial<AccuracyMetrics> {}

/**
 * Memory, latency and accuracy of several files: memory and accuracy file by file, latency of all
 * of them in one interleaved run ({@link measureLatencies}), so the files of one comparison share
 * the machine's drift. Each result cached as for {@link measureModel}.
 */
export async function measureModels(
  s: Session,
  files: readonly { readonly file: string; readonly label: string }[],
  o: { readonly latency: LatencySettings; readonly accuracy: AccuracySettings },
): Promise<MeasuredModel[]> {
  const memory = await Promise.all(files.map((f) => measureMemory(f.file)));
  const latency = await measureLatencies(s, files, o.latency);
  const out: MeasuredModel[] = [];
  for (const [i, f] of files.entries()) out.push({ ...memory[i]!, ...latency[i]!, ...(await measureAccuracy(s, f.file, f.label, o.accuracy)) });
  return out;
}

/** Memory, latency and accuracy of `file`, each cached as above. */
export async function measureModel(s: Session, file: string, label: string, o: { readonly latency: LatencySettings; readonly accuracy: AccuracySettings }): Promise<MeasuredModel> {
  return {
    ...(await measureMemory(file)),
    ...(await measureLatency(s, file, label, o.latency)),
    ...(await measureAccuracy(s, file, label, o.accuracy)),
  };
}

/**
 * Measures a file the run has already published: an interrupt now stops the measurement, not the
 * run's success (the file is complete), so it is reported as `interrupted`, not thrown.
 */
export async function measurePublished(
  s: Session,
  file: string,
  o: { readonly latency: LatencySettings; readonly accuracy: AccuracySettings },
): Promise<{ readonly result: MeasuredModel | null; readonly interrupted: boolean }> {
  try {
    return { result: await measureModel(s, file, "result", o), interrupted: false };
  } catch (e) {
    if ((e as Error).name !== "AbortError") throw e;
    return { result: null, interrupted: true };
  }
}
