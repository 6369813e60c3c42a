// The fleet's pieces that need no Redis and no addon: the job schema (what a worker refuses before
// acting), the store (atomic, content-addressed, verified on read), the Redis URL and the progress line.
import { promises as fs, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Cache } from "../../lib/cache/index.js";
import { describeFleetProgress } from "../../lib/cli/fleet-options.js";
import { JobPayloadError, parseJob } from "../../lib/fleet/jobs.js";
import { connectionOptions, redactUrl } from "../../lib/fleet/redis.js";
import { Store, StoreIntegrityError } from "../../lib/fleet/store.js";
import { tempDir } from "../helpers/tmp.js";

const sha = (c: string) => c.repeat(64);
const uniformJob = {
  v: 1,
  kind: "uniform",
  model: sha("a"),
  modelName: "model.gguf",
  threads: 1,
  build: "0123456789abcdef",
  needs: [sha("b")],
  type: "q4_K",
  uniform: { nonLayerType: "q8_0", imatrix: { from: "calibration", calibration: { sha256: sha("c"), name: "calibration.txt" }, nCtx: 512 } },
};
const probeJob = {
  v: 1,
  kind: "probe",
  model: sha("a"),
  modelName: "model.gguf",
  threads: 1,
  build: "0123456789abcdef",
  needs: [],
  granularity: "tensor",
  units: ["blk.0.attn_q.weight", "output.weight"],
  types: ["q8_0", "q4_K"],
  cells: null,
  calibration: { sha256: sha("c"), name: null },
  nCtx: 64,
  chunks: null,
  uniform: { nonLayerType: "q8_0", imatrix: { from: "none" } },
};

describe("parseJob", () => {
  it("accepts each kind as written by the coordinator", () => {
    expect(parseJob(uniformJob)).toEqual(uniformJob);
    expect(parseJob(probeJob)).toEqual(probeJob);
    // a planner's round: only its cells; a payload without cells (an older coordinator's) probes all
    const round = { ...probeJob, cells: [[0, 1], [1, 1]] };
    expect(parseJob(round)).toEqual(round);
    const { cells: _cells, ...older } = probeJob;
    expect(parseJob(older)).toEqual(probeJob);
    const latency = { ...uniformJob, kind: "latency", deviceClass: "jetson-orin", types: ["q8_0"], latency: { nGen: 16, nPrompt: 0, reps: 3 }, gpuLayers: -1 };
    delete (latency as { type?: string }).type;
    expect(parseJob(latency).kind).toBe("latency");
  });

  it.each([
    ["a path for the model", { ...uniformJob, model: "../../etc/passwd" }, /job\.model: expected a sha256/],
    ["a path as the model's name", { ...uniformJob, modelName: "../../../root/.ssh/id_rsa" }, /job\.modelName: expected a name \(no path\)/],
    ["a path as a unit", { ...probeJob, units: ["/etc/passwd"] }, /job\.units\[0\]: expected a name/],
    ["a path as the calibration file", { ...probeJob, calibration: { sha256: sha("c"), name: "a/b.txt" } }, /job\.calibration\.name/],
    ["\"..\" as the calibration file", { ...probeJob, calibration: { sha256: sha("c"), name: ".." } }, /job\.calibration\.name/],
    ["an imatrix by path", { ...uniformJob, uniform: { nonLayerType: "q8_0", imatrix: { from: "file", path: "/tmp/x.gguf" } } }, /job\.uniform\.imatrix: unknown field "path"/],
    ["an unknown field", { ...uniformJob, shell: "rm -rf /" }, /job: unknown field "shell"/],
    ["an unknown kind", { ...uniformJob, kind: "exec" }, /job\.kind: expected one of/],
    ["another version", { ...uniformJob, v: 2 }, /job\.v/],
    ["a fractional thread count", { ...uniformJob, threads: 1.5 }, /job\.threads/],
    ["no build fingerprint", { ...uniformJob, build: undefined }, /job\.build/],
    ["a need that is not a key", { ...uniformJob, needs: ["entries/../x"] }, /job\.needs\[0\]/],
    ["no units", { ...probeJob, units: [] }, /job\.units: expected at least one unit/],
    ["a cell past the units", { ...probeJob, cells: [[2, 1]] }, /job\.cells\[0\]\[0\]/],
    ["a cell that is not a pair", { ...probeJob, cells: [[0]] }, /job\.cells\[0\]: expected \[unit index, type index\]/],
    ["not an object", "uniform", /job: expected an object/],
    ["a device class with a slash", { ...uniformJob, kind: "latency", type: undefined, deviceClass: "a/b", types: ["q8_0"], latency: { nGen: 1, nPrompt: 0, reps: 1 }, gpuLayers: 0 }, /unknown field "type"|job\.deviceClass/],
  ])("refuses %s", (_what, payload, message) => {
    expect(() => parseJob(payload)).toThrow(JobPayloadError);
    expect(() => parseJob(payload)).toThrow(message);
  });
});

describe("Store", () => {
  it("refuses a non-empty folder that is not a store, and reopens its own", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "notes.txt"), "mine");
    await expect(Store.open(dir)).rejects.toThrow(/--store: .* is not empty and is not an apreqel store/);
    const fresh = path.join(dir, "store");
    await Store.open(fresh);
    await expect(Store.open(fresh)).resolves.toBeInstanceOf(Store);
  });

  it("names blobs by their sha256, leaves no temp file, and refuses a damaged blob on read", async () => {
    const store = await Store.open(path.join(tempDir(), "s"));
    const id = await store.putBytes(Buffer.from("hello"));
    expect(id).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(readdirSync(path.join(store.dir, "tmp"))).toEqual([]);
    expect((await store.readBlob(id)).toString()).toBe("hello");
    await fs.writeFile(store.blobPath(id), "hellp");
    await expect(store.readBlob(id)).rejects.toThrow(StoreIntegrityError);
    await expect(store.verifiedBlobPath(id)).rejects.toThrow(/is damaged/);
    await expect(store.copyBlob(id, path.join(store.dir, "..", "copy"))).rejects.toThrow(/is damaged/);
    await expect(fs.stat(path.join(store.dir, "..", "copy"))).rejects.toThrow(/ENOENT/);
    expect(() => store.blobPath("../../etc/passwd")).toThrow(StoreIntegrityError);
  });

  it("sweeps only its own temp files, and only old ones", async () => {
    const store = await Store.open(path.join(tempDir(), "s"));
    const tmp = path.join(store.dir, "tmp");
    writeFileSync(path.join(tmp, "123.0123456789abcdef"), "half a blob");
    writeFileSync(path.join(tmp, "notes.txt"), "not ours");
    expect(await store.sweepTemp()).toBe(0);
    expect(await store.sweepTemp(24 * 3600_000, Date.now() + 25 * 3600_000)).toBe(1);
    expect(readdirSync(tmp)).toEqual(["notes.txt"]);
  });

  it("moves a cache entry between two caches through the store, verified, and refuses entries naming paths outside it", async () => {
    const dir = tempDir();
    const store = await Store.open(path.join(dir, "store"));
    const a = await Cache.open({ dir: path.join(dir, "a") });
    const b = await Cache.open({ dir: path.join(dir, "b") });
    const key = a.key({ modelSha256: sha("d"), kind: "probe", type: "q4_K", settings: { n: 1 }, fingerprint: "f" });
    const entry = await a.getOrCreate(key, (d) => fs.writeFile(path.join(d, "probe.json"), '{"mean":0.5}'), { description: "a probe" });
    await store.exportEntry(entry);
    const copy = await store.importEntry(b, key.id);
    expect(await fs.readFile(path.join(copy.dir, "probe.json"), "utf8")).toBe('{"mean":0.5}');
    expect((await store.importEntry(b, key.id)).outcome).toBe("hit");

    // an entry record whose file name climbs out of the entry is refused before anything is written
    const record = JSON.parse(await fs.readFile(path.join(store.dir, "entries", `${key.id}.json`), "utf8"));
    record.files[0].name = "../../outside.json";
    await fs.writeFile(path.join(store.dir, "entries", `${key.id}.json`), JSON.stringify(record));
    const c = await Cache.open({ dir: path.join(dir, "c") });
    await expect(store.importEntry(c, key.id)).rejects.toThrow(/file name "\.\.\/\.\.\/outside\.json"/);
    // and one whose inputs do not make its key
    record.files[0].name = "probe.json";
    record.inputs.type = "q8_0";
    await fs.writeFile(path.join(store.dir, "entries", `${key.id}.json`), JSON.stringify(record));
    await expect(store.importEntry(c, key.id)).rejects.toThrow(/inputs make the key/);
  });
});

describe("the Redis URL", () => {
  it("passes TLS, user and password through to ioredis, and hides the password in messages", () => {
    expect(connectionOptions("rediss://alice:s3cr%40t@queue.example:6380/2")).toMatchObject({ host: "queue.example", port: 6380, username: "alice", password: "s3cr@t", db: 2, tls: { servername: "queue.example" }, maxRetriesPerRequest: null });
    expect(connectionOptions("redis://localhost")).toMatchObject({ host: "localhost", port: 6379, db: 0 });
    expect(connectionOptions("redis://localhost")).not.toHaveProperty("tls");
    expect(redactUrl("redis://:s3cret@h:1")).toBe("redis://:***@h:1");
    expect(() => connectionOptions("http://localhost:6379")).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => connectionOptions("localhost:6379")).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL|expected a URL/);
  });
});

describe("describeFleetProgress", () => {
  it("shows jobs done of all, the running ones, the ETA and each worker's share", () => {
    expect(describeFleetProgress({ stage: "probe batches", done: 7, total: 12, running: 2, byWorker: { a: 4, b: 3 }, etaMs: 30_000 })).toBe("fleet: probe batches: 7/12 jobs done, 2 running, ETA 30s (a 4, b 3)");
    expect(describeFleetProgress({ stage: "uniform files", done: 0, total: 3, running: 0, byWorker: {}, waitingForRedis: "connect ECONNREFUSED" })).toBe("fleet: uniform files: 0/3 jobs done, 0 running; waiting for Redis (connect ECONNREFUSED)");
  });
});
