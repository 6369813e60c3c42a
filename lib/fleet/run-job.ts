/**
 * Runs one fleet job on this machine: the payload checked against the schema, the entries it
 * needs brought from the store into this worker's cache, the pipeline's own step run in a session
 * on the store's copy of the model (so the cache keys, and the bytes, are the ones an in-process
 * run makes), and every cache entry the step produced or used put back in the store. The job's
 * record in the store is written last: a job is done exactly when it exists, so a job delivered
 * twice, or one done by an earlier run, is not run again.
 */
import path from "node:path";
import { Cache, type CacheEntry } from "../cache/index.js";
import { InputError, OptionError } from "../core/errors.js";
import { packageRoot } from "../core/package.js";
import { planUnits } from "../gguf/units.js";
import { MethodInputError } from "../method/errors.js";
import type { GgmlType } from "../method/types.js";
import { quantizeTypes } from "../ops/ggml-types.js";
import { calibrationCapture } from "../pipeline/calibration.js";
import { profileModel } from "../pipeline/profile.js";
import { measureVariants } from "../portfolio/profile.js";
import { probeCells } from "../pipeline/sensitivity.js";
import { openSession, type Session } from "../pipeline/session.js";
import { readEvalText, type CalibrationSet } from "../pipeline/texts.js";
import { uniformModels, type UniformOptions } from "../pipeline/uniform.js";
import { JobPayloadError, parseJob, type FleetJob, type TextRef, type UniformRef } from "./jobs.js";
import { Store, StoreIntegrityError, type StoreJobResult } from "./store.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export interface RunJobOptions {
  readonly store: Store;
  /** this worker's cache (default: the user's cache folder) */
  readonly cacheDir?: string;
  /** this worker's name, recorded with the result */
  readonly worker: string;
  /** the device class this worker serves: a latency job of another class is refused */
  readonly deviceClass: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
}

/**
 * A failure that will happen again however often the job is retried (a bad payload, a file the
 * pipeline refuses, a damaged blob): the queue fails the job at once with this reason.
 */
export function isPermanent(e: unknown): boolean {
  return e instanceof JobPayloadError || e instanceof InputError || e instanceof OptionError || e instanceof MethodInputError || e instanceof StoreIntegrityError;
}

/** Runs job `id` with payload `data`; returns its record in the store (an earlier one when the job was done before). */
export async function runJob(id: string, data: unknown, o: RunJobOptions): Promise<StoreJobResult & { readonly reused: boolean }> {
  if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id)) throw new JobPayloadError(`job id: expected a sha256 but received ${JSON.stringify(id)}`);
  const job = parseJob(data);
  const done = await o.store.readJob(id);
  if (done !== undefined) return { ...done, reused: true };
  if ((job.kind === "latency" || job.kind === "variants") && job.deviceClass !== o.deviceClass) throw new JobPayloadError(`job ${id} is for device class ${job.deviceClass}; this worker serves ${o.deviceClass}`);
  const started = Date.now();
  if (job.kind === "variants") {
    // a portfolio's files, measured in place: no session on the source model
    const files = [];
    for (const v of job.variants) files.push({ name: v.name, file: await o.store.verifiedBlobPath(v.sha256) });
    const measured = await measureVariants(files, { ...job.latency, threads: job.threads, gpuLayers: job.gpuLayers, ...(o.signal ? { signal: o.signal } : {}) });
    const output = await o.store.putBytes(Buffer.from(JSON.stringify(measured)));
    const result: StoreJobResult = { format: "apreqel-store-job", id, kind: job.kind, worker: o.worker, seconds: (Date.now() - started) / 1000, entries: [], profile: output };
    await o.store.writeJob(result);
    return { ...result, reused: false };
  }
  const session = await openJobSession(job, o);
  const touched = new Map<string, CacheEntry>();
  const s: Session = { ...session, cache: recording(session.cache, touched) };
  let profile: string | undefined;
  switch (job.kind) {
    case "calibration":
      await calibrationCapture(s, { calibration: await calibrationSet(o.store, job.calibration), nCtx: job.nCtx, threads: job.threads });
      break;
    case "uniform":
      await uniformModels(s, [knownType(job.type, "job.type")], await uniformOptions(o.store, job.uniform, job.threads));
      break;
    case "probe": {
      const all = planUnits(s.info.tensors, job.granularity);
      const units = job.units.map((name, i) => all.find((u) => u.name === name) ?? fail(`job.units[${i}]: ${JSON.stringify(name)} is not a ${job.granularity} unit of model ${job.modelName}`));
      const cells = job.cells === null ? undefined : new Set(job.cells.map(([u, t]) => u * job.types.length + t));
      // the same cells, keys and probes as the in-process run's (a planner's round: only its cells)
      await probeCells(s, {
        units: { granularity: job.granularity, units },
        types: job.types.map((t, i) => knownType(t, `job.types[${i}]`)),
        calibration: await calibrationSet(o.store, job.calibration),
        nCtx: job.nCtx,
        ...(job.chunks !== null ? { chunks: job.chunks } : {}),
        threads: job.threads,
        uniform: await uniformOptions(o.store, job.uniform, job.threads),
        ...(cells ? { select: (u: number, t: number) => cells.has(u * job.types.length + t) } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
      break;
    }
    case "latency": {
      const run = { threads: job.threads, gpuLayers: job.gpuLayers };
      const r = await profileModel(s, {
        ...(await uniformOptions(o.store, job.uniform, job.threads)),
        types: job.types.map((t, i) => knownType(t, `job.types[${i}]`)),
        only: "latency",
        latency: { ...job.latency, ...run },
        // not used with only: "latency" (the type asks for it)
        accuracy: { evalText: await readEvalText(), nCtx: DEFAULT_CTX, kld: false, ...run },
      });
      // the profile names the model as the user does, not by its blob name in the store
      profile = await o.store.putBytes(Buffer.from(JSON.stringify({ ...r.profile, model: { ...r.profile.model, name: job.modelName } }, null, 2) + "\n"));
      break;
    }
  }
  for (const entry of touched.values()) await o.store.exportEntry(entry);
  const result: StoreJobResult = {
    format: "apreqel-store-job",
    id,
    kind: job.kind,
    worker: o.worker,
    seconds: (Date.now() - started) / 1000,
    entries: [...touched.keys()],
    ...(profile !== undefined ? { profile } : {}),
  };
  await o.store.writeJob(result);
  return { ...result, reused: false };
}

async function openJobSession(job: Exclude<FleetJob, { kind: "variants" }>, o: RunJobOptions): Promise<Session> {
  // the model is read in place from the store: its hash (remembered per file in the worker's cache,
  // as the session's own) must be the one the payload names before anything reads it
  const model = o.store.blobPath(job.model);
  const cache = await Cache.open(o.cacheDir !== undefined ? { dir: o.cacheDir } : {});
  const sha256 = await cache.modelHash(model).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") throw new StoreIntegrityError(`store: the model blob ${job.model} is missing (the coordinator puts it there before queueing)`);
    throw e;
  });
  if (sha256 !== job.model) throw new StoreIntegrityError(`store: the model blob ${job.model} is damaged (its bytes hash to ${sha256})`);
  const session = await openSession({ model, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  // a latency is the device's own, whatever its build (a Jetson's CUDA build measures the CPU build's files
  // the same way): its uniform files, when their keys differ, are made here from the store's source and
  // the coordinator's importance matrix (the same bytes); everything else must be the coordinator's build
  if (job.kind !== "latency" && session.buildFingerprint !== job.build) {
    throw new JobPayloadError(
      `this worker's build (fingerprint ${session.buildFingerprint}: apreqel ${session.build.apreqelVersion}, llama.cpp ${session.build.llamaCppCommit.slice(0, 12)}${session.build.cuda ? ", CUDA" : ""}) is not the coordinator's (${job.build}); install the same apreqel version on every machine of the fleet`,
    );
  }
  for (const key of job.needs) await o.store.importEntry(session.cache, key);
  return session;
}

/** A CalibrationSet as the coordinator read it: the prompts from the store, the file's name as the dataset's. */
async function calibrationSet(store: Store, ref: TextRef): Promise<CalibrationSet> {
  const prompts: unknown = JSON.parse((await store.readBlob(ref.sha256)).toString("utf8"));
  if (!Array.isArray(prompts) || !prompts.every((p) => typeof p === "string")) throw new JobPayloadError(`store: text ${ref.sha256} is not a list of prompts`);
  return {
    prompts,
    sha256: ref.sha256,
    // the built-in set's path, or the user's file name (only its base name is ever used: messages, the imatrix's dataset)
    source: ref.name === null ? { kind: "builtin", path: path.join(packageRoot, "data", "calibration.json") } : { kind: "file", path: ref.name },
  };
}

async function uniformOptions(store: Store, u: UniformRef, threads: number): Promise<UniformOptions> {
  const nonLayerType = knownType(u.nonLayerType, "job.uniform.nonLayerType");
  switch (u.imatrix.from) {
    case "none":
      return { nonLayerType, threads };
    case "calibration":
      return { nonLayerType, threads, imatrixFrom: { calibration: await calibrationSet(store, u.imatrix.calibration), nCtx: u.imatrix.nCtx, threads } };
    case "file":
      return { nonLayerType, threads, imatrix: { path: await store.verifiedBlobPath(u.imatrix.sha256), sha256: u.imatrix.sha256 } };
  }
}

function knownType(name: string, where: string): GgmlType {
  if (!quantizeTypes().includes(name)) throw new JobPayloadError(`${where}: ${JSON.stringify(name)} is not a type llama.cpp quantizes to`);
  return name as GgmlType;
}

function fail(message: string): never {
  throw new JobPayloadError(message);
}

/** The cache, recording every entry a step gets or creates (what the job hands back through the store). */
function recording(cache: Session["cache"], touched: Map<string, CacheEntry>): Session["cache"] {
  const proxy: Session["cache"] = new Proxy(cache, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === "get" || property === "getOrCreate") {
        return async (...args: unknown[]) => {
          const entry = (await (value as (...a: unknown[]) => Promise<CacheEntry | undefined>).apply(proxy, args)) as CacheEntry | undefined;
          if (entry !== undefined) touched.set(entry.key, entry);
          return entry;
        };
      }
      // bound to the proxy: the cache's readers (use, find) reach entries through get and
      // getOrCreate, so what they touch is recorded too (the cache keeps no #private fields)
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(proxy) : value;
    },
  });
  return proxy;
}

