/**
 * AdaptiveModel: serves completions from one variant of a portfolio at a time and moves to
 * another when the device's state says so. Loading goes through node-llama-cpp by default
 * (its own prebuilt binary; apreqel's addon is not needed on the device), or any
 * {@link VariantLoader}.
 *
 * - Requests and switches share one FIFO queue: a switch waits for every request queued before
 *   it, which finishes on the old model; requests queued after it run on the new one. No
 *   request is dropped or moved mid-generation. (One context sequence: requests run one at a
 *   time.)
 * - State is re-checked on demand ({@link AdaptiveModel.recheck}) and, with `intervalMs`, on a
 *   timer; a tick while the timer's previous re-check still waits behind a long request is
 *   skipped, so re-checks do not pile up in the queue. The choice is {@link choose}'s, with the loaded variant as `current` and resident, so
 *   its hysteresis margin prevents flapping and its own memory counts as free (the swap
 *   disposes the old model before loading the new one). If the new one fails to load, the old
 *   one is loaded again and the error reported.
 * - Learning (on unless `learn: false`): each completion's decode ms/token, divided by the
 *   throttle factor at the time (so it is comparable with the cool benchmark the picker
 *   multiplies by the throttle), updates a running mean per variant in this device's latency
 *   entry (`observed`); the picker uses it once it has MIN_OBSERVED samples. A running mean,
 *   not a bandit: a variant's speed on one device is a fixed quantity once throttling is
 *   divided out, so the sample mean is its best estimate, and exploring (running a variant the
 *   constraints did not choose, to learn its speed) is what a device short of memory or time
 *   must not do. Variants not run keep their benchmark figures; the picker scales those by how
 *   much slower than benchmarked the observed variants serve (choose.ts, rule 3), so the variant
 *   that has been serving is not compared raw against benchmarks it never ran under. {@link AdaptiveModel.saveLearned}
 *   writes the learned figures into portfolio.json atomically.
 */
import os from "node:os";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import { choose, type Choice, type DeviceState, type PickPolicy } from "./choose.js";
import { latencyOn, type PortfolioManifest, type Variant } from "./manifest.js";
import { readLiveState, toDeviceState } from "./state.js";
import { readPortfolio, saveManifest } from "./write.js";
import { verifiedVariantFile } from "./verify.js";

/** A loaded variant, as the wrapper uses it. */
export interface LoadedVariant {
  complete(prompt: string, o: CompletionOptions): Promise<Completion>;
  dispose(): Promise<void>;
}

export interface CompletionOptions {
  readonly maxTokens: number;
  readonly signal?: AbortSignal;
}

export interface Completion {
  readonly text: string;
  /** tokens generated */
  readonly tokens: number;
  /** mean ms per generated token after the first (decode only); null with fewer than 2 tokens */
  readonly decodeMsPerToken: number | null;
}

/**
 * How a variant is to be loaded: `threads`, the CPU threads its latency was measured with on this
 * device (absent when the portfolio does not say), so it runs as fast as the portfolio promises.
 */
export interface LoadSettings {
  readonly threads?: number;
}

/** Loads `file` (a variant's GGUF), with the settings its latency was measured with. */
export type VariantLoader = (file: string, variant: Variant, settings?: LoadSettings) => Promise<LoadedVariant>;

/**
 * The CPU threads `variant`'s latency was measured with: this device's entry when there is one,
 * else the one figure all entries agree on; 0 (the benchmark's "all cores") is the core count.
 * Issue 26: node-llama-cpp's default, 4 threads on 2 vCPUs, ran 9,000× slower than the portfolio
 * said (6,726 against 0.72 ms/token); its own thread count gives the speed it was measured at.
 *
 * @example
 * measuredThreads(variant, device) // 1 (portfolio profile --threads 1)
 */
export function measuredThreads(variant: Variant, device?: string, cores = os.availableParallelism()): number | undefined {
  const own = device === undefined ? undefined : latencyOn(variant, device);
  const candidates = own ? [own] : variant.latency;
  const values = [...new Set(candidates.map((m) => m.settings["threads"]).filter((t): t is number => typeof t === "number" && Number.isInteger(t) && t >= 0))];
  if (values.length !== 1) return undefined;
  return values[0] === 0 ? cores : values[0];
}

export type AdaptiveEvent =
  | { readonly type: "loaded"; readonly variant: string; readonly reason: string; readonly threads?: number }
  | { readonly type: "switched"; readonly from: string; readonly to: string; readonly reason: string; readonly threads?: number }
  | { readonly type: "kept"; readonly variant: string; readonly reason: string }
  | { readonly type: "error"; readonly error: Error };

export interface AdaptiveModelOptions {
  /** the portfolio folder (or its portfolio.json) */
  readonly portfolio: string;
  readonly policy?: PickPolicy;
  /** this device's fingerprint (fingerprint({ hardware, build })): which latencies apply and where learning goes */
  readonly device?: string;
  /** the device state now; default: the live Linux readers (see state.ts) */
  readonly readState?: () => Promise<Omit<DeviceState, "current" | "device">>;
  /** default: node-llama-cpp, see {@link nodeLlamaCppLoader} */
  readonly loader?: VariantLoader;
  /** re-check the state this often (ms); default: only on demand */
  readonly intervalMs?: number;
  /**
   * learn decode speed per variant (default true); it needs `device`, and that device's latency
   * entries in the manifest (`apreqel portfolio profile DIR` on it): without them nothing is learned
   */
  readonly learn?: boolean;
  readonly onEvent?: (event: AdaptiveEvent) => void;
}

function loadSettings(variant: Variant, device: string | undefined): LoadSettings {
  const threads = measuredThreads(variant, device);
  return threads === undefined ? {} : { threads };
}

export class AdaptiveModel {
  #manifest: PortfolioManifest;
  readonly #dir: string;
  readonly #file: string;
  readonly #o: AdaptiveModelOptions;
  readonly #loader: VariantLoader;
  readonly #readState: () => Promise<Omit<DeviceState, "current" | "device">>;
  #loaded: { variant: Variant; model: LoadedVariant };
  #queue: Promise<unknown> = Promise.resolve();
  #throttle = 1;
  #timer: NodeJS.Timeout | undefined;
  /** the timer's re-check while it waits in the queue or runs */
  #ticking = false;
  #disposed = false;
  /** set when a failed switch could not reload the previous variant either: nothing is loaded */
  #broken: Error | undefined;

  private constructor(
    manifest: PortfolioManifest,
    dir: string,
    file: string,
    o: AdaptiveModelOptions,
    loader: VariantLoader,
    readState: () => Promise<Omit<DeviceState, "current" | "device">>,
    loaded: { variant: Variant; model: LoadedVariant },
  ) {
    this.#manifest = manifest;
    this.#dir = dir;
    this.#file = file;
    this.#o = o;
    this.#loader = loader;
    this.#readState = readState;
    this.#loaded = loaded;
  }

  /**
   * Reads the portfolio, picks a variant for the state now and loads it.
   *
   * @example
   * const model = await AdaptiveModel.open({ portfolio: "out", intervalMs: 10_000 });
   * const { text, variant } = await model.complete("Once upon a time", { maxTokens: 32 });
   */
  static async open(o: AdaptiveModelOptions): Promise<AdaptiveModel> {
    const { manifest, dir, path: file } = await readPortfolio(o.portfolio, { verifyFiles: true });
    const loader = o.loader ?? nodeLlamaCppLoader();
    const readState = o.readState ?? (async () => toDeviceState(await readLiveState()));
    const state = await readState();
    const choice = choose(manifest, { ...state, ...(o.device !== undefined ? { device: o.device } : {}) }, o.policy);
    const settings = loadSettings(choice.variant, o.device);
    const model = await loader(await verifiedVariantFile(dir, choice.variant, file), choice.variant, settings);
    const self = new AdaptiveModel(manifest, dir, file, o, loader, readState, { variant: choice.variant, model });
    self.#throttle = state.throttle ?? 1;
    o.onEvent?.({ type: "loaded", variant: choice.variant.name, reason: choice.reason, ...settings });
    if (o.intervalMs !== undefined) {
      self.#timer = setInterval(() => self.#tick(), o.intervalMs);
      self.#timer.unref(); // a timer alone must not keep the process alive
    }
    return self;
  }

  /** The variant serving requests now (a switch in the queue has not happened yet). */
  get variant(): Variant {
    return this.#loaded.variant;
  }

  /** The manifest with what was learned so far. */
  get manifest(): PortfolioManifest {
    return this.#manifest;
  }

  /** Queues a completion; it runs on whichever variant is loaded when its turn comes. */
  complete(prompt: string, o: CompletionOptions): Promise<Completion & { readonly variant: string }> {
    return this.#enqueue(async () => {
      if (this.#broken !== undefined) throw this.#broken;
      const { variant, model } = this.#loaded;
      const result = await model.complete(prompt, o);
      if (this.#o.learn !== false && result.decodeMsPerToken !== null) this.#learn(variant.name, result.decodeMsPerToken / this.#throttle);
      return { ...result, variant: variant.name };
    });
  }

  /**
   * Re-reads the state and switches if the picker says so; queued behind the requests already
   * waiting, which finish on the current variant.
   */
  recheck(): Promise<Choice> {
    return this.#enqueue(async () => {
      if (this.#broken !== undefined) throw this.#broken;
      const state = await this.#readState();
      this.#throttle = state.throttle ?? 1;
      const current = this.#loaded.variant;
      const choice = choose(
        this.#manifest,
        { ...state, ...(this.#o.device !== undefined ? { device: this.#o.device } : {}), current: { name: current.name, resident: true } },
        this.#o.policy,
      );
      if (choice.variant.name === current.name) {
        this.#o.onEvent?.({ type: "kept", variant: current.name, reason: choice.reason });
        return choice;
      }
      await this.#loaded.model.dispose();
      try {
        const model = await this.#loader(await verifiedVariantFile(this.#dir, choice.variant, this.#file), choice.variant, loadSettings(choice.variant, this.#o.device));
        this.#loaded = { variant: choice.variant, model };
      } catch (e) {
        // back to the variant that was running, so requests keep being served
        const failed = `could not load variant ${choice.variant.name} (${(e as Error).message})`;
        try {
          this.#loaded = { variant: current, model: await this.#loader(path.join(this.#dir, current.file), current, loadSettings(current, this.#o.device)) };
        } catch (again) {
          this.#broken = new Error(`${failed}, nor reload ${current.name} (${(again as Error).message}); no variant is loaded`, { cause: again });
          throw this.#broken;
        }
        throw new Error(`${failed}; ${current.name} was loaded again`, { cause: e });
      }
      this.#o.onEvent?.({ type: "switched", from: current.name, to: choice.variant.name, reason: choice.reason, ...loadSettings(choice.variant, this.#o.device) });
      return choice;
    });
  }

  /** Writes the learned latencies into portfolio.json (atomically; queued like a request). */
  saveLearned(): Promise<void> {
    return this.#enqueue(() => saveManifest(this.#file, this.#manifest));
  }

  /** Stops the timer, waits for queued work, disposes the model. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    clearInterval(this.#timer);
    await this.#queue.catch(() => undefined); // failures were already reported to their callers
    if (this.#broken === undefined) await this.#loaded.model.dispose();
  }

  #tick(): void {
    if (this.#ticking || this.#disposed) return;
    this.#ticking = true;
    this.recheck()
      .catch((e: unknown) => this.#o.onEvent?.({ type: "error", error: e as Error }))
      .finally(() => (this.#ticking = false));
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#disposed) return Promise.reject(new Error("the AdaptiveModel was disposed"));
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined); // one failure must not block the queue; the caller gets it
    return run;
  }

  // Running mean: m ← m + (x − m) / n, in this device's latency entry (nothing when this device
  // was never profiled: there is no entry to attach a learned figure to).
  #learn(name: string, msPerToken: number): void {
    const device = this.#o.device;
    if (device === undefined) return;
    const variants = this.#manifest.variants.map((v) => {
      if (v.name !== name) return v;
      const entry = latencyOn(v, device);
      if (entry === undefined) return v;
      const n = (entry.observed?.samples ?? 0) + 1;
      const mean = entry.observed === undefined ? msPerToken : entry.observed.decodeMsPerToken + (msPerToken - entry.observed.decodeMsPerToken) / n;
      const observed = { decodeMsPerToken: mean, samples: n, updatedAt: new Date().toISOString() };
      return { ...v, latency: v.latency.map((m) => (m === entry ? { ...m, observed } : m)) };
    });
    this.#manifest = { ...this.#manifest, variants };
  }
}

export interface NodeLlamaCppLoaderOptions {
  /** a node-llama-cpp instance to share; default: getLlama() on the CPU, prebuilt binaries only */
  readonly llama?: Llama;
  readonly contextSize?: number;
  readonly gpuLayers?: number | "auto" | "max";
  /**
   * threads per context; default the threads the variant's latency was measured with (the
   * portfolio's, see {@link measuredThreads}), else node-llama-cpp's. On a machine whose cores are
   * busy with other work, fewer threads can be many times faster: ggml's threads wait for each
   * other at every step, and one descheduled thread stalls the rest.
   */
  readonly threads?: number;
}

/**
 * Loads variants with node-llama-cpp: a model, a context and a completion per variant; decode
 * ms/token is timed from the first generated token to the last.
 *
 * @example
 * AdaptiveModel.open({ portfolio: "out", loader: nodeLlamaCppLoader({ contextSize: 1024 }) })
 */
export function nodeLlamaCppLoader(o: NodeLlamaCppLoaderOptions = {}): VariantLoader {
  let shared: Promise<Llama> | undefined;
  const llama = async (): Promise<Llama> => {
    if (o.llama !== undefined) return o.llama;
    shared ??= import("node-llama-cpp").then((m) => m.getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: m.LlamaLogLevel.error }));
    return shared;
  };
  return async (file, _variant, settings) => {
    const { LlamaCompletion } = await import("node-llama-cpp");
    const threads = o.threads ?? settings?.threads;
    const model = await (await llama()).loadModel({ modelPath: file, ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}) });
    try {
      const context = await model.createContext({ contextSize: o.contextSize ?? 512, ...(threads !== undefined ? { threads } : {}) });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      return {
        async complete(prompt, c) {
          let tokens = 0;
          let first = 0;
          let last = 0;
          const text = await completion.generateCompletion(prompt, {
            maxTokens: c.maxTokens,
            ...(c.signal !== undefined ? { signal: c.signal } : {}),
            onToken(chunk) {
              const now = performance.now();
              if (tokens === 0) first = now;
              tokens += chunk.length;
              last = now;
            },
          });
          return { text, tokens, decodeMsPerToken: tokens >= 2 ? (last - first) / (tokens - 1) : null };
        },
        async dispose() {
          completion.dispose();
          await context.dispose();
          await model.dispose();
        },
      };
    } catch (e) {
      await model.dispose();
      throw e;
    }
  };
}
