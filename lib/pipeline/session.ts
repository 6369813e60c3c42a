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
import type { Granularity } from "../gguf/units.js";
import type { GgmlType } from "../method/types.js";
import type { CalibrationSet } from "./texts.js";

/** Reports progress of one named step (0..1), with what it has done in its own words (e.g. "probe 12 of 290"). */
export type StepReporter = (step: string, fraction: number, detail?: string) => void;

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
  /** the session only measures `model` (eval), so it may be quantized; else it is a source and must not be */
  readonly measureOnly?: boolean;
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
  /**
   * Where the probe planner's rounds run when not here: a fleet's workers compute the round's cells
   * into this session's cache (`--redis`), and the round then reads them from it. Absent: here.
   */
  readonly probeRunner?: ProbeRunner;
}

/** One round of probe cells to compute elsewhere into the session's cache (see Session.probeRunner). */
export interface ProbeRound {
  readonly granularity: Granularity;
  /** the table's types, the reference's first */
  readonly types: readonly GgmlType[];
  /** the cells to probe, by unit name and type */
  readonly cells: readonly { readonly unit: string; readonly type: GgmlType }[];
  readonly calibration: CalibrationSet;
  readonly nCtx: number;
  readonly chunks?: number;
}

export type ProbeRunner = (round: ProbeRound) => Promise<void>;

export async function openSession(options: SessionOptions): Promise<Session> {
  const model = await requireInputFile(options.model, "model");
  const info = await inspect(model);
  requireContext({ model, info }, options.contextUse ?? []);
  if (!options.measureOnly) requireUnquantizedSource(model, info);
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

/** The context the model was trained with (its header's `<arch>.context_length`), when it says. */
export function trainedContext(info: Pick<ModelInfo, "architecture" | "metadata">): number | undefined {
  const trained = info.metadata[`${info.architecture}.context_length`];
  return typeof trained === "number" && trained > 0 ? trained : undefined;
}

/**
 * Token counts that must fit in one context of the model: the CLI's --ctx/--n-prompt/--n-gen when
 * the session opens, the library's `accuracy.nCtx`, `score.nCtx`, `latency.nPrompt`/`nGen` when a
 * pipeline call starts (issue 26: the library accepted nCtx 512 on a 256-token model; the CLI refused it).
 */
export function requireContext(s: Pick<Session, "model" | "info">, uses: ReadonlyArray<{ readonly option: string; readonly tokens: number | undefined }>): void {
  const trained = trainedContext(s.info);
  if (trained === undefined) return;
  for (const { option, tokens } of uses) {
    if (tokens !== undefined && tokens > trained) throw new OptionError(option, `${option}: ${tokens} tokens is more than ${s.model}'s context of ${trained} tokens`);
  }
}

/** The library's settings that put tokens in one context, named as its callers spell them. */
export function settingsContextUse(o: {
  readonly accuracy?: { readonly nCtx: number };
  readonly score?: { readonly nCtx?: number };
  readonly latency?: { readonly nPrompt: number; readonly nGen: number };
}): { option: string; tokens: number | undefined }[] {
  return [
    { option: "accuracy.nCtx", tokens: o.accuracy?.nCtx },
    { option: "score.nCtx", tokens: o.score?.nCtx },
    { option: "latency.nPrompt", tokens: o.latency?.nPrompt },
    { option: "latency.nGen", tokens: o.latency?.nGen },
  ];
}

/** Tensor types a source may have: llama.cpp quantizes only from these (it refuses to requantize). */
const SOURCE_TYPES: ReadonlySet<string> = new Set(["f32", "f16", "bf16"]);

/**
 * The source must be unquantized: llama.cpp refuses to requantize ("requantizing from type q4_K is
 * disabled"), which used to surface only after the calibration pass (issue 26). Checked from the
 * header, before anything runs.
 */
export function requireUnquantizedSource(model: string, info: Pick<ModelInfo, "tensors">): void {
  const quantized = info.tensors.filter((t) => t.quantizable && !SOURCE_TYPES.has(t.type.toLowerCase()));
  if (quantized.length === 0) return;
  const types = [...new Set(quantized.map((t) => t.type))].join(", ");
  throw new InputError(
    `model: ${model} is already quantized (${quantized.length} of its tensors are ${types}); apreqel quantizes from an F16, BF16 or F32 GGUF ` +
      "(llama.cpp does not requantize): convert the original weights with llama.cpp's convert_hf_to_gguf.py --outtype f16",
  );
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
