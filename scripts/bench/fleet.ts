// Issue 23: what the fleet costs and what it gains. Starts its own redis-server on a free port.
//  1. Per-job overhead: the probe batches of a model run through one worker (1 thread), against the
//     same batches run in-process one after another; (fleet wall − in-process) / batches, as a
//     fraction of one batch's in-process time. It holds everything between enqueue and the result in
//     the store: queueing, the child process, the session, bringing the uniform files in, the export.
//  2. Speed-up: the same probe stage with 2 workers (1 thread each) against 1 worker.
//  3. The whole quantize in-process and through 2 workers: wall time of each, and the same bytes.
//  4. The coordinator's ceiling: N stand-in jobs (each sleeps --sim-ms and writes its record) over
//     --sim-workers BullMQ workers in this process; jobs/s the coordinator sustains against the
//     workers' ideal (workers / sim-ms).
//   npm run build:ts && npx vite-node scripts/bench/fleet.ts [--shape tiny|llama-3.2-1b] [--sim-jobs 2000]
//     [--sim-workers 64] [--sim-ms 20] [--sim-only] [--write]
// Timings mean something only on a quiet machine; --write puts them in docs/benchmarks.md.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";
import { computeOnFleet, Coordinator, jobId, PROBE_BATCH_UNITS, type StageJob } from "../../lib/fleet/coordinator.js";
import type { FleetJob } from "../../lib/fleet/jobs.js";
import { connectionOptions, JOB_QUEUE, queuePrefix } from "../../lib/fleet/redis.js";
import { Store } from "../../lib/fleet/store.js";
import { planUnits } from "../../lib/gguf/units.js";
import type { GgmlType } from "../../lib/method/types.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../../lib/ops/fixtures.js";
import { measureSensitivity } from "../../lib/pipeline/sensitivity.js";
import { openSession, type Session } from "../../lib/pipeline/session.js";
import { readCalibration } from "../../lib/pipeline/texts.js";
import { resolveUniform, uniformModels } from "../../lib/pipeline/uniform.js";
import { machine, writeSection } from "./report.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const shape = arg("--shape", "tiny");
const simJobs = Number(arg("--sim-jobs", "2000"));
const simWorkers = Number(arg("--sim-workers", "64"));
const simMs = Number(arg("--sim-ms", "20"));
const write = process.argv.includes("--write");
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-fleet-bench-"));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);

// --- Redis ---------------------------------------------------------------------------------
const port = await new Promise<number>((resolve) => {
  const server = net.createServer().listen(0, "127.0.0.1", () => {
    const p = (server.address() as net.AddressInfo).port;
    server.close(() => resolve(p));
  });
});
const redisServer = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""], { stdio: "ignore" });
children.push(redisServer);
const redis = `redis://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const up = await new Promise<boolean>((resolve) => net.connect(port, "127.0.0.1").on("connect", function (this: net.Socket) { this.destroy(); resolve(true); }).on("error", () => resolve(false)));
  if (up) break;
  if (i > 100) throw new Error("redis-server did not start (is it installed?)");
  await new Promise((r) => setTimeout(r, 50));
}

// --- the model and the settings ---------------------------------------------------------------
if (!(shape in FIXTURE_SHAPES)) throw new Error(`--shape: one of ${Object.keys(FIXTURE_SHAPES).join(", ")}`);
const model = await writeRandomModel({ output: path.join(dir, "model.gguf"), seed: 1, type: "f16", ...FIXTURE_SHAPES[shape as keyof typeof FIXTURE_SHAPES] });
const calibrationFile = path.join(dir, "calibration.txt");
writeFileSync(calibrationFile, Array.from({ length: 8 }, (_, i) => `Paragraph ${i}: the river remembers the morning light, and every stone keeps a little of the sun. `.repeat(8)).join("\n\n"));
const calibration = await readCalibration(calibrationFile);
const types: GgmlType[] = ["q8_0", "q4_K", "q3_K"];
const nCtx = 64;
const chunks = 2;

async function session(cache: string): Promise<Session> {
  return openSession({ model, cacheDir: path.join(dir, cache) });
}

function startWorker(store: string, name: string): Promise<void> {
  const child = spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), "worker", "--redis", redis, "--store", store, "--cache-dir", path.join(dir, `cache-${name}`), "--name", name], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve) => child.stdout!.on("data", (d) => String(d).includes("waiting for jobs") && resolve()));
}

/** The probe stage's wall time through the fleet with `workers` workers on a fresh store. */
async function fleetProbeStage(workers: number): Promise<{ wall: number; batches: number; jobSeconds: number }> {
  const store = path.join(dir, `store-${workers}`);
  await Store.open(store);
  const started: Promise<void>[] = [];
  for (let i = 0; i < workers; i++) started.push(startWorker(store, `w${workers}-${i}`));
  await Promise.all(started);
  const s = await session(`cache-coordinator-${workers}`);
  const fleet = await Coordinator.open({ redis, store });
  const run = fleet.runStage.bind(fleet);
  let probe = { wall: 0, batches: 0, jobSeconds: 0 };
  fleet.runStage = async (stage: string, jobs: readonly StageJob[]) => {
    const t0 = performance.now();
    const results = await run(stage, jobs);
    if (stage === "probe batches") probe = { wall: (performance.now() - t0) / 1000, batches: jobs.length, jobSeconds: results.reduce((a, r) => a + r.seconds, 0) };
    return results;
  };
  await computeOnFleet(s, fleet, { uniform: { imatrixFrom: { calibration, nCtx, threads: 1 }, threads: 1 }, types, calibration, nCtx, threads: 1, measure: { granularity: "tensor", types, chunks } });
  await fleet.close();
  for (const c of children.splice(1)) c.kill("SIGINT");
  return probe;
}

/** The same probe batches in-process, one after another, with the uniform files and the reference already cached. */
async function inProcessProbes(): Promise<{ seconds: number; batches: number }> {
  const fresh = await session("cache-inprocess");
  const uniform = await resolveUniform(fresh, { imatrixFrom: { calibration, nCtx, threads: 1 }, threads: 1 });
  const units = planUnits(fresh.info.tensors, "tensor");
  // warm, as the fleet's stages before the batches: the uniform files (with each non-layer type) and the reference probe
  await uniformModels(fresh, types, uniform);
  for (const t of types) await uniformModels(fresh, [types[0]!], { ...uniform, nonLayerType: t });
  await measureSensitivity(fresh, { units: { granularity: "tensor", units: [units.find((u) => u.block !== null)!] }, types: [types[0]!], calibration, nCtx, chunks, threads: 1, uniform });
  const t0 = performance.now();
  let batches = 0;
  for (let i = 0; i < units.length; i += PROBE_BATCH_UNITS, batches++) {
    await measureSensitivity(fresh, { units: { granularity: "tensor", units: units.slice(i, i + PROBE_BATCH_UNITS) }, types, calibration, nCtx, chunks, threads: 1, uniform });
  }
  return { seconds: (performance.now() - t0) / 1000, batches };
}

/**
 * The whole `quantize` (calibration, uniform files, probes, plan, assembly; the result not measured)
 * in-process and through 2 workers, each from an empty cache and store: the wall time of each, and
 * whether the two mixes are the same bytes. The choice depends on the KLD table and a size limit only.
 */
async function quantizeBoth(): Promise<{ inProcess: number; fleet: number; identical: boolean }> {
  const settings = ["--calibration", calibrationFile, "--ctx", String(nCtx), "--probe-chunks", String(chunks), "--types", types.join(","), "--threads", "1", "--n-gen", "4", "--n-prompt", "0", "--reps", "1", "--weights", "0,0,1", "--target-bpw", "5.5", "--no-measure", "--json"];
  const cli = async (args: readonly string[]) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), ...args], { stdio: ["ignore", "ignore", "inherit"] });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`apreqel ${args.join(" ")} exited with ${code}`);
    return (performance.now() - t0) / 1000;
  };
  const inProcess = await cli(["quantize", model, "-o", path.join(dir, "whole-in-process.gguf"), "--cache-dir", path.join(dir, "cache-whole-local"), ...settings]);
  const store = path.join(dir, "store-whole");
  await Store.open(store);
  await Promise.all([startWorker(store, "whole-0"), startWorker(store, "whole-1")]);
  const fleet = await cli(["quantize", model, "-o", path.join(dir, "whole-fleet.gguf"), "--cache-dir", path.join(dir, "cache-whole-coordinator"), "--redis", redis, "--store", store, ...settings]);
  for (const c of children.splice(1)) c.kill("SIGINT");
  const identical = readFileSync(path.join(dir, "whole-in-process.gguf")).equals(readFileSync(path.join(dir, "whole-fleet.gguf")));
  return { inProcess, fleet, identical };
}

/** N stand-in jobs over `workers` in-process BullMQ workers; the coordinator's jobs/s. */
async function simulation(): Promise<{ jobsPerSecond: number; ideal: number; wall: number }> {
  const { Worker } = await import("bullmq");
  const store = await Store.open(path.join(dir, "store-sim"));
  const s = await session("cache-sim");
  const workers = Array.from({ length: simWorkers }, (_, i) =>
    new Worker(
      JOB_QUEUE,
      async (job) => {
        await new Promise((r) => setTimeout(r, simMs));
        await store.writeJob({ format: "apreqel-store-job", id: String(job.id), kind: "probe", worker: `sim${i}`, seconds: simMs / 1000, entries: [] });
      },
      { connection: connectionOptions(redis), prefix: queuePrefix(store.id), concurrency: 1 },
    ),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const fleet = await Coordinator.open({ redis, store: store.dir, pollMs: 100 });
  const jobs: StageJob[] = Array.from({ length: simJobs }, (_, i) => {
    const data: FleetJob = { v: 1, kind: "probe", model: s.sha256, modelName: "model.gguf", threads: 1, build: s.buildFingerprint, needs: [], granularity: "tensor", units: [`sim.${i}`], types, cells: null, calibration: { sha256: calibration.sha256, name: null }, nCtx, chunks, uniform: { nonLayerType: "q8_0", imatrix: { from: "none" } } };
    return { id: jobId(s, data), queue: JOB_QUEUE, data };
  });
  const t0 = performance.now();
  await fleet.runStage("simulation", jobs);
  const wall = (performance.now() - t0) / 1000;
  await fleet.close();
  await Promise.all(workers.map((w) => w.close()));
  return { jobsPerSecond: simJobs / wall, ideal: simWorkers / (simMs / 1000), wall };
}

const simOnly = process.argv.includes("--sim-only");
const sim = await simulation();
if (simOnly) {
  console.log(`coordinator, ${simWorkers} stand-in workers × ${simMs} ms jobs, ${simJobs} jobs: ${sim.jobsPerSecond.toFixed(0)} jobs/s (workers' ideal ${sim.ideal.toFixed(0)} jobs/s; ${sim.wall.toFixed(1)} s)`);
  process.exit(0);
}
const one = await fleetProbeStage(1);
const inProcess = await inProcessProbes();
const two = await fleetProbeStage(2);
const whole = await quantizeBoth();
const perBatch = inProcess.seconds / inProcess.batches;
const overhead = (one.wall - inProcess.seconds) / one.batches;
const lines = [
  `Machine: ${machine()}. Model: random-weight ${shape} fixture (F16), tensor granularity, types ${types.join(", ")}, probes of ${chunks} chunks of ${nCtx} tokens, ${PROBE_BATCH_UNITS} units per batch, 1 thread per worker. \`npx vite-node scripts/bench/fleet.ts --shape ${shape} --sim-jobs ${simJobs} --sim-workers ${simWorkers} --sim-ms ${simMs}\`.`,
  "",
  "| measure | value |",
  "|---|---|",
  `| probe batches | ${one.batches} |`,
  `| in-process, one after another | ${inProcess.seconds.toFixed(2)} s (${perBatch.toFixed(2)} s per batch) |`,
  `| fleet, 1 worker: probe stage wall | ${one.wall.toFixed(2)} s (jobs' own time ${one.jobSeconds.toFixed(2)} s) |`,
  `| per-job overhead (enqueue → result stored) | ${overhead.toFixed(3)} s = ${((overhead / perBatch) * 100).toFixed(1)}% of a batch (target ≤ 2%) |`,
  `| fleet, 2 workers: probe stage wall | ${two.wall.toFixed(2)} s: speed-up ${(one.wall / two.wall).toFixed(2)}× (target ≥ 1.8×) |`,
  `| whole quantize, in-process / 2 workers (fresh caches) | ${whole.inProcess.toFixed(1)} s / ${whole.fleet.toFixed(1)} s; the mixes ${whole.identical ? "are identical bytes" : "DIFFER"} |`,
  `| coordinator, ${simWorkers} stand-in workers × ${simMs} ms jobs, ${simJobs} jobs | ${sim.jobsPerSecond.toFixed(0)} jobs/s (workers' ideal ${sim.ideal.toFixed(0)} jobs/s; ${sim.wall.toFixed(1)} s) |`,
];
console.log(lines.join("\n"));
if (write) writeSection("fleet", `## Fleet: per-job overhead, 2 workers, the coordinator's ceiling (issue 23)\n\n${lines.join("\n")}`);
process.exit(0);
