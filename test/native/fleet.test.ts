// The fleet end to end, with a real Redis (started here on a free port) and `apreqel worker`
// processes: the mix made through the fleet is the in-process mix byte for byte, through a worker
// killed with -9 during a probe batch, a coordinator killed and rerun, and Redis restarted while
// the run waits; a damaged model in the store fails the run once with its reason; a hostile payload
// is refused before any work; --redis where nothing answers is a clear error before any work.
import { createHash } from "node:crypto";
import { spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashFile } from "../../lib/cache/index.js";
import { Store } from "../../lib/fleet/store.js";
import { readPortfolio, writePortfolio } from "../../lib/portfolio/write.js";
import { HERE, variant } from "../unit/portfolio/helpers.js";
import { connectionOptions, JOB_QUEUE, queuePrefix, requireRedis } from "../../lib/fleet/redis.js";
import { buildDist, runCli, spawnCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { freePort, REDIS_MISSING, REDIS_SERVER, startRedis, type TestRedis } from "../helpers/redis.js";
import { tempDir } from "../helpers/tmp.js";
import { pipelineArgs } from "../helpers/args.js";

const dir = tempDir("apreqel-fleet-");
let redis: TestRedis;
let model: string;
let local: string;
const children: ChildProcess[] = [];

// small settings; the choice depends on the KLD table and the size limit only (latency weight 0),
// so two runs agree whatever the latencies measured on a busy machine
const common = () => [
  ...pipelineArgs({ calibration: path.join(dir, "calibration.txt"), evalText: path.join(dir, "eval.txt"), types: "q8_0,q4_K,q3_K", threads: 1 }),
  "--probe-chunks", "2",
  "--weights", "0,0,1",
  "--target-size", "16MB",
  "--no-measure",
];

interface Proc {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  exited(): Promise<number | null>;
}

function start(args: readonly string[]): Proc {
  const child = spawnCli(args);
  children.push(child);
  let text = "";
  const waiters: (() => void)[] = [];
  const take = (d: Buffer) => {
    text += String(d);
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => text,
    async waitFor(pattern, ms = 120_000) {
      const deadline = Date.now() + ms;
      while (!pattern.test(text)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before ${pattern}: ${text}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms: ${text}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    exited: () => exit,
  };
}

const worker = (store: string, name: string, extra: readonly string[] = []) =>
  start(["worker", "--redis", redis.url, "--store", store, "--cache-dir", path.join(dir, `cache-${name}`), "--name", name, "--stall-ms", "2000", ...extra]);

/** The processes whose parent is `pid` (a worker's sandboxed job processes). */
function childPids(pid: number): number[] {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await redis?.stop();
});

describe("--redis where nothing answers", () => {
  it("is a clear error before any work: no output, no store", async () => {
    const port = await freePort();
    const out = path.join(dir, "never.gguf");
    const store = path.join(dir, "never-store");
    const r = await runCli(["quantize", await fixtureModel(), "-o", out, "--redis", `redis://:secret@127.0.0.1:${port}`, "--store", store, "--cache-dir", path.join(dir, "never-cache")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`apreqel quantize: --redis redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: no Redis answers there \\(.*ECONNREFUSED.*\\); start one`));
    expect(r.stderr).not.toContain("secret");
    expect(existsSync(out) || existsSync(store) || existsSync(path.join(dir, "never-cache"))).toBe(false);
    const w = await runCli(["worker", "--redis", `redis://127.0.0.1:${port}`, "--store", store]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/no Redis answers there/);
  });
});

describe.skipIf(REDIS_SERVER === null)(`a fleet on a real Redis${REDIS_SERVER === null ? ` (skipped: ${REDIS_MISSING})` : ""}`, () => {
  beforeAll(async () => {
    await buildDist();
    redis = await startRedis(dir);
    model = await fixtureModel();
    writeFileSync(path.join(dir, "calibration.txt"), `${"Explain why the sky is blue, and why sunsets are red. ".repeat(6)}\n\n${"Write a haiku about rivers and the stones in them. ".repeat(6)}\n\ndef add(a, b):\n    return a + b\n`);
    writeFileSync(path.join(dir, "eval.txt"), "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(40));
    local = path.join(dir, "local.gguf");
    const r = await runCli(["quantize", model, "-o", local, "--cache-dir", path.join(dir, "cache-local"), ...common()]);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it("gives the in-process mix byte for byte, through a worker killed -9 mid-probe, a dead coordinator rerun and a Redis restart", async () => {
    const store = path.join(dir, "store");
    const out = path.join(dir, "fleet.gguf");
    const coordinator = () => ["quantize", model, "-o", out, "--force", "--cache-dir", path.join(dir, "cache-coordinator"), "--redis", redis.url, "--store", store, ...common()];
    const w1 = worker(store, "w1");
    await w1.waitFor(/waiting for jobs/);
    const first = start(coordinator());
    await w1.waitFor(/started probe [0-9a-f]{12}/);
    const killedJob = /started probe ([0-9a-f]{12})/.exec(w1.output())![1]!;
    // the worker dies during a probe batch, and so does the coordinator: the queue keeps the jobs
    const sandbox = childPids(w1.child.pid!);
    expect(sandbox.length).toBeGreaterThan(0);
    w1.child.kill("SIGKILL");
    first.child.kill("SIGKILL");
    await first.exited();
    // the job's child process goes with its worker (no orphan running on)
    for (let i = 0; i < 50 && sandbox.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sandbox.filter(alive)).toEqual([]);
    const w2 = worker(store, "w2");
    const w3 = worker(store, "w3", ["--device-class", "edge"]);
    const rerun = start(coordinator());
    await Promise.race([w2.waitFor(/started probe/), w3.waitFor(/started probe/)]);
    // Redis goes away while jobs run and the coordinator waits; it comes back with its append-only file
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    expect(await rerun.exited(), rerun.output()).toBe(0);
    expect(readFileSync(out).equals(readFileSync(local))).toBe(true);
    // which worker did what, printed by the coordinator; the edge worker took shared jobs too
    expect(rerun.output()).toMatch(/^fleet: w[23]: .*probe/m);
    // within the default probe budget the planner's rounds went to the fleet, one stage each
    expect(rerun.output()).toMatch(/^fleet: probe round: \d+\/\d+ jobs done/m);
    expect(rerun.output()).toMatch(/jobs? done before \(results in the store, not run again\)/);
    // the job the killed worker held went to another worker once its lock ran out
    expect(w2.output() + w3.output()).toContain(`started probe ${killedJob}`);
    // the workers and the coordinator saw Redis gone (the coordinator said so), and went on after it came back
    expect(w2.output() + w3.output()).toMatch(/ECONNREFUSED/);
    expect(rerun.output()).toMatch(/^fleet: [a-z ]+: .*; waiting for Redis \(.*ECONNREFUSED.*\)$/m);

    // nothing partial and nothing twice: every blob is its sha256, every job recorded once
    for (const name of readdirSync(path.join(store, "blobs"))) expect(await hashFile(path.join(store, "blobs", name))).toBe(name);
    for (const name of readdirSync(path.join(store, "entries"))) expect(JSON.parse(readFileSync(path.join(store, "entries", name), "utf8")).format).toBe("apreqel-store-entry");
    const done = [w1, w2, w3].flatMap((w) => [...w.output().matchAll(/done \w+ ([0-9a-f]{12}) in/g)].map((m) => m[1]!));
    expect(new Set(done).size).toBe(done.length);
    expect(readdirSync(path.join(store, "jobs")).length).toBeGreaterThanOrEqual(done.length);

    // the coordinator computed none of it: every uniform file, calibration pass and probe its cache holds came from the store
    const published = readFileSync(path.join(dir, "cache-coordinator", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; kind?: string; key?: string });
    const made = published.filter((e) => e.event === "published" && ["uniform", "similarity", "probe"].includes(e.kind!));
    expect(made.length).toBeGreaterThan(30);
    for (const e of made) expect(existsSync(path.join(store, "entries", `${e.key}.json`)), `${e.kind} ${e.key}`).toBe(true);

    // the same command again: every job's result is in the store, nothing is queued or run
    const before = w2.output().length + w3.output().length;
    const again = await runCli(coordinator());
    expect(again.code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(local))).toBe(true);
    expect(w2.output().length + w3.output().length).toBe(before);
    // a latency profile for the other device class: only its worker (w3) takes the job
    const edge = path.join(dir, "edge.json");
    const profile = await runCli(["profile", model, "-o", edge, "--only", "latency", "--device-class", "edge", "--force", "--cache-dir", path.join(dir, "cache-coordinator"), "--redis", redis.url, "--store", store, ...pipelineArgs({ calibration: path.join(dir, "calibration.txt"), evalText: path.join(dir, "eval.txt"), types: "q8_0,q4_K,q3_K", threads: 1 })]);
    expect(profile.code, profile.stderr).toBe(0);
    const measured = JSON.parse(readFileSync(edge, "utf8"));
    expect(measured.model.name).toBe(path.basename(model));
    for (const t of ["q8_0", "q4_K", "q3_K"]) expect(measured.types[t].latencyMsPerToken).toBeGreaterThan(0);
    expect(w3.output()).toMatch(/started latency/);
    expect(w2.output()).not.toMatch(/started latency/);
    expect(profile.stderr).toMatch(/^fleet: w3: 1 latency$/m);
    // a portfolio's variants measured by the edge class's worker, added to its manifest
    const pf = path.join(dir, "portfolio");
    mkdirSync(pf);
    copyFileSync(local, path.join(pf, "mix.gguf"));
    const v = variant("mix", 1, 5, 0.1);
    await writePortfolio({ dir: pf, model: { name: path.basename(model), sha256: await hashFile(model) }, mixes: [{ name: "mix", file: path.join(pf, "mix.gguf"), weightBytes: v.weightBytes, latency: v.latency, accuracy: v.accuracy, chosenBy: v.chosenBy }] });
    const pp = await runCli(["portfolio", "profile", pf, "--redis", redis.url, "--store", store, "--device-class", "edge", "--n-gen", "4", "--n-prompt", "0", "--reps", "1", "--threads", "1"]);
    expect(pp.code, pp.stderr).toBe(0);
    expect(pp.stdout).toMatch(/^added device class edge \([0-9a-f]{16}: /m);
    const profiled = (await readPortfolio(pf, { verifyFiles: true })).manifest.variants[0]!.latency;
    expect(profiled.map((m) => m.device.fingerprint)).toEqual([HERE, expect.stringMatching(/^[0-9a-f]{16}$/)]);
    expect(w3.output()).toMatch(/started variants/);
    expect(w2.output()).not.toMatch(/started variants/);
    w2.child.kill("SIGINT");
    w3.child.kill("SIGINT");
    await Promise.all([w2.exited(), w3.exited()]);
  }, 600_000);

  it("passes a password through to Redis, and a wrong one is a clear error", async () => {
    const secured = await startRedis(mkdtempSync(path.join(dir, "auth-")), ["--requirepass", "s3cr@t"]);
    try {
      const url = `redis://:${encodeURIComponent("s3cr@t")}@127.0.0.1:${secured.port}`;
      await expect(requireRedis(url)).resolves.toBeUndefined();
      await expect(requireRedis(`redis://:wrong@127.0.0.1:${secured.port}`)).rejects.toThrow(/--redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: no Redis answers there \(.*(WRONGPASS|invalid password).*\)/);
      await expect(requireRedis(`redis://127.0.0.1:${secured.port}`)).rejects.toThrow(/NOAUTH/);
    } finally {
      await secured.stop();
    }
  });

  it("Ctrl-C on the coordinator removes the jobs no worker has started", async () => {
    const store = path.join(dir, "store-cancel");
    // no worker on this store: the calibration job waits in the queue
    const c = start(["quantize", model, "-o", path.join(dir, "cancel.gguf"), "--cache-dir", path.join(dir, "cache-cancel"), "--redis", redis.url, "--store", store, ...common()]);
    await c.waitFor(/fleet: calibration pass: 0\/1 jobs done/);
    c.child.kill("SIGINT");
    expect(await c.exited(), c.output()).toBe(130);
    expect(c.output()).toMatch(/interrupted: 1 waiting job removed from the queue/);
    const { Queue } = await import("bullmq");
    const queue = new Queue(JOB_QUEUE, { connection: connectionOptions(redis.url), prefix: queuePrefix((await Store.open(store)).id) });
    try {
      expect(await queue.getJobCounts("waiting", "active", "delayed")).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
    } finally {
      await queue.close();
    }
  });

  it("fails the run once, with its reason, on a damaged model; refuses a hostile payload without running it", async () => {
    const store = path.join(dir, "store-bad");
    const s = await Store.open(store);
    // the store's copy of the model, damaged: the coordinator finds a blob by that name and does not copy it again
    writeFileSync(s.blobPath(await hashFile(model)), Buffer.alloc(1024, 7));
    const w4 = worker(store, "w4");
    await w4.waitFor(/waiting for jobs/);
    const r = await runCli(["quantize", model, "-o", path.join(dir, "bad.gguf"), "--cache-dir", path.join(dir, "cache-bad"), "--redis", redis.url, "--store", store, ...common()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/apreqel quantize: fleet: the calibration job [0-9a-f]{12} \(calibration pass of .*\) failed: store: the model blob [0-9a-f]{64} is damaged/);
    expect(existsSync(path.join(dir, "bad.gguf"))).toBe(false);
    // once: not retried
    expect([...w4.output().matchAll(/started calibration/g)].length).toBe(1);

    const { Queue } = await import("bullmq");
    const queue = new Queue(JOB_QUEUE, { connection: connectionOptions(redis.url), prefix: queuePrefix(s.id) });
    try {
      const hostile = { v: 1, kind: "uniform", model: "../../../etc/passwd", modelName: "passwd", threads: 1, build: "0123456789abcdef", needs: [], type: "q4_K", uniform: { nonLayerType: "q8_0", imatrix: { from: "none" } } };
      const id = createHash("sha256").update("hostile").digest("hex");
      const job = await queue.add("uniform", hostile, { jobId: id, attempts: 3 });
      for (let i = 0; i < 300 && (await job.getState()) !== "failed"; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const failed = (await queue.getJob(id))!;
      expect(await failed.getState()).toBe("failed");
      expect(failed.failedReason).toMatch(/job\.model: expected a sha256 \(64 lowercase hex digits\) but received/);
      expect(failed.attemptsMade).toBe(1);
    } finally {
      await queue.close();
    }
    w4.child.kill("SIGINT");
    await w4.exited();
  }, 300_000);
});
