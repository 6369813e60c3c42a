/**
 * `apreqel worker`: BullMQ workers on the fleet's queues. Each job runs in a child process
 * (processor.ts, BullMQ's sandboxed processors), so a crash fails the job, not the worker. One
 * worker takes uniform files, calibration passes and probe batches from the shared queue
 * (`concurrency` at a time), and latency jobs of its device class from that class's queue, one at
 * a time. A latency is the device's only when nothing else runs there: `latencyOnly` (the CLI's
 * --latency-only) makes a worker that takes nothing but its class's latency jobs.
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { DEVICE_CLASS } from "./jobs.js";
import { connectionOptions, JOB_QUEUE, latencyQueue, loadBullMQ, queuePrefix } from "./redis.js";
import { Store } from "./store.js";
import { OptionError } from "../core/errors.js";

export interface WorkerOptions {
  readonly redis: string;
  readonly store: string;
  readonly cacheDir?: string;
  readonly deviceClass: string;
  /** jobs of the shared queue at a time (default 1) */
  readonly concurrency?: number;
  /**
   * take latency jobs only (none from the shared queue): a device measuring latency should run
   * nothing else meanwhile, and a worker taking both runs a probe beside a latency job
   */
  readonly latencyOnly?: boolean;
  /** this worker's name in the coordinator's display (default host:pid) */
  readonly name?: string;
  /** how long a job's lock lasts without renewal before the job counts as stalled and goes to another worker (default 30 s) */
  readonly stallMs?: number;
  /** a line per event (started, done, failed, connection trouble) */
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly name: string;
  readonly queues: readonly string[];
  /** waits for the jobs in hand to finish, then disconnects */
  close(): Promise<void>;
}

/** The processor's file beside this one (dist/lib/fleet/processor.js in a build). */
export function processorFile(): string {
  return fileURLToPath(new URL("./processor.js", import.meta.url));
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  if (!DEVICE_CLASS.test(o.deviceClass)) throw new OptionError("--device-class", `--device-class: expected letters, digits, "_", "-" or "." (at most 64) but received ${JSON.stringify(o.deviceClass)}`);
  const store = await Store.open(o.store);
  const { Worker } = await loadBullMQ();
  const connection = connectionOptions(o.redis);
  const name = o.name ?? `${os.hostname()}:${process.pid}`;
  const log = o.log ?? (() => {});
  const stallMs = o.stallMs ?? 30_000;
  const common = {
    connection,
    prefix: queuePrefix(store.id),
    name,
    useWorkerThreads: false,
    workerForkOptions: {
      env: {
        ...process.env,
        APREQEL_FLEET_STORE: store.dir,
        APREQEL_FLEET_WORKER: name,
        APREQEL_FLEET_CLASS: o.deviceClass,
        ...(o.cacheDir !== undefined ? { APREQEL_FLEET_CACHE: o.cacheDir } : {}),
      },
    },
    lockDuration: stallMs,
    stalledInterval: stallMs,
    // a job whose worker died is handed to another; one that stalls this often is failed
    maxStalledCount: 3,
  } as const;
  const queues = [...(o.latencyOnly ? [] : [JOB_QUEUE]), latencyQueue(o.deviceClass)];
  const workers = [
    ...(o.latencyOnly ? [] : [new Worker(JOB_QUEUE, processorFile(), { ...common, concurrency: o.concurrency ?? 1 })]),
    new Worker(latencyQueue(o.deviceClass), processorFile(), { ...common, concurrency: 1 }),
  ];
  let lastError = "";
  for (const w of workers) {
    w.on("active", (job) => log(`${name}: started ${job.name} ${String(job.id).slice(0, 12)}`));
    w.on("completed", (job, result: { seconds?: number; reused?: boolean } | undefined) =>
      log(`${name}: done ${job.name} ${String(job.id).slice(0, 12)}${result?.reused ? " (done before: reused)" : ` in ${(result?.seconds ?? 0).toFixed(1)} s`}`),
    );
    w.on("failed", (job, e) => log(`${name}: failed ${job?.name ?? "job"} ${String(job?.id ?? "").slice(0, 12)}: ${e.message}`));
    // connection trouble repeats every retry: said once until it changes
    w.on("error", (e) => {
      if (e.message !== lastError) log(`${name}: ${e.message}`);
      lastError = e.message;
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    name,
    queues,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
