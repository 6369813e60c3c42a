/**
 * The sandboxed processor: BullMQ forks a child process that runs this file for each job, so a
 * native crash (or a model that exhausts memory) fails that job, not the worker, and BullMQ
 * retries it. The worker passes its settings in the child's environment (worker.ts).
 */
import type { SandboxedJob } from "bullmq";
import { loadBullMQ } from "./redis.js";
import { isPermanent, runJob } from "./run-job.js";
import { Store } from "./store.js";

let store: Promise<Store> | undefined;

// The worker that forked this child died (killed -9, or the machine's OOM killer): the queue hands
// the job to another worker once its lock runs out, so this copy stops now rather than run on as an
// orphan. SIGKILL, not exit(): exit would wait for the native job on libuv's thread pool. What it
// was writing stays in temp files (the cache's tmp/, the store's tmp/), which nothing reads.
process.once("disconnect", () => process.kill(process.pid, "SIGKILL"));

export default async function process_(job: SandboxedJob): Promise<{ worker: string; seconds: number; reused: boolean }> {
  const env = process.env;
  try {
    store ??= Store.open(env["APREQEL_FLEET_STORE"] ?? "", "--store");
    const r = await runJob(String(job.id), job.data, {
      store: await store,
      ...(env["APREQEL_FLEET_CACHE"] ? { cacheDir: env["APREQEL_FLEET_CACHE"] } : {}),
      worker: env["APREQEL_FLEET_WORKER"] ?? "worker",
      deviceClass: env["APREQEL_FLEET_CLASS"] ?? "",
      onProgress: (f) => void job.updateProgress(Math.round(f * 100)).catch(() => {}),
    });
    return { worker: r.worker, seconds: r.seconds, reused: r.reused };
  } catch (e) {
    // a failure that will not change: fail the job now instead of retrying it (BullMQ's UnrecoverableError)
    if (isPermanent(e)) {
      const { UnrecoverableError } = await loadBullMQ();
      throw new UnrecoverableError((e as Error).message);
    }
    throw e;
  }
}
