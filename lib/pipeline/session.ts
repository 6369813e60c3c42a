/**
 * What every pipeline step shares for one source model: the cache, the model's content hash and
 * header, and the fingerprints that decide which cached results still apply (a quantized file
 * depends on the build; a latency also on the hardware).
 */
import { Cache } from "../cache/cache.js";
import type { CacheKey, CacheKind } from "../cache/key.js";
import { InputError, OptionError } from "../core/errors.js";
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
   * opened and the model hashed.
   */
  readonly checks?: ReadonlyArray<(model: string, info: ModelInfo) => Promise<void> | void>;
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

/**
 * Each token count of `uses` must fit `model`'s training context (read from its header): an
 * OptionError naming the option otherwise.
 *
 * @example
 * requireContextFits("m.gguf", info, [{ option: "--n-prompt", tokens: 1_000_000 }]) // throws: --n-prompt: 1000000 tokens is more than m.gguf's context of 256 tokens
 */
export function requireContextFits(model: string, info: ModelInfo, uses: NonNullable<SessionOptions["contextUse"]>): void {
  const trained = info.metadata[`${info.architecture}.context_length`];
  for (const { option, tokens } of uses) {
    if (typeof trained === "number" && trained > 0 && tokens > trained) {
      throw new OptionError(option, `${option}: ${tokens} tokens is more than ${model}'s context of ${trained} tokens`);
    }
  }
}

export async function openSession(options: SessionOptions): Promise<Session> {
  const model = await requireInputFile(options.model, "model");
  const info = await inspect(model);
  requireContextFits(model, info, options.contextUse ?? []);
  for (const check of options.checks ?? []) await check(model, info);
  const cache = await Cache.open(options.cacheDir === undefined ? {} : { dir: options.cacheDir });
  const sha256 = await cache.modelHash(model);
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
