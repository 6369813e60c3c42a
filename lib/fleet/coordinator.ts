/**
 * The coordinator: a run's cacheable steps as jobs on the fleet's queues, waited for with one
 * progress report, their results brought from the store into this machine's cache. Then the
 * command runs as it does in-process, and every step it would have computed is a cache hit: the
 * front, TOPSIS and the assembly run here, on the same bytes, so the mix is the in-process mix.
 *
 * The steps depend on each other (the calibration pass's importance matrix goes into every uniform
 * file, the uniform files into every probe), and one uniform file feeds every probe batch: a DAG,
 * where BullMQ's flows are trees (a job has one parent). So a run is a few stages, each a set of
 * independent jobs, the next added when the last is done.
 *
 * A job's id is a cache key (keyFor, over everything that decides its result), so the queue adds a
 * job once however often a coordinator asks, a rerun of the command finds the jobs a dead
 * coordinator left (waiting, running or done) and the store's record of a finished job answers for
 * it without running it again.
 */
import path from "node:path";
import { AbortError, InputError } from "../core/errors.js";
import { planUnits, type Granularity } from "../gguf/units.js";
import type { GgmlType } from "../method/types.js";
import { cacheKey, type CacheKind } from "../cache/index.js";
import { buildInfo } from "../ops/build-info.js";
import { describeBuild, fingerprint } from "../pipeline/hardware.js";
import type { DeviceDescription, LatencyMeasurement, PortfolioManifest } from "../portfolio/manifest.js";
import { addDeviceLatencies, readPortfolio, saveManifest } from "../portfolio/write.js";
import { keyFor, type ProbeRound, type Session } from "../pipeline/session.js";
import type { CalibrationSet } from "../pipeline/texts.js";
import { DEFAULT_NON_LAYER_TYPE, resolveUniform, type UniformOptions } from "../pipeline/uniform.js";
import type { FleetJob, ImatrixRef, TextRef, UniformRef } from "./jobs.js";
import { connectionOptions, JOB_QUEUE, latencyQueue, loadBullMQ, queuePrefix, requireRedis, type BullMQ } from "./redis.js";
import { Store, type StoreJobResult } from "./store.js";
import { DEFAULT_CTX } from "../core/defaults.js";

/** Where the run stands, for the one progress display. */
export interface FleetProgress {
  readonly stage: string;
  /** jobs of the whole run known so far */
  readonly done: number;
  readonly total: number;
  /** finished jobs of this run by worker name */
  readonly byWorker: Readonly<Record<string, number>>;
  readonly running: number;
  /** from this run's own pace; absent before the first job this run ran finishes */
  readonly etaMs?: number;
  /** Redis cannot be reached right now (it restarted?): the coordinator keeps trying */
  readonly waitingForRedis?: string;
}

export interface CoordinatorOptions {
  readonly redis: string;
  readonly store: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: FleetProgress) => void;
  /** how often the store and the queue are polled (default 250 ms) */
  readonly pollMs?: number;
  /** attempts per job before a transient failure fails the run (default 3) */
  readonly attempts?: number;
}

/** One job of a stage. */
export interface StageJob {
  readonly id: string;
  readonly queue: string;
  readonly data: FleetJob;
}

/** The cache kind a job's id is keyed as (the kind of entry the job makes). */
const KIND_OF: Readonly<Record<FleetJob["kind"], CacheKind>> = { calibration: "similarity", uniform: "uniform", probe: "probe", latency: "measurement", variants: "measurement" };

/**
 * A job's id: the cache key of everything that decides its result (threads and the model's file
 * name do not), built where every key is built (session.ts keyFor).
 */
export function jobId(s: Session, job: FleetJob): string {
  const { threads: _threads, modelName: _name, ...decides } = job;
  const type = job.kind === "uniform" ? job.type : null;
  return keyFor(s, KIND_OF[job.kind], type, { fleetJob: decides }).id;
}

export class Coordinator {
  readonly store: Store;
  /** every finished job of this run, in the order they were seen finished */
  readonly results: StoreJobResult[] = [];
  private readonly queues = new Map<string, InstanceType<BullMQ["Queue"]>>();
  private total = 0;
  // jobs whose result was in the store before this run asked for them
  private reused = 0;
  private readonly reusedAt = new Set<number>();
  // the last connection error since a poll last went through
  private redisTrouble: string | undefined;
  private finishedHere = 0;
  private readonly started = Date.now();

  private constructor(
    private readonly bull: BullMQ,
    private readonly o: CoordinatorOptions,
    store: Store,
  ) {
    this.store = store;
  }

  /** Checks that Redis answers and the store opens, before any work. */
  static async open(o: CoordinatorOptions): Promise<Coordinator> {
    await requireRedis(o.redis);
    const store = await Store.open(o.store);
    return new Coordinator(await loadBullMQ(), o, store);
  }

  private queue(name: string): InstanceType<BullMQ["Queue"]> {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = new this.bull.Queue(name, { connection: connectionOptions(this.o.redis), prefix: queuePrefix(this.store.id) });
      // connection trouble is reported through the progress (waitingForRedis), not as an unhandled event;
      // while Redis is away the queue's commands wait for the reconnection (ioredis' offline queue)
      q.on("error", (e: Error) => void (this.redisTrouble = e.message));
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Runs one stage: adds the jobs not yet done (a job already queued is not added twice; one a
   * previous run left failed is retried), waits for all of them, and returns their results. A job
   * that fails for good fails the stage with its reason; an abort removes the stage's waiting jobs.
   */
  async runStage(stage: string, jobs: readonly StageJob[]): Promise<StoreJobResult[]> {
    const unique = [...new Map(jobs.map((j) => [j.id, j])).values()];
    this.total += unique.length;
    const out = new Map<string, StoreJobResult>();
    const pending = new Map<string, StageJob>();
    for (const j of unique) {
      const done = await this.store.readJob(j.id);
      if (done) out.set(j.id, done);
      else pending.set(j.id, j);
    }
    for (const r of out.values()) this.reusedAt.add(this.results.push(r) - 1);
    this.reused += out.size;
    await this.withRedis(stage, () => this.enqueue([...pending.values()]));
    const queues = [...new Set(unique.map((j) => j.queue))];
    // failed jobs are kept a while (removeOnFail): only a count above the stage's start means one of ours
    const failedAtStart = new Map<string, number>();
    await this.withRedis(stage, async () => {
      for (const name of queues) failedAtStart.set(name, (await this.queue(name).getJobCounts("failed")).failed ?? 0);
    });
    let polls = 0;
    // a poll blocked on a reconnecting Redis still says why the run is waiting
    const watch = setInterval(() => this.redisTrouble !== undefined && this.report(stage, 0, this.redisTrouble), 1000);
    try {
      while (pending.size > 0) {
        if (this.o.signal?.aborted) {
          const removed = await this.cancel([...pending.values()]).catch(() => 0);
          throw new AbortError(`interrupted: ${removed} waiting job${removed === 1 ? "" : "s"} removed from the queue; the running ones finish, and a rerun uses what they leave in the store`);
        }
        // one listing of the store's job records per poll, however many jobs are pending
        const finished = await this.store.finishedJobs();
        for (const [id] of pending) {
          if (!finished.has(id)) continue;
          const r = await this.store.readJob(id);
          if (r === undefined) continue;
          pending.delete(id);
          out.set(id, r);
          this.results.push(r);
          this.finishedHere++;
        }
        if (pending.size === 0) break;
        let running = 0;
        const trouble = await this.withRedis(stage, async () => {
          let failed = false;
          for (const name of queues) {
            const counts = await this.queue(name).getJobCounts("active", "failed");
            running += counts.active ?? 0;
            failed ||= (counts.failed ?? 0) > (failedAtStart.get(name) ?? 0);
          }
          // each job's state only when something failed, or now and then to find a job that vanished
          // (Redis lost its data, or a rerun found it removed): re-added
          if (!failed && polls % 20 !== 0) return;
          const list = [...pending.values()];
          for (let i = 0; i < list.length; i += 200) {
            const chunk = list.slice(i, i + 200);
            const jobs = await Promise.all(chunk.map((j) => this.queue(j.queue).getJob(j.id)));
            const states = await Promise.all(jobs.map((job) => job?.getState()));
            for (const [k, j] of chunk.entries()) {
              const job = jobs[k];
              if (job === undefined) {
                await this.enqueue([j]);
                continue;
              }
              if (states[k] !== "failed" || (await this.store.readJob(j.id)) !== undefined) continue;
              const attempts = job.opts.attempts ?? 1;
              const removed = await this.cancel(list.filter((p) => p.id !== j.id));
              const what = `the ${j.data.kind} job ${j.id.slice(0, 12)} (${describeJob(j.data)})`;
              const also = removed > 0 ? `; ${removed} waiting job${removed === 1 ? "" : "s"} removed` : "";
              // UnrecoverableError ends a job before its attempts are used up: a reason that will not change
              if (job.attemptsMade < attempts) throw new InputError(`fleet: ${what} failed: ${job.failedReason}${also}`);
              throw new Error(`fleet: ${what} failed ${job.attemptsMade} times; last: ${job.failedReason}${also}`);
            }
          }
        }, true);
        if (trouble === undefined) this.redisTrouble = undefined;
        this.report(stage, running, trouble);
        polls++;
        await sleep(this.o.pollMs ?? 250, this.o.signal);
      }
    } finally {
      clearInterval(watch);
    }
    this.report(stage, 0);
    return unique.map((j) => out.get(j.id)!);
  }

  /** Brings the entries of `results` from the store into the session's cache (verified). */
  async importResults(s: Session, results: readonly StoreJobResult[]): Promise<void> {
    for (const key of new Set(results.flatMap((r) => r.entries))) await this.store.importEntry(s.cache, key);
  }

  /** Finished jobs of this run by worker ("alice: 3 probe, 1 uniform"), and how many were in the store already. */
  summary(): string[] {
    const by = new Map<string, Map<string, number>>();
    for (const r of this.results.filter((_, i) => !this.reusedAt.has(i))) {
      const kinds = by.get(r.worker) ?? new Map<string, number>();
      kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      by.set(r.worker, kinds);
    }
    const lines = [...by].map(([worker, kinds]) => `${worker}: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`);
    if (this.reused > 0) lines.push(`${this.reused} job${this.reused === 1 ? "" : "s"} done before (results in the store, not run again)`);
    return lines;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
  }

  private async enqueue(jobs: readonly StageJob[]): Promise<void> {
    const attempts = this.o.attempts ?? 3;
    for (let i = 0; i < jobs.length; i += 200) {
      const chunk = jobs.slice(i, i + 200);
      const existing = await Promise.all(chunk.map((j) => this.queue(j.queue).getJob(j.id)));
      const add = new Map<string, StageJob[]>();
      for (const [k, j] of chunk.entries()) {
        const job = existing[k];
        if (job === undefined) add.set(j.queue, [...(add.get(j.queue) ?? []), j]);
        // a previous run's job that failed (attempts used up, or a worker gone): this run tries it again
        else if ((await job.getState()) === "failed") await job.retry("failed");
      }
      for (const [name, list] of add) {
        await this.queue(name).addBulk(
          list.map((j) => ({
            name: j.data.kind,
            data: j.data,
            opts: {
              jobId: j.id,
              attempts,
              backoff: { type: "exponential", delay: 1000 },
              // the store keeps the results; the queue keeps finished jobs a while for inspection
              removeOnComplete: { age: 24 * 3600 },
              removeOnFail: { age: 7 * 24 * 3600 },
            },
          })),
        );
      }
    }
  }

  /** Removes the jobs that no worker has started; returns how many. */
  private async cancel(jobs: readonly StageJob[]): Promise<number> {
    let removed = 0;
    for (const j of jobs) {
      const job = await this.queue(j.queue).getJob(j.id);
      if (job === undefined) continue;
      const state = await job.getState();
      if (state === "waiting" || state === "delayed" || state === "prioritized" || state === "waiting-children") {
        await job.remove().catch(() => {});
        removed++;
      }
    }
    return removed;
  }

  // runs a Redis step; a connection failure is waited out (reported), any other error propagates
  private async withRedis(stage: string, step: () => Promise<void>, once = false): Promise<string | undefined> {
    for (;;) {
      try {
        await step();
        return undefined;
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        const why = (e as Error).message;
        if (once) return why;
        this.report(stage, 0, why);
        await sleep(500, this.o.signal);
        if (this.o.signal?.aborted) throw new AbortError("interrupted while waiting for Redis");
      }
    }
  }

  private report(stage: string, running: number, waitingForRedis?: string): void {
    if (!this.o.onProgress) return;
    const byWorker: Record<string, number> = {};
    for (const r of this.results) byWorker[r.worker] = (byWorker[r.worker] ?? 0) + 1;
    const done = this.results.length;
    const elapsed = Date.now() - this.started;
    const left = this.total - done;
    this.o.onProgress({
      stage,
      done,
      total: this.total,
      byWorker,
      running,
      ...(this.finishedHere > 0 && left > 0 ? { etaMs: (elapsed / this.finishedHere) * left } : {}),
      ...(waitingForRedis !== undefined ? { waitingForRedis } : {}),
    });
  }
}

function isConnectionError(e: unknown): boolean {
  const m = (e as Error | undefined)?.message ?? "";
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|Stream isn't writeable|LOADING|connect/i.test(m) && !(e instanceof InputError);
}

function describeJob(j: FleetJob): string {
  switch (j.kind) {
    case "calibration":
      return `calibration pass of ${j.modelName}`;
    case "uniform":
      return `${j.modelName} quantized to ${j.type}, non-layer tensors ${j.uniform.nonLayerType}`;
    case "probe":
      return `probes of ${j.units.length} unit${j.units.length === 1 ? "" : "s"} × ${j.types.length} types of ${j.modelName}`;
    case "latency":
      return `latency of ${j.modelName}'s uniform files on ${j.deviceClass}`;
    case "variants":
      return `latency of ${j.variants.length} portfolio variant${j.variants.length === 1 ? "" : "s"} of ${j.modelName} on ${j.deviceClass}`;
  }
}

/** A poll's wait, cut short by `signal`; its listener goes with it (a run polls for an hour on one signal). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Units per probe batch: enough cells to pay for loading the reference once, few enough to spread a model over many workers. */
export const PROBE_BATCH_UNITS = 8;

/** What a run computes before its plan: the settings the in-process steps are called with. */
export interface FleetSteps {
  readonly uniform: UniformOptions;
  /** the uniform set's types, least aggressive first */
  readonly types: readonly GgmlType[];
  /** the calibration pass score's cosines come from (the importance matrix's pass, when uniform.imatrixFrom, runs anyway) */
  readonly calibration?: CalibrationSet;
  readonly nCtx: number;
  readonly threads: number;
  /**
   * a measured Δ table: its granularity, types and probe chunks; `planned`: the probe planner picks
   * the cells round by round within the user's budget (probeRoundOnFleet), so only the reference
   * probe runs here, not the whole table in batches
   */
  readonly measure?: { readonly granularity: Granularity; readonly types: readonly GgmlType[]; readonly chunks?: number; readonly planned?: boolean };
}

/**
 * The run's cacheable steps on the fleet, stage by stage (calibration pass; uniform files; the
 * probes' reference; probe batches), each stage's results brought into the session's cache. What
 * the in-process run then asks of the cache is there.
 */
export async function computeOnFleet(s: Session, fleet: Coordinator, o: FleetSteps): Promise<{ readonly probeNeeds: readonly string[] }> {
  const store = fleet.store;
  await store.putFile(s.model, s.sha256);
  const calibration = o.calibration === undefined ? undefined : await putText(store, o.calibration);
  const common = jobCommon(s, o.threads);
  const imatrix = await imatrixRef(store, o.uniform);
  const job = (data: FleetJob): StageJob => stageJob(s, data);

  const stageA = [
    ...(calibration ? [job({ ...common, kind: "calibration", needs: [], calibration, nCtx: o.nCtx })] : []),
    ...(imatrix.from === "calibration" ? [job({ ...common, kind: "calibration", needs: [], calibration: imatrix.calibration, nCtx: imatrix.nCtx })] : []),
  ];
  const a = stageA.length === 0 ? [] : await fleet.runStage("calibration pass", stageA);
  await fleet.importResults(s, a);
  const afterA = entriesOf(a);

  const nonLayerType = o.uniform.nonLayerType ?? DEFAULT_NON_LAYER_TYPE;
  const uniformRef = (nlt: string): UniformRef => ({ nonLayerType: nlt, imatrix });
  const units = o.measure ? planUnits(s.info.tensors, o.measure.granularity) : [];
  // tensor units outside the blocks are probed from the reference type's file with that type outside the blocks
  const nonLayer = o.measure && units.some((u) => u.block === null) ? o.measure.types.filter((t) => t !== nonLayerType) : [];
  const stageB = [
    ...o.types.map((type) => job({ ...common, kind: "uniform", needs: afterA, type, uniform: uniformRef(nonLayerType) })),
    ...nonLayer.map((t) => job({ ...common, kind: "uniform", needs: afterA, type: o.measure!.types[0]!, uniform: uniformRef(t) })),
  ];
  const b = await fleet.runStage("uniform files", stageB);
  await fleet.importResults(s, b);
  if (!o.measure) return { probeNeeds: [] };

  const m = o.measure;
  if (calibration === undefined) throw new TypeError("computeOnFleet: probes need the calibration set");
  const probe = (batch: readonly string[], types: readonly string[], needs: readonly string[]) =>
    job({ ...common, kind: "probe", needs, granularity: m.granularity, units: batch, types, cells: null, calibration, nCtx: o.nCtx, chunks: m.chunks ?? null, uniform: uniformRef(nonLayerType) });
  // the reference probe alone first (a block unit at the reference type is the reference): every batch uses it
  const firstBlockUnit = units.find((u) => u.block !== null);
  const afterB = entriesOf([...a, ...b]);
  let needs = afterB;
  if (firstBlockUnit) {
    const c = await fleet.runStage("probe reference", [probe([firstBlockUnit.name], [m.types[0]!], afterB)]);
    await fleet.importResults(s, c);
    needs = entriesOf([...a, ...b, ...c]);
  }
  if (m.planned) return { probeNeeds: needs };
  const batches: string[][] = [];
  for (let i = 0; i < units.length; i += PROBE_BATCH_UNITS) batches.push(units.slice(i, i + PROBE_BATCH_UNITS).map((u) => u.name));
  const d = await fleet.runStage("probe batches", batches.map((batch) => probe(batch, m.types, needs)));
  await fleet.importResults(s, d);
  return { probeNeeds: needs };
}

/** Cells per job of a planner's round: each job pays a native call's overhead (the source's and the reference's passes, two full probes), so a job gets at least this many probes. */
export const PROBE_ROUND_CELLS_PER_JOB = 8;

/**
 * One round of the probe planner on the fleet (Session.probeRunner): its cells as probe jobs that
 * probe only them, grouped by unit so each job has at least PROBE_ROUND_CELLS_PER_JOB cells, their
 * results brought into the session's cache. Run after computeOnFleet, with the entries it says the
 * probes need (uniform files, the reference probe): a job's id does not depend on earlier rounds.
 */
export async function probeRoundOnFleet(s: Session, fleet: Coordinator, o: FleetSteps, needs: readonly string[], round: ProbeRound): Promise<void> {
  if (round.cells.length === 0) return;
  const store = fleet.store;
  const calibration = await putText(store, round.calibration);
  const imatrix = await imatrixRef(store, o.uniform);
  const byUnit = new Map<string, number[]>();
  for (const c of round.cells) byUnit.set(c.unit, [...(byUnit.get(c.unit) ?? []), round.types.indexOf(c.type)]);
  const groups: [string, number[]][][] = [[]];
  let inGroup = 0;
  const perJob = Math.max(PROBE_ROUND_CELLS_PER_JOB, Math.ceil(round.cells.length / Math.max(1, Math.floor(round.cells.length / PROBE_ROUND_CELLS_PER_JOB))));
  for (const entry of byUnit) {
    if (inGroup >= perJob) {
      groups.push([]);
      inGroup = 0;
    }
    groups[groups.length - 1]!.push(entry);
    inGroup += entry[1].length;
  }
  const jobs = groups.map((group) =>
    stageJob(s, {
      ...jobCommon(s, o.threads),
      kind: "probe",
      needs: [...needs],
      granularity: round.granularity,
      units: group.map(([unit]) => unit),
      types: round.types,
      cells: group.flatMap(([, types], u) => types.map((t) => [u, t] as const)),
      calibration,
      nCtx: round.nCtx,
      chunks: round.chunks ?? null,
      uniform: { nonLayerType: o.uniform.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, imatrix },
    }),
  );
  await fleet.importResults(s, await fleet.runStage("probe round", jobs));
}

/**
 * The latency part of the uniform set's profile, measured by a worker of `deviceClass`; returns
 * the profile (parsed JSON of `apreqel profile --only latency`).
 */
export async function latencyOnFleet(s: Session, fleet: Coordinator, o: Omit<FleetSteps, "measure"> & { readonly deviceClass: string; readonly latency: { readonly nGen: number; readonly nPrompt: number; readonly reps: number }; readonly gpuLayers: number }): Promise<unknown> {
  // the uniform files first, on any worker (the device builds nothing it can be sent)
  await computeOnFleet(s, fleet, o);
  const store = fleet.store;
  // the importance matrix as a file (the calibration pass's, from this cache): a device of another build
  // that makes its uniform files itself makes them with the same matrix, so the same bytes
  const resolved = await resolveUniform(s, o.uniform);
  const imatrix: ImatrixRef = resolved.imatrix ? { from: "file", sha256: await store.putFile(resolved.imatrix.path, resolved.imatrix.sha256) } : { from: "none" };
  const needs = entriesOf(fleet.results);
  const data: FleetJob = {
    ...jobCommon(s, o.threads),
    kind: "latency",
    needs,
    deviceClass: o.deviceClass,
    types: o.types,
    uniform: { nonLayerType: o.uniform.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, imatrix },
    latency: o.latency,
    gpuLayers: o.gpuLayers,
  };
  const [r] = await fleet.runStage(`latency on ${o.deviceClass}`, [{ id: jobId(s, data), queue: latencyQueue(o.deviceClass), data }]);
  if (r?.profile === undefined) throw new Error(`fleet: the latency job on ${o.deviceClass} left no profile in the store`);
  return JSON.parse((await store.readBlob(r.profile)).toString("utf8"));
}

/** The fields every job of `s`'s model carries. */
function jobCommon(s: Session, threads: number) {
  return { v: 1 as const, model: s.sha256, modelName: path.basename(s.model), threads, build: s.buildFingerprint };
}

/** A job of `s`'s model on the queue, its id its content key (a job done before is not redone). */
function stageJob(s: Session, data: FleetJob): StageJob {
  return { id: jobId(s, data), queue: JOB_QUEUE, data };
}

/** The uniform files' importance matrix as jobs name it: a file in the store, the calibration pass's, or none. */
async function imatrixRef(store: Store, uniform: UniformOptions): Promise<ImatrixRef> {
  if (uniform.imatrix) return { from: "file", sha256: await store.putFile(uniform.imatrix.path, uniform.imatrix.sha256) };
  if (uniform.imatrixFrom) return { from: "calibration", calibration: await putText(store, uniform.imatrixFrom.calibration), nCtx: uniform.imatrixFrom.nCtx ?? DEFAULT_CTX };
  return { from: "none" };
}

function entriesOf(results: readonly StoreJobResult[]): string[] {
  return [...new Set(results.flatMap((r) => r.entries))].sort();
}

async function putText(store: Store, c: CalibrationSet): Promise<TextRef> {
  // the blob is the prompts' JSON, whose sha256 is the set's (texts.ts): the worker reads back the same set
  const sha = await store.putBytes(Buffer.from(JSON.stringify(c.prompts)));
  if (sha !== c.sha256) throw new Error(`fleet: the calibration set's sha256 ${c.sha256} is not its prompts' (${sha})`);
  return { sha256: sha, name: c.source.kind === "builtin" ? null : path.basename(c.source.path) };
}

/**
 * A portfolio's variants measured on each device class by its workers (`apreqel portfolio profile
 * DIR --redis …`): the variant files go into the store, one job per class on the class's queue,
 * and each class's device is added to every variant's latencies in DIR/portfolio.json (rewritten
 * once, atomically, when all are measured).
 */
export async function profilePortfolioOnFleet(
  fleet: Coordinator,
  dir: string,
  o: { readonly deviceClasses: readonly string[]; readonly latency: { readonly nGen: number; readonly nPrompt: number; readonly reps: number }; readonly threads: number; readonly gpuLayers: number },
): Promise<{ manifest: PortfolioManifest; devices: { readonly deviceClass: string; readonly device: DeviceDescription }[] }> {
  const { manifest, dir: root, path: file } = await readPortfolio(dir, { verifyFiles: true });
  const variants: { name: string; sha256: string }[] = [];
  for (const v of manifest.variants) variants.push({ name: v.name, sha256: await fleet.store.putFile(path.join(root, v.file), v.sha256) });
  const build = fingerprint({ build: describeBuild(buildInfo()) });
  const jobs = o.deviceClasses.map((deviceClass): StageJob => {
    const data: FleetJob = { v: 1, kind: "variants", model: manifest.model.sha256, modelName: path.basename(manifest.model.name), threads: o.threads, build, needs: [], deviceClass, variants, latency: o.latency, gpuLayers: o.gpuLayers };
    const { threads: _threads, modelName: _name, ...decides } = data;
    // no session here (no model is opened): the key keyFor would build, from the portfolio's source model and this build
    return { id: cacheKey({ modelSha256: manifest.model.sha256, kind: "measurement", type: null, settings: { fleetJob: decides }, fingerprint: build }).id, queue: latencyQueue(deviceClass), data };
  });
  const results = await fleet.runStage("portfolio latency", jobs);
  let updated = manifest;
  const devices: { deviceClass: string; device: DeviceDescription }[] = [];
  for (const [i, r] of results.entries()) {
    if (r.profile === undefined) throw new Error(`fleet: the portfolio latency job on ${o.deviceClasses[i]} left no measurements in the store`);
    const measured = JSON.parse((await fleet.store.readBlob(r.profile)).toString("utf8")) as { byName: Record<string, LatencyMeasurement>; device: DeviceDescription };
    updated = addDeviceLatencies(updated, measured.byName);
    devices.push({ deviceClass: o.deviceClasses[i]!, device: measured.device });
  }
  // validated as a whole before it replaces the manifest (saveManifest)
  await saveManifest(file, updated);
  return { manifest: updated, devices };
}
