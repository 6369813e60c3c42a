/**
 * A content-addressed cache on disk. Layout under the cache dir:
 *   CACHEDIR.TAG          the marker written when apreqel created the folder (cachedir spec)
 *   entries/<key>/        one published entry: its files, manifest.json (written last, with each
 *                         file's size and SHA-256) and verified.json (see below)
 *   tmp/<key>.<pid>.<r>/  an entry being created; renamed to entries/<key> when complete
 *   hashes/               remembered model hashes, per (device, inode, size, mtime, ctime)
 *   log.jsonl             the cache's own record of hits, misses and publications
 * Publishing is one rename of a complete, fsynced directory, so an entry is either whole or
 * absent; a directory in entries/ without a valid manifest is never used. Concurrent writers
 * of one key (in this process they share one creation; across processes they race) are safe:
 * the first rename wins and the others discard their copy.
 *
 * Nothing read back is trusted (issue 22): an entry is used only when every file is a regular
 * file whose SHA-256 is the manifest's. Hashing a multi-GB uniform file on every warm run would
 * cost a read of it, so verified.json remembers, per file, the (device, inode, size, mtime, ctime)
 * at which it last hashed right; a file whose identity still matches is not rehashed (a rewrite in
 * place changes the ctime, which no user can set back). A damaged entry (wrong hash, a JSON a
 * loader rejects, a binary of the wrong length) is a miss: removed, recomputed, one note naming it.
 * The cache touches only names of its own patterns: a folder it did not make is refused.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants, createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import { isAlive, writeAtomically } from "../core/files.js";
import { InputError } from "../core/errors.js";
import { requirePath } from "../core/validate.js";
import { fileIdentity, sameFileIdentity, type FileIdentity } from "../core/file-identity.js";
import { defaultCacheDir } from "./location.js";
import { cacheKey, type CacheKey, type CacheKeyInputs, type CacheKind } from "./key.js";

/** manifest.json of an entry. */
export interface CacheManifest {
  readonly format: "apreqel-cache-entry";
  /** 2: files carry their SHA-256 (entries of version 1 have none: never used, recomputed) */
  readonly version: 2;
  readonly key: string;
  readonly inputs: CacheKeyInputs;
  readonly createdAt: string;
  readonly description?: string;
  /** The entry's files (paths relative to the entry), manifest and verified.json excluded. */
  readonly files: readonly { readonly name: string; readonly bytes: number; readonly sha256: string }[];
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
  | { readonly event: "damaged"; readonly key: string; readonly kind: CacheKind; readonly type: string | null; readonly reason: string }
  | { readonly event: "hash-reused" | "hash-computed"; readonly file: string };

/** A line of log.jsonl: an event with when and who. */
export type CacheLogRecord = CacheEvent & { readonly time: string; readonly pid: number };

/** Options of {@link Cache.open}. */
export interface CacheOpenOptions {
  /** The cache dir; default {@link defaultCacheDir}. */
  readonly dir?: string;
  /** Temp dirs untouched this long (and whose process is gone) are removed on open; default 1 minute. */
  readonly staleTempMs?: number;
  /**
   * Where the cache's one-line notes go (a damaged entry removed and recomputed, a log that
   * cannot be written); default: stderr, prefixed "apreqel: ".
   */
  readonly onNote?: (message: string) => void;
}

/**
 * What a loader of an entry throws when the content is not what it wrote (garbage or ill-typed
 * JSON, a binary of the wrong length): the entry is treated as damaged, removed and recomputed.
 */
export class CacheDamage extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CacheDamage";
  }
}

/** Result of {@link Cache.clear}. */
export interface ClearResult {
  readonly removed: readonly CacheEntry[];
  readonly freedBytes: number;
  /** Directories in entries/ without a valid manifest (never used) that were removed too. */
  readonly incomplete: number;
}

const MANIFEST = "manifest.json";
const VERIFIED = "verified.json";
const MARKER = "CACHEDIR.TAG";
// https://bford.info/cachedir/: backup tools skip a folder holding this file
const MARKER_TEXT = "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks an apreqel cache folder (created by apreqel; see `apreqel cache`).\n";
// The only names the cache creates, and so the only ones it ever sweeps or removes.
const ENTRY_NAME = /^[0-9a-f]{64}$/;
const TEMP_NAME = /^(?:trash-)?[0-9a-f]{64}\.\d+\.[0-9a-f]{8}$|^probe\.\d+\.[A-Za-z0-9]{6}$/;
const MEMO_NAME = /^[0-9a-f]{32}\.json$|^\.[0-9a-f]{32}\.json\.tmp-\d+-[0-9a-f]{8}$/;
// The layout of a cache made before the marker existed: adopted (marked) when nothing else is there.
const LAYOUT = new Set(["entries", "tmp", "hashes", "log.jsonl", MARKER]);
// O_NOFOLLOW where the platform has it (not on Windows, where symlinks need privileges to make)
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// A temp dir whose process is gone and that nobody wrote to for a minute is a killed run's leftover.
// (The quiet minute guards a cache shared between hosts, where the pid check means nothing.)
const STALE_TEMP_MS = 60_000;

/** The cache. Open with {@link Cache.open}. */
export class Cache {
  /** Absolute cache dir. */
  readonly dir: string;
  private readonly record: CacheEvent[] = [];
  private readonly creating = new Map<string, Promise<{ entry: CacheEntry; outcome: CacheOutcome }>>();
  private readonly onNote: (message: string) => void;
  private logRefused = false;

  private constructor(dir: string, onNote: ((message: string) => void) | undefined) {
    this.dir = dir;
    this.onNote = onNote ?? ((m) => process.stderr.write(`apreqel: ${m}\n`));
  }

  /**
   * Opens (creating if needed) a cache dir and sweeps stale temp dirs.
   *
   * @example
   * const cache = await Cache.open({ dir: values["cache-dir"] });
   */
  static async open(options: CacheOpenOptions = {}): Promise<Cache> {
    const dir = options.dir === undefined ? defaultCacheDir() : requirePath(options.dir, "cacheDir");
    const cache = new Cache(path.resolve(dir), options.onNote);
    try {
      await cache.claimFolder();
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

  // The folder is apreqel's when it holds the marker; an absent or empty folder becomes apreqel's
  // (marker written first); a folder holding only the cache's own layout (a cache from before the
  // marker) is adopted; any other folder is the user's and refused, before anything in it is touched.
  private async claimFolder(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const st = await fs.lstat(this.dir);
    if (!st.isDirectory()) throw Object.assign(new Error("not a folder"), { code: "EEXIST" });
    const names = await fs.readdir(this.dir);
    if (names.includes(MARKER)) {
      const marker = await fs.lstat(path.join(this.dir, MARKER));
      if (marker.isFile()) return;
    } else if (names.every((n) => LAYOUT.has(n))) {
      const fh = await fs.open(path.join(this.dir, MARKER), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o644);
      try {
        await fh.writeFile(MARKER_TEXT);
      } finally {
        await fh.close();
      }
      return;
    }
    throw new InputError(
      `cannot use ${this.dir} as the cache folder: it holds files apreqel did not make (no ${MARKER} marker), which the cache would sweep and clear; choose another with --cache-dir DIR or APREQEL_CACHE_DIR=DIR`,
    );
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
    const out = { hit: 0, miss: 0, published: 0, joined: 0, "lost-race": 0, removed: 0, damaged: 0, "hash-reused": 0, "hash-computed": 0 };
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
   * The published entry for `key`, or undefined (also for a directory without a valid manifest,
   * or a file of the wrong size or content: a damaged entry is removed, with a note). Marks the
   * entry as used.
   *
   * @example
   * const entry = await cache.get(key); if (entry) use(path.join(entry.dir, "model.gguf"));
   */
  async get(key: CacheKey): Promise<CacheEntry | undefined> {
    // (a valid manifest whose files are missing, truncated or links: damage, noted like a wrong hash)
    const entry = await this.readManifest(key.id);
    if (entry === undefined) return undefined;
    const damage = await this.verify(entry);
    if (damage !== undefined) {
      await this.damaged(key, entry, damage);
      return undefined;
    }
    const now = new Date();
    await fs.utimes(path.join(entry.dir, MANIFEST), now, now).catch(() => undefined); // (a read-only share still serves)
    return { ...entry, lastUsedAt: now };
  }

  /**
   * The published entry for `key` read by `load`, or undefined. `load` reads the entry's files
   * and throws {@link CacheDamage} (or any error) when their content is not what was written: the
   * entry is then removed, with a note naming it, and undefined returned.
   *
   * @example
   * const kld = await cache.find(key, (dir) => readCachedJson<ProbeKld>(dir, "probe.json", PROBE_SHAPE));
   */
  async find<T>(key: CacheKey, load: (dir: string) => Promise<T>): Promise<T | undefined> {
    const entry = await this.get(key);
    if (entry === undefined) return undefined;
    try {
      return await load(entry.dir);
    } catch (e) {
      await this.damaged(key, entry, reasonOf(e));
      return undefined;
    }
  }

  /**
   * The entry for `key`, created by `create(tmpDir)` when absent: `create` writes the entry's
   * files into tmpDir (an empty directory inside the cache); when it resolves, the files are
   * fsynced and hashed, the manifest is written and the directory is published. If `create`
   * throws, nothing is published and the error propagates. A published entry that is damaged is
   * removed (with a note) and created again. To read the entry's content, use {@link use}: it
   * checks what it reads.
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
   * {@link getOrCreate}, then `load` over the entry: the one way to read an entry's content. A
   * found entry that `load` rejects is damaged: removed (one note naming it), created again and
   * loaded again. A load that rejects what was just created is a fault of apreqel's, not the user's:
   * an Error naming the entry.
   *
   * @example
   * const { value } = await cache.use(key, (tmp) => fs.writeFile(path.join(tmp, "result.json"), json), (dir) => readResult(dir));
   */
  async use<T>(
    key: CacheKey,
    create: (tmpDir: string) => Promise<void>,
    load: (dir: string) => Promise<T>,
    options: { readonly description?: string } = {},
  ): Promise<CacheEntry & { readonly outcome: CacheOutcome; readonly value: T }> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.getOrCreate(key, create, options);
      try {
        return { ...entry, value: await load(entry.dir) };
      } catch (e) {
        const fresh = entry.outcome === "created" || entry.outcome === "lost-race";
        if (fresh || attempt > 0) {
          throw new Error(`cache: entry ${key.id} (${describe(entry.manifest)}) cannot be read back right after it was written: ${reasonOf(e)}`, { cause: e });
        }
        await this.damaged(key, entry, reasonOf(e));
      }
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
      if (!ENTRY_NAME.test(name)) continue; // not a name the cache makes: not ours to remove
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
      const hashes = path.join(this.dir, "hashes");
      const memos = await fs.readdir(hashes).catch(() => [] as string[]);
      for (const name of memos) if (MEMO_NAME.test(name)) await fs.rm(path.join(hashes, name), { force: true });
      await fs.rmdir(hashes).catch(() => undefined); // kept when something else is in it
      await fs.rm(path.join(this.dir, "log.jsonl"), { force: true });
      this.logRefused = false;
    }
    return { removed, freedBytes: removed.reduce((s, e) => s + e.manifest.totalBytes, 0), incomplete };
  }

  /**
   * Removes temp dirs not modified for `maxAgeMs` whose creating process is gone (a crashed or
   * killed run); returns how many. Only the cache's own temp names are looked at: anything else
   * in tmp/ (a stray file, a user's folder) is left alone.
   *
   * @example
   * await cache.sweepTemp(3600_000)
   */
  async sweepTemp(maxAgeMs: number, now = Date.now()): Promise<number> {
    const tmp = path.join(this.dir, "tmp");
    let swept = 0;
    for (const name of await fs.readdir(tmp)) {
      if (!TEMP_NAME.test(name)) continue;
      const dir = path.join(tmp, name);
      const st = await fs.lstat(dir).catch(() => undefined);
      if (st === undefined || !st.isDirectory()) continue;
      const pid = Number(/\.(\d+)\.[0-9a-zA-Z]+$/.exec(name)?.[1]);
      if (Number.isInteger(pid) && isAlive(pid)) continue;
      if (now - (await newestMtime(dir)) < maxAgeMs) continue;
      await fs.rm(dir, { recursive: true, force: true });
      swept++;
    }
    return swept;
  }

  /**
   * SHA-256 of a model file, streamed, remembered per (device, inode, size, mtime, ctime, path
   * and a hash of three 64 KiB samples) so a re-run does not rehash a multi-GB file. A rewrite in
   * place that keeps the size and restores the mtime (touch -r, cp -p) still changes the ctime,
   * which no user can set back; the samples catch a rewrite on filesystems with coarse times.
   * The memo is named by the file's device and inode (not its path: a path can name another
   * file later) and carries a checksum over its own fields, so a memo that is damaged, or copied
   * from another file, is not believed: the file is hashed again.
   *
   * @example
   * const sha = await cache.modelHash("model.gguf")
   */
  async modelHash(file: string): Promise<string> {
    const abs = path.resolve(requirePath(file, "model"));
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
    const memo = path.join(this.dir, "hashes", `${createHash("sha256").update(`${identity.dev}:${identity.ino}`).digest("hex").slice(0, 32)}.json`);
    const known = await readJson(memo);
    if (known !== undefined && sameIdentity(known, identity) && typeof known["sha256"] === "string" && known["check"] === memoCheck(identity, known["sha256"])) {
      await this.note({ event: "hash-reused", file: abs });
      return known["sha256"];
    }
    const sha256 = await hashFile(abs);
    await fs.mkdir(path.dirname(memo), { recursive: true });
    await writeAtomically(memo, (temp) => fs.writeFile(temp, JSON.stringify({ ...identity, sha256, check: memoCheck(identity, sha256) })));
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
      text = await readNoFollow(path.join(this.dir, "log.jsonl"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ELOOP") return []; // (a symlink is not the cache's log)
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
    const existing = await this.get(key); // (a damaged entry: removed, noted, undefined)
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
    try {
      await fs.mkdir(tmpDir);
    } catch (e) {
      throw this.storeError(key, description, e);
    }
    try {
      await create(tmpDir).catch((e: unknown) => {
        // the creator's errors are its own, unless they are about the cache's disk
        const where = (e as NodeJS.ErrnoException | null)?.path;
        const code = (e as NodeJS.ErrnoException | null)?.code;
        throw (where !== undefined && where.startsWith(this.dir + path.sep)) || code === "ENOSPC" || code === "EDQUOT" ? this.storeError(key, description, e) : e;
      });
      const listed = await listFiles(tmpDir);
      if (listed.some((f) => f.name === MANIFEST || f.name === VERIFIED)) throw new Error(`cache: a created entry may not contain its own ${MANIFEST} or ${VERIFIED}`);
      const files: CacheManifest["files"][number][] = [];
      const marks: Record<string, FileMark> = {};
      try {
        for (const f of listed) {
          const file = path.join(tmpDir, f.name);
          await fsyncPath(file);
          // hashed once here, while the file is fresh in the page cache; the mark spares warm runs
          const sha256 = await hashFile(file);
          files.push({ ...f, sha256 });
          marks[f.name] = { ...(await fileIdentity(file)), sha256 };
        }
        await fs.writeFile(path.join(tmpDir, VERIFIED), JSON.stringify(marks));
        const manifest: CacheManifest = {
          format: "apreqel-cache-entry",
          version: 2,
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
      } catch (e) {
        throw this.storeError(key, description, e);
      }
      const outcome = await this.publish(tmpDir, key).catch((e: unknown) => {
        throw this.storeError(key, description, e);
      });
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

  // The entry as its manifest describes it, checked for shape and sizes only (cheap: list, clear).
  private async read(id: string): Promise<CacheEntry | undefined> {
    const entry = await this.readManifest(id);
    if (entry === undefined) return undefined;
    for (const f of entry.manifest.files) {
      const st = await fs.lstat(path.join(entry.dir, f.name)).catch(() => undefined);
      if (st === undefined || !st.isFile() || st.size !== f.bytes) return undefined;
    }
    return entry;
  }

  // The entry whose manifest is valid (its files not looked at), or undefined.
  private async readManifest(id: string): Promise<CacheEntry | undefined> {
    if (!ENTRY_NAME.test(id)) return undefined;
    const dir = path.join(this.dir, "entries", id);
    const dirSt = await fs.lstat(dir).catch(() => undefined);
    if (dirSt === undefined || !dirSt.isDirectory()) return undefined; // (a symlink in entries/ is not an entry)
    const manifestPath = path.join(dir, MANIFEST);
    const manifest = await readJson(manifestPath);
    if (manifest === undefined || !isManifest(manifest, id)) return undefined;
    const st = await fs.stat(manifestPath);
    return { key: id, dir, manifest, lastUsedAt: st.mtime };
  }

  // Why the entry's files are not what its manifest records, or undefined when they are: each a
  // regular file (not a link) whose SHA-256 is the manifest's, from the verified mark when the
  // file's identity is unchanged since it was last hashed, else by hashing it now.
  private async verify(entry: CacheEntry): Promise<string | undefined> {
    const markPath = path.join(entry.dir, VERIFIED);
    const marks = ((await readJson(markPath)) ?? {}) as Record<string, Partial<FileMark> | undefined>;
    let rehashed = false;
    for (const f of entry.manifest.files) {
      const file = path.join(entry.dir, f.name);
      const st = await fs.lstat(file).catch(() => undefined);
      if (st === undefined || !st.isFile()) return `${f.name} is missing or not a regular file`;
      if (st.size !== f.bytes) return `${f.name} has ${st.size} bytes, the manifest says ${f.bytes}`;
      const identity = await fileIdentity(file);
      const mark = marks[f.name];
      if (mark !== undefined && mark.sha256 === f.sha256 && sameFileIdentity(mark, identity)) continue;
      const sha256 = await hashFileNoFollow(file);
      if (sha256 !== f.sha256) return `${f.name} does not have the SHA-256 its manifest records`;
      marks[f.name] = { ...identity, sha256 };
      rehashed = true;
    }
    // best effort: a read-only share, or a racing writer of the same mark, only costs a rehash later
    if (rehashed) await writeAtomically(markPath, (temp) => fs.writeFile(temp, JSON.stringify(marks))).catch(() => undefined);
    return undefined;
  }

  // A fault of the cache's disk while storing an entry (a full disk, a folder made read-only):
  // the user's to fix, so an InputError naming the entry, the folder and what was done; any other
  // error passes unchanged (the creator's own: a bad model, an abort).
  private storeError(key: CacheKey, description: string | undefined, e: unknown): unknown {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    const why = code === undefined ? undefined : UNUSABLE_CACHE[code];
    if (why === undefined || e instanceof InputError) return e;
    const what = description ?? `${key.inputs.kind}${key.inputs.type === null ? "" : ` ${key.inputs.type}`}`;
    return new InputError(
      `cannot store cache entry ${key.id.slice(0, 12)} (${what}) in ${this.dir}: ${why} (${code}); nothing was stored; free space there or choose another cache with --cache-dir DIR or APREQEL_CACHE_DIR=DIR`,
    );
  }

  // A damaged entry: noted (one line naming it and what was done) and removed, so the caller recomputes it.
  private async damaged(key: CacheKey, entry: CacheEntry, reason: string): Promise<void> {
    await this.note({ event: "damaged", ...about(key), reason });
    this.onNote(`cache: entry ${key.id.slice(0, 12)} (${describe(entry.manifest)}) is damaged: ${reason}; removed it, recomputing`);
    await this.discard(entry.dir);
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
    if (this.logRefused) return;
    const line = JSON.stringify({ ...event, time: new Date().toISOString(), pid: process.pid }) + "\n";
    try {
      // no-follow: a log.jsonl that is a symlink (to a model, say) is never written through
      const fh = await fs.open(path.join(this.dir, "log.jsonl"), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW, 0o644);
      try {
        await fh.appendFile(line);
      } finally {
        await fh.close();
      }
    } catch (e) {
      // the log is a record, not a result: a run never fails for it (a full disk, a symlink planted there)
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      const why = code === "ELOOP" || code === "EISDIR" || code === "EMLINK" ? `is not a regular file (${code})` : `cannot be appended to (${(e as Error).message})`;
      this.logRefused = true;
      this.onNote(`cache: ${path.join(this.dir, "log.jsonl")} ${why}; the cache's log is not written for the rest of this run (remove it, or run \`apreqel cache clear\`)`);
    }
  }
}

function about(key: CacheKey): { key: string; kind: CacheKind; type: string | null } {
  return { key: key.id, kind: key.inputs.kind, type: key.inputs.type };
}

/** A file's identity when it last hashed right (verified.json, one per entry file). */
interface FileMark extends FileIdentity {
  readonly sha256: string;
}

// The manifest as this version writes it, every field typed; anything else is not an entry.
function isManifest(m: Record<string, unknown>, id: string): m is Record<string, unknown> & CacheManifest {
  if (m["format"] !== "apreqel-cache-entry" || m["version"] !== 2 || m["key"] !== id || !Array.isArray(m["files"])) return false;
  const inputs = m["inputs"] as Record<string, unknown> | null;
  if (typeof inputs !== "object" || inputs === null || typeof inputs["kind"] !== "string" || !(typeof inputs["type"] === "string" || inputs["type"] === null)) return false;
  if (typeof m["totalBytes"] !== "number" || typeof m["createdAt"] !== "string") return false;
  return (m["files"] as unknown[]).every((f) => {
    const o = f as Record<string, unknown> | null;
    return (
      typeof o === "object" && o !== null &&
      typeof o["name"] === "string" && o["name"] !== "" && !o["name"].split("/").some((part) => part === ".." || part === "." || part === "") && !path.isAbsolute(o["name"]) &&
      Number.isSafeInteger(o["bytes"]) && (o["bytes"] as number) >= 0 &&
      typeof o["sha256"] === "string" && /^[0-9a-f]{64}$/.test(o["sha256"])
    );
  });
}

/** An entry in words for notes: its description, else its kind and type. */
function describe(m: CacheManifest): string {
  return m.description ?? `${m.inputs.kind}${m.inputs.type === null ? "" : ` ${m.inputs.type}`}`;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function memoCheck(identity: Record<string, unknown>, sha256: string): string {
  return createHash("sha256").update(JSON.stringify([identity, sha256])).digest("hex").slice(0, 32);
}

/** A cache file's text, opened with O_NOFOLLOW: a symlink planted in the cache is never read through. */
async function readNoFollow(file: string): Promise<string> {
  const fh = await fs.open(file, constants.O_RDONLY | NOFOLLOW);
  try {
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

async function hashFileNoFollow(file: string): Promise<string> {
  const fh = await fs.open(file, constants.O_RDONLY | NOFOLLOW);
  const hash = createHash("sha256");
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
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
  let newest = (await fs.lstat(dir)).mtimeMs;
  for (const d of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const st = await fs.lstat(path.join(d.parentPath, d.name)).catch(() => undefined);
    if (st !== undefined) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readNoFollow(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // absent, or not a regular file of ours (a symlink, a folder): treated as absent
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "EISDIR") return undefined;
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
