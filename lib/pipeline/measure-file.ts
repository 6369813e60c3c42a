/**
 * The three metrics of one GGUF file: memory (exact: the bytes of its parameters, read from the
 * header), latency (ms per generated token, llama-bench's rules) and accuracy (perplexity as
 * llama-perplexity computes it, optionally KL divergence from the source model). Latency and
 * accuracy are cached per file content and settings; latency also per hardware and build.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { inspect } from "../ops/inspect.js";
import type { LayerName } from "../method/layers.js";
import { bench } from "../ops/bench.js";
import { perplexity } from "../ops/perplexity.js";
import type { EvalText } from "./texts.js";
import { jobOptions, keyFor, type Session } from "./session.js";

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
  readonly latencyMsPerToken: number;
  readonly latencyMsPerTokenSd: number;
  readonly tokensPerSecond: number;
  readonly promptTokensPerSecond: number | null;
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

export const DEFAULT_LATENCY: LatencySettings = { nGen: 128, nPrompt: 512, reps: 5 };

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

/** Latency of `file` on this machine, cached by file content, settings, hardware and build. */
export async function measureLatency(s: Session, file: string, label: string, o: LatencySettings): Promise<LatencyMetrics> {
  const settings = { nGen: o.nGen, nPrompt: o.nPrompt, reps: o.reps, threads: o.threads ?? 0, gpuLayers: o.gpuLayers ?? 0 };
  return cachedJson(s, file, "latency", settings, true, `latency of ${label}`, async () => {
    const r = await bench({ model: file, ...settings, ...jobOptions(s, `latency ${label}`) });
    return {
      latencyMsPerToken: r.tg!.msPerToken.mean,
      latencyMsPerTokenSd: r.tg!.msPerToken.sd,
      tokensPerSecond: r.tg!.tokensPerSecond.mean,
      promptTokensPerSecond: r.pp ? r.pp.tokensPerSecond.mean : null,
    };
  });
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
  return cachedJson(s, file, "accuracy", settings, false, `accuracy of ${label}`, async () => {
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

async function cachedJson<T>(
  s: Session,
  file: string,
  group: string,
  settings: Record<string, unknown>,
  device: boolean,
  description: string,
  compute: () => Promise<T>,
): Promise<T> {
  const fileSha = await s.cache.modelHash(file);
  const key = keyFor(s, "measurement", group, settings, { device, modelSha256: fileSha });
  const entry = await s.cache.getOrCreate(
    key,
    async (dir) => {
      const value = await compute();
      await fs.writeFile(path.join(dir, "result.json"), JSON.stringify(value));
    },
    { description },
  );
  return JSON.parse(await fs.readFile(path.join(entry.dir, "result.json"), "utf8")) as T;
}


/** One model's three metrics (latency and accuracy optional for partial runs). */
export interface MeasuredModel extends MemoryMetrics, Partial<LatencyMetrics>, Partial<AccuracyMetrics> {}

/** Memory, latency and accuracy of `file`, each cached as above. */
export async function measureModel(s: Session, file: string, label: string, o: { readonly latency: LatencySettings; readonly accuracy: AccuracySettings }): Promise<MeasuredModel> {
  return {
    ...(await measureMemory(file)),
    ...(await measureLatency(s, file, label, o.latency)),
    ...(await measureAccuracy(s, file, label, o.accuracy)),
  };
}
