/**
 * The fleet's store: a folder every machine of the fleet reaches (a shared disk, NFS), through
 * which the coordinator hands the workers their inputs and the workers hand back their results.
 * Layout:
 *   .apreqel-store          marker: this folder is a store (an ordinary folder is never used as one)
 *   blobs/<sha256>          file contents, named by their sha256 (models, texts, cache entries' files)
 *   entries/<key>.json      a cache entry: its key's inputs and its files as blobs (importable into any cache)
 *   jobs/<id>.json          a finished job: which entries it produced (written last: a job is done when this exists)
 *   tmp/                    files being written; each renamed into place when complete
 * Everything is written to a unique temp file (created exclusively) and renamed, so a reader sees
 * a whole file or none, whoever was killed while writing. Every blob is checked against its name's
 * sha256 when it is read; a mismatch is never used.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, Writable } from "node:stream";
import type { Cache, CacheEntry, CacheKeyInputs } from "../cache/index.js";
import { InputError } from "../core/errors.js";

const MARKER = ".apreqel-store";
const HEX64 = /^[0-9a-f]{64}$/;

/** A blob whose bytes do not match its name (damaged on disk or in transit): never used. */
export class StoreIntegrityError extends Error {
  override readonly name = "StoreIntegrityError";
}

/** entries/<key>.json */
export interface StoreEntry {
  readonly format: "apreqel-store-entry";
  readonly key: string;
  readonly inputs: CacheKeyInputs;
  readonly description?: string;
  readonly files: readonly { readonly name: string; readonly bytes: number; readonly sha256: string }[];
}

/** jobs/<id>.json: what a finished job left in the store. */
export interface StoreJobResult {
  readonly format: "apreqel-store-job";
  readonly id: string;
  readonly kind: string;
  /** the worker that ran it (its name) */
  readonly worker: string;
  readonly seconds: number;
  /** the cache entries it produced or used, in the store */
  readonly entries: readonly string[];
  /** a latency job: its profile (JSON) as a blob; a variants job: its measurements (JSON) */
  readonly profile?: string;
}

export class Store {
  /** Absolute folder. */
  readonly dir: string;
  /**
   * The store's id, made when it was created (in the marker): the queues of a fleet are named
   * after it, so the workers of one store never take the jobs of another on the same Redis.
   */
  id = "";
  // blobs already verified in this process, by sha → (size, mtime, inode) when verified
  private readonly verified = new Map<string, string>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Opens a store, creating it in a folder that is missing or empty. A non-empty folder without
   * the marker is refused: apreqel never writes into a folder of the user's that it did not make.
   *
   * @example
   * const store = await Store.open("/mnt/shared/apreqel-store");
   */
  static async open(dir: string, option = "--store"): Promise<Store> {
    if (typeof dir !== "string" || dir === "" || dir.includes("\0")) throw new InputError(`${option}: expected a folder path`);
    const store = new Store(path.resolve(dir));
    const marker = path.join(store.dir, MARKER);
    try {
      await fs.mkdir(store.dir, { recursive: true });
      const names = await fs.readdir(store.dir);
      if (!names.includes(MARKER)) {
        if (names.length > 0) throw new InputError(`${option}: ${store.dir} is not empty and is not an apreqel store; give an empty or new folder`);
        await fs.writeFile(marker, `apreqel store 1\n${randomBytes(8).toString("hex")}\n`, { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e; // another machine created it at the same moment
        });
      }
      const id = (await fs.readFile(marker, "utf8")).split("\n")[1] ?? "";
      if (!/^[0-9a-f]{16}$/.test(id)) throw new InputError(`${option}: ${marker} is damaged (no store id); it is not used`);
      store.id = id;
      for (const sub of ["blobs", "entries", "jobs", "tmp"]) await fs.mkdir(path.join(store.dir, sub), { recursive: true });
      await store.sweepTemp();
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${option}: cannot use ${store.dir} as the store: ${(e as Error).message}`);
    }
    return store;
  }

  /**
   * Removes temp files a killed writer left (untouched for a day: a writer on another machine may
   * still be streaming into a fresh one, and its pid means nothing here). Nothing reads tmp/.
   */
  async sweepTemp(maxAgeMs = 24 * 3600_000, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(path.join(this.dir, "tmp"))) {
      // only names this code makes: <pid>.<16 hex>
      if (!/^\d+\.[0-9a-f]{16}$/.test(name)) continue;
      const file = path.join(this.dir, "tmp", name);
      const st = await fs.lstat(file).catch(() => undefined);
      if (st === undefined || !st.isFile() || now - st.mtimeMs < maxAgeMs) continue;
      await fs.rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  blobPath(sha256: string): string {
    if (!HEX64.test(sha256)) throw new StoreIntegrityError(`store: ${JSON.stringify(sha256)} is not a blob name`);
    return path.join(this.dir, "blobs", sha256);
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return fs.stat(this.blobPath(sha256)).then(() => true, () => false);
  }

  /**
   * Copies a file into the store, named by its sha256 (hashed while copying); returns the sha256.
   * A blob already there is left as it is.
   */
  async putFile(file: string, knownSha256?: string): Promise<string> {
    if (knownSha256 !== undefined && (await this.hasBlob(knownSha256))) return knownSha256;
    const hash = createHash("sha256");
    const sha = await this.writeTemp(async (temp) => {
      await pipeline(createReadStream(file), hashing(hash), createWriteStream(temp, { flags: "wx" }));
      return hash.digest("hex");
    }, (sha) => this.blobPath(sha));
    if (knownSha256 !== undefined && sha !== knownSha256) throw new StoreIntegrityError(`store: ${file} changed while it was copied (sha256 ${sha}, expected ${knownSha256})`);
    return sha;
  }

  /** Writes bytes as a blob; returns their sha256. */
  async putBytes(bytes: Uint8Array): Promise<string> {
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (await this.hasBlob(sha)) return sha;
    await this.writeTemp((temp) => fs.writeFile(temp, bytes, { flag: "wx" }), () => this.blobPath(sha));
    return sha;
  }

  /** A blob's bytes, checked against its name. */
  async readBlob(sha256: string): Promise<Buffer> {
    const bytes = await fs.readFile(this.blobPath(sha256));
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== sha256) throw new StoreIntegrityError(`store: blob ${sha256} is damaged (its bytes hash to ${actual}); remove it and rerun the job that made it`);
    return bytes;
  }

  /**
   * The path of a blob read in place (a model), checked once per process and again whenever its
   * size, mtime or inode changes.
   */
  async verifiedBlobPath(sha256: string): Promise<string> {
    const file = this.blobPath(sha256);
    const st = await fs.stat(file);
    const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    if (this.verified.get(sha256) === stamp) return file;
    const hash = createHash("sha256");
    await pipeline(createReadStream(file), hashing(hash), devNull());
    const actual = hash.digest("hex");
    if (actual !== sha256) throw new StoreIntegrityError(`store: blob ${sha256} is damaged (its bytes hash to ${actual}); remove it and rerun the job that made it`);
    this.verified.set(sha256, stamp);
    return file;
  }

  /** Copies a blob to `dest`, checking its hash as it streams; a damaged blob leaves no `dest`. */
  async copyBlob(sha256: string, dest: string): Promise<void> {
    const hash = createHash("sha256");
    await pipeline(createReadStream(this.blobPath(sha256)), hashing(hash), createWriteStream(dest, { flags: "wx" }));
    const actual = hash.digest("hex");
    if (actual !== sha256) {
      await fs.rm(dest, { force: true });
      throw new StoreIntegrityError(`store: blob ${sha256} is damaged (its bytes hash to ${actual}); remove it and rerun the job that made it`);
    }
  }

  /** Puts a cache entry in the store (its files as blobs, then its description); no-op when there. */
  async exportEntry(entry: CacheEntry): Promise<void> {
    const target = this.entryPath(entry.key);
    if (await exists(target)) return;
    const files: StoreEntry["files"][number][] = [];
    for (const f of entry.manifest.files) files.push({ name: f.name, bytes: f.bytes, sha256: await this.putFile(path.join(entry.dir, f.name)) });
    const record: StoreEntry = {
      format: "apreqel-store-entry",
      key: entry.key,
      inputs: entry.manifest.inputs,
      ...(entry.manifest.description !== undefined ? { description: entry.manifest.description } : {}),
      files,
    };
    await this.writeJson(target, record);
  }

  async hasEntry(key: string): Promise<boolean> {
    return exists(this.entryPath(key));
  }

  /**
   * Brings a store entry into `cache` (a hit when the cache has it already): the key is rebuilt
   * from its inputs and must be the one named, each file's bytes must match its sha256.
   */
  async importEntry(cache: Cache, key: string): ReturnType<Cache["getOrCreate"]> {
    const record = parseEntry(JSON.parse(await fs.readFile(this.entryPath(key), "utf8")), key);
    const cacheKey = cache.key(record.inputs);
    if (cacheKey.id !== key) throw new StoreIntegrityError(`store: entry ${key}'s inputs make the key ${cacheKey.id}; it is not used`);
    return cache.getOrCreate(
      cacheKey,
      async (dir) => {
        for (const f of record.files) {
          const dest = path.join(dir, f.name);
          await fs.mkdir(path.dirname(dest), { recursive: true });
          await this.copyBlob(f.sha256, dest);
        }
      },
      record.description !== undefined ? { description: record.description } : {},
    );
  }

  async writeJob(result: StoreJobResult): Promise<void> {
    await this.writeJson(this.jobPath(result.id), result);
  }

  /** The ids of the jobs recorded as finished (one listing: cheap to poll with many jobs pending). */
  async finishedJobs(): Promise<Set<string>> {
    const names = await fs.readdir(path.join(this.dir, "jobs"));
    return new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)));
  }

  /** A finished job's result, or undefined when it has not finished (or its record is unreadable). */
  async readJob(id: string): Promise<StoreJobResult | undefined> {
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(this.jobPath(id), "utf8"));
    } catch {
      return undefined;
    }
    const r = value as StoreJobResult;
    if (r?.format !== "apreqel-store-job" || r.id !== id || !Array.isArray(r.entries) || !r.entries.every((k) => typeof k === "string" && HEX64.test(k))) return undefined;
    if (r.profile !== undefined && !HEX64.test(r.profile)) return undefined;
    return r;
  }

  private entryPath(key: string): string {
    if (!HEX64.test(key)) throw new StoreIntegrityError(`store: ${JSON.stringify(key)} is not an entry key`);
    return path.join(this.dir, "entries", `${key}.json`);
  }

  private jobPath(id: string): string {
    if (!HEX64.test(id)) throw new StoreIntegrityError(`store: ${JSON.stringify(id)} is not a job id`);
    return path.join(this.dir, "jobs", `${id}.json`);
  }

  private async writeJson(target: string, value: unknown): Promise<void> {
    await this.writeTemp((temp) => fs.writeFile(temp, JSON.stringify(value, null, 1), { flag: "wx" }), () => target);
  }

  // writes a unique temp file, fsyncs it and renames it to target(result); removes it on failure
  private async writeTemp<T>(write: (temp: string) => Promise<T>, target: (result: T) => string): Promise<T> {
    const temp = path.join(this.dir, "tmp", `${process.pid}.${randomBytes(8).toString("hex")}`);
    try {
      const result = await write(temp);
      const handle = await fs.open(temp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target(result));
      return result;
    } catch (e) {
      await fs.rm(temp, { force: true });
      throw e;
    }
  }
}

function parseEntry(value: unknown, key: string): StoreEntry {
  const e = value as StoreEntry;
  const bad = (why: string) => new StoreIntegrityError(`store: entry ${key} is unusable: ${why}`);
  if (e?.format !== "apreqel-store-entry" || e.key !== key) throw bad("not an entry record of this key");
  if (typeof e.inputs !== "object" || e.inputs === null || !Array.isArray(e.files)) throw bad("no inputs or files");
  for (const f of e.files) {
    // names inside the entry only: relative, no "..", no NUL
    const parts: string[] = typeof f?.name === "string" ? f.name.split("/") : [];
    if (parts.length === 0 || parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\0") || p.includes("\\"))) throw bad(`file name ${JSON.stringify(f?.name)}`);
    if (typeof f.sha256 !== "string" || !HEX64.test(f.sha256)) throw bad(`file ${f.name}'s sha256`);
  }
  return e;
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

function devNull(): Writable {
  return new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}
