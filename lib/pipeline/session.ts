/**
 * What every pipeline step shares for one source model: the cache, the model's content hash and
 * header, and the fingerprints that decide which cached results still apply (a quantized file
 * depends on the build; a latency also on the hardware).
 */
import { Cache } from "../cache/cache.js";
import type { CacheKey, CacheKind } from "../cache/key.js";
import { AbortError, InputError, OptionError } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { inspect, type ModelInfo } from "../ops/inspect.js";
import { buildInfo } from "../ops/build-info.js";
import type { JobOptions } from "../core/job-options.js";
import { describeBuild, describeHardware, fingerprint, type BuildDescription, type Hardware } from "./hardware.js";

/** Reports progress of one named step (0..1). */
export type StepReporter = (step: string, fraction: number) => void;

export interface SessionOptions {
  /** the source model: F16/F32/BF16 GGUF, the more precise the better */
  readonly model: string;
  /** cache folder; default $APREQEL_CACHE_DIR, $XDG_CACHE_HOME/apreqel or ~/.cache/apreqel */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly onStep?: StepReporter;
  /**
   * Token counts the run will put in one context (--ctx, --n-prompt, --n-gen): each must fit the
   * model's training context; checked from the header before the model is hashed or anything runs.
   */
  readonly contextUse?: ReadonlyArray<{ readonly option: string; readonly tokens: number }>;
  /**
   * Checks that need the model's path and header but no long work (preflight.ts: the eval text's
   * length, memory limits no mix can meet): run after the header is read, before the cache is
   * opened and the model hashed. `job` carries the session's signal (a check that tokenizes or
   * runs a dry run stops on it).
   */
  readonly checks?: ReadonlyArray<(model: string, info: ModelInfo, job: JobOptions) => Promise<void> | void>;
}

export interface Session {
  readonly model: string;
  readonly sha256: string;
  readonly info: ModelInfo;
  readonly cache: Cache;
  readonly hardware: Hardware;
  readonly build: BuildDescription;
  /** fingerprint of the build alone: what a quantized file or a perplexity depends on */
  readonly buildFingerprint: string;
  /** fingerprint of hardware + build: what a latency depends on */
  readonly deviceFingerprint: string;
  readonly signal?: AbortSignal;
  readonly onStep?: StepReporter;
}

export async function openSession(options: SessionOptions): Promise<Session> {
  const model = await requireInputFile(options.model, "model");
  const info = await inspect(model);
  const trained = info.metadata[`${info.architecture}.context_length`];
  for (const { option, tokens } of options.contextUse ?? []) {
    if (typeof trained === "number" && trained > 0 && tokens > trained) {
      throw new OptionError(option, `${option}: ${tokens} tokens is more than ${model}'s context of ${trained} tokens`);
    }
  }
  const job: JobOptions = options.signal ? { signal: options.signal } : {};
  for (const check of options.checks ?? []) await check(model, info, job);
  const cache = await Cache.open(options.cacheDir === undefined ? {} : { dir: options.cacheDir });
  // hashing a 16 GB model takes a minute: an interrupt ends the wait at once (the read finishes
  // unobserved: cache.ts's hash takes no signal)
  const sha256 = await untilAborted(cache.modelHash(model), options.signal);
  // the user's input, not our failure: exit 2 like any other bad input
  if (info.layers.length === 0) throw new InputError(`model: ${model} has no transformer blocks apreqel can plan (architecture ${info.architecture})`);
  const backend = buildInfo();
  const hardware = describeHardware(backend);
  const build = describeBuild(backend);
  return {
    model,
    sha256,
    info,
    cache,
    hardware,
    build,
    buildFingerprint: fingerprint({ build }),
    deviceFingerprint: fingerprint({ hardware, build }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onStep ? { onStep: options.onStep } : {}),
  };
}

/** `work`, or an AbortError as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}

/** Where a cache entry's content comes from, beyond its kind, type and settings. */
export interface KeyScope {
  /** the content depends on the hardware too (a latency), not only on the build */
  readonly device?: boolean;
  /** SHA-256 of the file the entry describes, when it is not the session's model (a measured mix) */
  readonly modelSha256?: string;
}

/** The one way the pipeline builds a cache key: this session's model (or `scope.modelSha256`), and the fingerprint that applies. */
export function keyFor(s: Session, kind: CacheKind, type: string | null, settings: Readonly<Record<string, unknown>>, scope: KeyScope = {}): CacheKey {
  const fingerprint = scope.device ? s.deviceFingerprint : s.buildFingerprint;
  return s.cache.key({ modelSha256: scope.modelSha256 ?? s.sha256, kind, type, settings, fingerprint });
}

/** JobOptions for a native call inside step `step`. */
export function jobOptions(s: Session, step: string): JobOptions {
  return {
    ...(s.signal ? { signal: s.signal } : {}),
    ...(s.onStep ? { onProgress: (f: number) => s.onStep!(step, f) } : {}),
  };
}
