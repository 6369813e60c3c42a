/**
 * A content-addressed cache on disk. Layout under the cache dir:
 *   entries/<key>/        one published entry: its files and manifest.json (written last)
 *   tmp/<key>.<pid>.<r>/  an entry being created; renamed to entries/<key> when complete
 *   hashes/               remembered model hashes, per (path, size, mtime, inode)
 *   log.jsonl             the cache's own record of hits, misses and publications
 * Publishing is one rename of a complete, fsynced directory, so an entry is either whole or
 * absent; a directory in entries/ without a valid manifest is never used. Concurrent writers
 * of one key (in this process they share one creation; across processes they race) are safe:
 * the first rename wins and the others discard their copy.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import { isAlive, writeAtomically } from "../core/files.js";
import { InputError } from "../core/errors.js";
import { defaultCacheDir } from "./location.js";
import { cacheKey, type CacheKey, type CacheKeyInputs, type CacheKind } from "./key.js";

/** manifest.json of an entry. */
export interface CacheManifest {
  readonly format: "apreqel-cache-entry";
  readonly version: 1;
  readonly key: string;
  readonly inputs: CacheKeyInputs;
  readonly createdAt: string;
  readonly description?: string;
  /** The entry's files (paths relative to the entry), manifest excluded. */
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
  readonly totalBytes: number;
}

/** A published entry. */
export interface CacheEntry {
  readonly key: string;
  readonly dir: string;
  readonly manifest: CacheManifest;
  /** When it was created or last returned by get (the manifest's mtime). */
  readonly lastUsedAt: Date;
}

/** How getOrCreate got its entry. */
export type CacheOutcome =
  | "hit" // already published
  | "created" // created and published by this call
  | "joined" // another call in this process was creating it; shared its result
  | "lost-race"; // created, but another process published first: theirs is used, ours discarded

/** One event of the cache's record. */
export type CacheEvent =
  | { readonly event: "hit" | "miss" | "published" | "joined" | "lost-race" | "removed"; readonly key: string; readonly kind: CacheKind; readonly type: string | null }
  | { readonly event: "hash-reused" | "hash-computed"; readonly file: string };

/** A line of log.jsonl: an event with when and who. */
export type CacheLogRecord = CacheEvent & { readonly time: string; readonly pid: number };

/** Options of {@link Cache.open}. */
export interface CacheOpenOptions {
  /** The cache dir; default {@link defaultCacheDir}. */
  readonly dir?: string;
  /** Temp dirs untouched this long (and whose process is gone) are removed on open; default 1 minute. */
  readonly staleTempMs?: number;
}

/** Result of {@link Cache.clear}. */
export interface ClearResult {
  readonly removed: readonly CacheEntry[];
  readonly freedBytes: number;
  /** Directories in entries/ without a valid manifest (never used) that were removed too. */
  readonly incomplete: number;
}

const MANIFEST = "manifest.json";
// A temp dir whose process is gone and that nobody wrote to for a minute is a killed run's leftover.
// (The quiet minute guards a cache shared between hosts, where the pid check means nothing.)
const STALE_TEMP_MS = 60_000;

/** The cache. Open with {@link Cache.open}. */
export class Cache {
  /** Absolute cache dir. */
  readonly dir: string;
  private readonly record: CacheEvent[] = [];
  private readonly creating = new Map<string, Promise<{ entry: CacheEntry; outcome: CacheOutcome }>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Opens (creating if needed) a cache dir and sweeps stale temp dirs.
   *
   * @example
   * const cache = await Cache.open({ dir: values["cache-dir"] });
   */
  static async open(options: CacheOpenOptions = {}): Promise<Cache> {
    const cache = new Cache(path.resolve(options.dir ?? defaultCacheDir()));
    try {
      await fs.mkdir(path.join(cache.dir, "entries"), { recursive: true });
      await fs.mkdir(path.join(cache.dir, "tmp"), { recursive: true });
      // mkdir succeeds on folders that exist but cannot be written (chmod, a read-only mount):
      // create and remove a temp dir now, so that is found before any long work, not after it
      await fs.rmdir(await fs.mkdtemp(path.join(cache.dir, "tmp", `probe.${process.pid}.`)));
    } catch (e) {
      throw unusableCacheError(cache.dir, e);
    }
    await cache.sweepTemp(options.staleTempMs ?? STALE_TEMP_MS);
    return cache;
  }

  /** This instance's events, in order (tests assert on these rather than on timing). */
  get events(): readonly CacheEvent[] {
    return this.record;
  }

  /**
   * Counts of this instance's events by name.
   *
   * @example
   * cache.counts().hit // 5
   */
  counts(): Readonly<Record<CacheEvent["event"], number>> {
    const out = { hit: 0, miss: 0, published: 0, joined: 0, "lost-race": 0, removed: 0, "hash-reused": 0, "hash-computed": 0 };
    for (const e of this.record) out[e.event]++;
    return out;
  }

  /**
   * Builds a key (see {@link cacheKey}).
   *
   * @example
   * const key = cache.key({ modelSha256, kind: "uniform", type: "q4_K", settings, fingerprint });
   */
  key(inputs: CacheKeyInputs): CacheKey {
    return cacheKey(inputs);
  }

  /**
   * The published entry for `key`, or undefined (also for a directory without a valid
   * manifest or with a file of the wrong size: never used). Marks the entry as used.
   *
   * @example
   * const entry = await cache.get(key); if (entry) use(path.join(entry.dir, "model.gguf"));
   */
  async get(key: CacheKey): Promise<CacheEntry | undefined> {
    const entry = await this.read(key.id);
    if (entry === undefined) return undefined;
    const now = new Date();
    await fs.utimes(path.join(entry.dir, MANIFEST), now, now);
    return { ...entry, lastUsedAt: now };
  }

  /**
   * The entry for `key`, created by `create(tmpDir)` when absent: `create` writes the entry's
   * files into tmpDir (an empty directory inside the cache); when it resolves, the files are
   * fsynced, the manifest is written and the directory is published. If `create` throws,
   * nothing is published and the error propagates.
   *
   * @example
   * const { dir, outcome } = await cache.getOrCreate(key, (tmp) => quantize({ input, output: path.join(tmp, "model.gguf"), type }));
   */
  async getOrCreate(
    key: CacheKey,
    create: (tmpDir: string) => Promise<void>,
    options: { readonly description?: string } = {},
  ): Promise<CacheEntry & { readonly outcome: CacheOutcome }> {
    const pending = this.creating.get(key.id);
    if (pending !== undefined) {
      const { entry } = await pending;
      await this.note({ event: "joined", ...about(key) });
      return { ...entry, outcome: "joined" };
    }
    // registered before the first await, so a concurrent call in this process joins it
    const work = this.lookUpOrCreate(key, create, options.description);
    this.creating.set(key.id, work);
    try {
      const { entry, outcome } = await work;
      return { ...entry, outcome };
    } finally {
      this.creating.delete(key.id);
    }
  }

  /**
   * Every published entry, oldest use first.
   *
   * @example
   * for (const e of await cache.list()) console.log(e.manifest.inputs.kind, e.manifest.totalBytes);
   */
  async list(): Promise<CacheEntry[]> {
    const out: CacheEntry[] = [];
    for (const name of await fs.readdir(path.join(this.dir, "entries"))) {
      const entry = await this.read(name);
      if (entry !== undefined) out.push(entry);
    }
    return out.sort((a, b) => a.lastUsedAt.getTime() - b.lastUsedAt.getTime());
  }

  /**
   * Removes entries (all, or those unused for `olderThanMs`), and with no age limit also
   * incomplete directories, remembered hashes and the log. Each entry is first renamed out of
   * entries/, so a reader never sees half of one.
   *
   * @example
   * await cache.clear({ olderThanMs: 7 * 86400_000 })
   */
  async clear(options: { readonly olderThanMs?: number; readonly now?: Date } = {}): Promise<ClearResult> {
    const now = (options.now ?? new Date()).getTime();
    const removed: CacheEntry[] = [];
    let incomplete = 0;
    for (const name of await fs.readdir(path.join(this.dir, "entries"))) {
      const entry = await this.read(name);
      if (entry === undefined) {
        if (options.olderThanMs !== undefined) continue;
        incomplete++;
      } else if (options.olderThanMs !== undefined && now - entry.lastUsedAt.getTime() < options.olderThanMs) {
        continue;
      }
      await this.discard(path.join(this.dir, "entries", name));
      if (entry !== undefined) {
        removed.push(entry);
        await this.note({ event: "removed", key: entry.key, kind: entry.manifest.inputs.kind, type: entry.manifest.inputs.type });
      }
    }
    if (options.olderThanMs === undefined) {
      await fs.rm(path.join(this.dir, "hashes"), { recursive: true, force: true });
      await fs.rm(path.join(this.dir, "log.jsonl"), { force: true });
    }
    return { removed, freedBytes: removed.reduce((s, e) => s + e.manifest.totalBytes, 0), incomplete };
  }

  /**
   * Removes temp dirs not modified for `maxAgeMs` whose creating process is gone (a crashed or
   * killed run); returns how many.
   *
   * @example
   * await cache.sweepTemp(3600_000)
   */
  async sweepTemp(maxAgeMs: number, now = Date.now()): Promise<number> {
    const tmp = path.join(this.dir, "tmp");
    let swept = 0;
    for (const name of await fs.readdir(tmp)) {
      const dir = path.join(tmp, name);
      const pid = Number(/\.(\d+)\.[0-9a-f]+$/.exec(name)?.[1]);
      if (Number.isInteger(pid) && isAlive(pid)) continue;
      if (now - (await newestMtime(dir)) < maxAgeMs) continue;
      await fs.rm(dir, { recursive: true, force: true });
      swept++;
    }
    return swept;
  }

  /**
   * SHA-256 of a model file, streamed, remembered per (path, size, mtime, inode, ctime, device
   * and a hash of three 64 KiB samples) so a re-run does not rehash a multi-GB file. A rewrite in
   * place that keeps the size and restores the mtime (touch -r, cp -p) still changes the ctime,
   * which no user can set back; the samples catch a rewrite on filesystems with coarse times.
   *
   * @example
   * const sha = await cache.modelHash("model.gguf")
   */
  async modelHash(file: string): Promise<string> {
    const abs = path.resolve(file);
    const st = await fs.stat(abs, { bigint: true });
    const identity = {
      path: abs,
      size: Number(st.size),
      mtimeNs: String(st.mtimeNs),
      ctimeNs: String(st.ctimeNs),
      ino: String(st.ino),
      dev: String(st.dev),
      sample: await sampleHash(abs, Number(st.size)),
    };
    const memo = path.join(this.dir, "hashes", `${createHash("sha256").update(abs).digest("hex").slice(0, 32)}.json`);
    const known = await readJson(memo);
    if (known !== undefined && sameIdentity(known, identity) && typeof known["sha256"] === "string") {
      await this.note({ event: "hash-reused", file: abs });
      return known["sha256"];
    }
    const sha256 = await hashFile(abs);
    await fs.mkdir(path.dirname(memo), { recursive: true });
    await writeAtomically(memo, (temp) => fs.writeFile(temp, JSON.stringify({ ...identity, sha256 })));
    await this.note({ event: "hash-computed", file: abs });
    return sha256;
  }

  /**
   * The persistent record of every process that used this cache (log.jsonl), oldest first.
   *
   * @example
   * (await cache.readLog()).filter((r) => r.event === "published").length
   */
  async readLog(): Promise<CacheLogRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.dir, "log.jsonl"), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    // a line cut short by a crash mid-append is skipped, not fatal
    return text.split("\n").flatMap((line) => {
      if (line.trim() === "") return [];
      try {
        return [JSON.parse(line) as CacheLogRecord];
      } catch {
        return [];
      }
    });
  }

  private async lookUpOrCreate(
    key: CacheKey,
    create: (tmpDir: string) => Promise<void>,
    description: string | undefined,
  ): Promise<{ entry: CacheEntry; outcome: CacheOutcome }> {
    const existing = await this.get(key);
    if (existing !== undefined) {
      await this.note({ event: "hit", ...about(key) });
      return { entry: existing, outcome: "hit" };
    }
    await this.note({ event: "miss", ...about(key) });
    return this.createAndPublish(key, create, description);
  }

  private async createAndPublish(
    key: CacheKey,
    create: (tmpDir: string) => Promise<void>,
    description: string | undefined,
  ): Promise<{ entry: CacheEntry; outcome: CacheOutcome }> {
    const tmpDir = path.join(this.dir, "tmp", `${key.id}.${process.pid}.${randomBytes(4).toString("hex")}`);
    await fs.mkdir(tmpDir);
    try {
      await create(tmpDir);
      const files = await listFiles(tmpDir);
      if (files.some((f) => f.name === MANIFEST)) throw new Error(`cache: a created entry may not contain its own ${MANIFEST}`);
      for (const f of files) await fsyncPath(path.join(tmpDir, f.name));
      const manifest: CacheManifest = {
        format: "apreqel-cache-entry",
        version: 1,
        key: key.id,
        inputs: key.inputs,
        createdAt: new Date().toISOString(),
        ...(description !== undefined ? { description } : {}),
        files,
        totalBytes: files.reduce((s, f) => s + f.bytes, 0),
      };
      const manifestPath = path.join(tmpDir, MANIFEST);
      await fs.writeFile(manifestPath, JSON.stringify(manifest, null, 2));
      await fsyncPath(manifestPath);
      await fsyncDir(tmpDir);
      const outcome = await this.publish(tmpDir, key);
      const entry = await this.read(key.id);
      if (entry === undefined) throw new Error(`cache: entry ${key.id} vanished right after publishing (cleared concurrently?)`);
      await this.note({ event: outcome === "created" ? "published" : "lost-race", ...about(key) });
      return { entry, outcome };
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  }

  // rename(2) onto a non-empty directory fails, so the first writer wins. An incomplete
  // directory in the way (damaged by hand) is moved aside once.
  private async publish(tmpDir: string, key: CacheKey): Promise<CacheOutcome> {
    const final = path.join(this.dir, "entries", key.id);
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.rename(tmpDir, final);
        await fsyncDir(path.dirname(final));
        return "created";
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "EPERM") throw e;
        if ((await this.read(key.id)) !== undefined) return "lost-race";
        if (attempt > 0) throw e;
        await this.discard(final);
      }
    }
  }

  private async read(id: string): Promise<CacheEntry | undefined> {
    const dir = path.join(this.dir, "entries", id);
    const manifestPath = path.join(dir, MANIFEST);
    const manifest = await readJson(manifestPath);
    if (manifest === undefined || manifest["format"] !== "apreqel-cache-entry" || manifest["key"] !== id) return undefined;
    const m = manifest as unknown as CacheManifest;
    if (!Array.isArray(m.files)) return undefined;
    for (const f of m.files) {
      const st = await fs.stat(path.join(dir, f.name)).catch(() => undefined);
      if (st === undefined || st.size !== f.bytes) return undefined;
    }
    const st = await fs.stat(manifestPath);
    return { key: id, dir, manifest: m, lastUsedAt: st.mtime };
  }

  private async discard(dir: string): Promise<void> {
    const trash = path.join(this.dir, "tmp", `trash-${path.basename(dir)}.${process.pid}.${randomBytes(4).toString("hex")}`);
    try {
      await fs.rename(dir, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // someone else removed it
      throw e;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  private async note(event: CacheEvent): Promise<void> {
    this.record.push(event);
    const line = JSON.stringify({ ...event, time: new Date().toISOString(), pid: process.pid }) + "\n";
    await fs.appendFile(path.join(this.dir, "log.jsonl"), line);
  }
}

function about(key: CacheKey): { key: string; kind: CacheKind; type: string | null } {
  return { key: key.id, kind: key.inputs.kind, type: key.inputs.type };
}

/**
 * Streaming SHA-256 of a file, hex.
 *
 * @example
 * await hashFile("model.gguf") // "9f86d0…"
 */
/** SHA-256 of 64 KiB at the start, the middle and the end of a file (the model cache's quick identity check). */
export async function sampleHash(file: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const fh = await fs.open(file, "r");
  try {
    const chunk = Buffer.alloc(64 << 10);
    for (const at of [0, Math.max(0, Math.floor(size / 2) - chunk.length / 2), Math.max(0, size - chunk.length)]) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, at);
      hash.update(chunk.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function listFiles(dir: string, prefix = ""): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const d of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix === "" ? d.name : `${prefix}/${d.name}`;
    if (d.isDirectory()) out.push(...(await listFiles(path.join(dir, d.name), rel)));
    else if (d.isFile()) out.push({ name: rel, bytes: (await fs.stat(path.join(dir, d.name))).size });
    else throw new Error(`cache: entries hold regular files only; ${rel} is not one`);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function fsyncPath(file: string): Promise<void> {
  const handle = await fs.open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Directory fsync makes the rename durable; Windows cannot open directories for it.
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform !== "win32") await fsyncPath(dir);
}

async function newestMtime(dir: string): Promise<number> {
  let newest = (await fs.stat(dir)).mtimeMs;
  for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const st = await fs.stat(path.join(d.parentPath, d.name)).catch(() => undefined);
    if (st !== undefined) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // a torn manifest or memo is treated as absent
  }
}

function sameIdentity(known: Record<string, unknown>, identity: Record<string, unknown>): boolean {
  return Object.keys(identity).every((k) => known[k] === identity[k]);
}

/** Why the file system refused, in words, for the errors a cache folder can give. */
const UNUSABLE_CACHE: Readonly<Record<string, string>> = {
  EACCES: "it is not writable by this user",
  EPERM: "it is not writable by this user",
  EROFS: "it is on a read-only file system",
  ENOTDIR: "a part of its path is a file, not a folder",
  EEXIST: "it is a file, not a folder",
  ENOSPC: "its file system is full",
  EDQUOT: "the disk quota is used up",
};

/**
 * The cache folder cannot be used: an InputError naming the folder and how to choose another
 * (any other error is passed on as it is).
 *
 * @example
 * unusableCacheError("/ro/cache", Object.assign(new Error("EACCES"), { code: "EACCES" })).message
 * // "cannot use /ro/cache as the cache folder: it is not writable by this user (EACCES); choose another with --cache-dir DIR or APREQEL_CACHE_DIR=DIR"
 */
export function unusableCacheError(dir: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why = code === undefined ? undefined : UNUSABLE_CACHE[code];
  if (why === undefined) return e;
  return new InputError(`cannot use ${dir} as the cache folder: ${why} (${code}); choose another with --cache-dir DIR or APREQEL_CACHE_DIR=DIR`);
}
