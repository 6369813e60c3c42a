// Issue 22: nothing the cache reads back is trusted. Every case damages a file the test wrote
// itself, the way a careless hand, a full disk or another machine of a fleet would.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Cache, CacheDamage, cacheKey, checkShape, hashFile, readCachedFile, readCachedJson } from "../../lib/cache/index.js";
import { InputError } from "../../lib/core/errors.js";
import { tempDir } from "../helpers/tmp.js";

const SHA = "d".repeat(64);
const root = tempDir("apreqel-cache-integrity-");
let n = 0;
const freshDir = (): string => path.join(root, `c${n++}`);
const key = (type: string) => cacheKey({ modelSha256: SHA, kind: "uniform", type, settings: {}, fingerprint: "fp" });

async function openWithNotes(dir = freshDir()): Promise<{ cache: Cache; notes: string[] }> {
  const notes: string[] = [];
  const cache = await Cache.open({ dir, onNote: (m) => notes.push(m) });
  return { cache, notes };
}

/** Overwrites `count` bytes at `at` in place: same size, same inode (what a bad disk or a stray dd does). */
function flip(file: string, at: number, count = 8): void {
  const flipped = Buffer.from(readFileSync(file).subarray(at, at + count).map((b) => b ^ 0xff));
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, flipped, 0, count, at);
  } finally {
    closeSync(fd);
  }
}

describe("a content-verified cache (issue 22, item 1)", () => {
  it("records each file's SHA-256 in the manifest", async () => {
    const { cache } = await openWithNotes();
    const entry = await cache.getOrCreate(key("q4_K"), (tmp) => writeFile(path.join(tmp, "model.gguf"), "abc"));
    // SHA-256("abc"), FIPS 180-2
    expect(entry.manifest.files).toEqual([{ name: "model.gguf", bytes: 3, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" }]);
    expect(entry.manifest.version).toBe(2);
  });

  it("treats a file with 8 bytes flipped (same size) as a miss: recomputed, one note naming the entry", async () => {
    const { cache, notes } = await openWithNotes();
    let calls = 0;
    const create = async (tmp: string) => {
      calls++;
      await writeFile(path.join(tmp, "model.gguf"), Buffer.alloc(4096, 7));
    };
    const first = await cache.getOrCreate(key("q5_K"), create, { description: "uniform q5_K" });
    flip(path.join(first.dir, "model.gguf"), 1000);
    const second = await cache.getOrCreate(key("q5_K"), create, { description: "uniform q5_K" });
    expect(second.outcome).toBe("created");
    expect(calls).toBe(2);
    expect(readFileSync(path.join(second.dir, "model.gguf"))).toEqual(Buffer.alloc(4096, 7));
    expect(notes).toEqual([`cache: entry ${key("q5_K").id.slice(0, 12)} (uniform q5_K) is damaged: model.gguf does not have the SHA-256 its manifest records; removed it, recomputing`]);
    expect(cache.events.map((e) => e.event)).toEqual(["miss", "published", "damaged", "miss", "published"]);
  });

  it("get() of a damaged entry returns undefined and removes it", async () => {
    const { cache, notes } = await openWithNotes();
    const entry = await cache.getOrCreate(key("q6_K"), (tmp) => writeFile(path.join(tmp, "model.gguf"), "0123456789"));
    flip(path.join(entry.dir, "model.gguf"), 2, 2);
    expect(await cache.get(key("q6_K"))).toBeUndefined();
    expect(existsSync(entry.dir)).toBe(false);
    expect(notes).toHaveLength(1);
  });

  it("does not rehash a file whose (device, inode, size, mtime, ctime) still match its verified mark", async () => {
    // shown by forging the mark: a file rewritten, then a mark that claims the new identity is
    // believed (no hash taken). A rewrite cannot forge it by accident: the ctime always moves.
    const { cache } = await openWithNotes();
    const entry = await cache.getOrCreate(key("q8_0"), (tmp) => writeFile(path.join(tmp, "f.bin"), "aaaa"));
    const file = path.join(entry.dir, "f.bin");
    writeFileSync(file, "bbbb");
    const st = lstatSync(file, { bigint: true });
    const forged = { "f.bin": { dev: String(st.dev), ino: String(st.ino), size: 4, mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), sha256: entry.manifest.files[0]!.sha256 } };
    writeFileSync(path.join(entry.dir, "verified.json"), JSON.stringify(forged));
    expect((await cache.get(key("q8_0")))?.dir).toBe(entry.dir);
    // without the forged mark the same bytes are hashed and refused
    writeFileSync(path.join(entry.dir, "verified.json"), "{}");
    expect(await cache.get(key("q8_0"))).toBeUndefined();
  });

  it("rehashes once when the mark is stale (a copied entry), then trusts the new mark", async () => {
    const { cache } = await openWithNotes();
    const entry = await cache.getOrCreate(key("q3_K"), (tmp) => writeFile(path.join(tmp, "f.bin"), "same"));
    writeFileSync(path.join(entry.dir, "verified.json"), "garbage");
    expect(await cache.get(key("q3_K"))).toBeDefined();
    const mark = JSON.parse(readFileSync(path.join(entry.dir, "verified.json"), "utf8")) as Record<string, { sha256: string }>;
    expect(mark["f.bin"]!.sha256).toBe(await hashFile(path.join(entry.dir, "f.bin")));
  });

  it("treats a symlink in place of an entry's file as damage (never read through)", async () => {
    const { cache, notes } = await openWithNotes();
    const outside = path.join(root, `outside${n++}.bin`);
    writeFileSync(outside, "xyzw");
    const entry = await cache.getOrCreate(key("q2_K"), (tmp) => writeFile(path.join(tmp, "f.bin"), "xyzw"));
    const file = path.join(entry.dir, "f.bin");
    rmSync(file);
    symlinkSync(outside, file);
    expect(await cache.get(key("q2_K"))).toBeUndefined();
    expect(readFileSync(outside, "utf8")).toBe("xyzw");
    expect(notes).toEqual([`cache: entry ${key("q2_K").id.slice(0, 12)} (uniform q2_K) is damaged: f.bin is missing or not a regular file; removed it, recomputing`]);
  });

  it("a truncated file is damage too, with its note", async () => {
    const { cache, notes } = await openWithNotes();
    const entry = await cache.getOrCreate(key("q4_1"), (tmp) => writeFile(path.join(tmp, "f.bin"), "12345"), { description: "a file" });
    writeFileSync(path.join(entry.dir, "f.bin"), "12");
    expect(await cache.get(key("q4_1"))).toBeUndefined();
    expect(notes).toEqual([`cache: entry ${key("q4_1").id.slice(0, 12)} (a file) is damaged: f.bin has 2 bytes, the manifest says 5; removed it, recomputing`]);
  });

  it("use(): garbage JSON, a null where a number was written, a binary of the wrong length are misses, recomputed", async () => {
    const { cache, notes } = await openWithNotes();
    const shape = { mean: "number", count: "count" } as const;
    const create = (tmp: string) => Promise.all([writeFile(path.join(tmp, "r.json"), JSON.stringify({ mean: 0.5, count: 3 })), writeFile(path.join(tmp, "v.f32"), Buffer.alloc(12))]).then(() => undefined);
    const load = async (dir: string) => {
      const r = await readCachedJson<{ mean: number; count: number }>(dir, "r.json", shape);
      await readCachedFile(dir, "v.f32", r.count * 4);
      return r;
    };
    const k = key("iq4_xs");
    expect((await cache.use(k, create, load)).value).toEqual({ mean: 0.5, count: 3 });
    // the damage is consistent with the manifest (hash rewritten too): only the loader can tell
    const damage = async (name: string, content: string | Buffer) => {
      const entry = (await cache.get(k))!;
      writeFileSync(path.join(entry.dir, name), content);
      const manifest = JSON.parse(readFileSync(path.join(entry.dir, "manifest.json"), "utf8")) as { files: { name: string; bytes: number; sha256: string }[] };
      for (const f of manifest.files) if (f.name === name) Object.assign(f, { bytes: Buffer.byteLength(content), sha256: await hashFile(path.join(entry.dir, name)) });
      writeFileSync(path.join(entry.dir, "manifest.json"), JSON.stringify(manifest));
    };
    for (const [name, content, reason] of [
      ["r.json", "{not json", /r\.json is not valid JSON/],
      ["r.json", JSON.stringify({ mean: null, count: 3 }), /r\.json: mean is null, expected a finite number/],
      ["v.f32", Buffer.alloc(8), /v\.f32 has 8 bytes, expected 12/],
    ] as const) {
      await damage(name, content);
      notes.length = 0;
      const r = await cache.use(k, create, load);
      expect(r.outcome).toBe("created");
      expect(r.value).toEqual({ mean: 0.5, count: 3 });
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(reason);
      expect(notes[0]).toContain(k.id.slice(0, 12));
    }
  });

  it("use(): a loader that rejects what was just written is apreqel's fault, an Error naming the entry (not the user's)", async () => {
    const { cache } = await openWithNotes();
    const k = key("q4_0");
    const e = await cache.use(k, (tmp) => writeFile(path.join(tmp, "r.json"), "{}"), (dir) => readCachedJson(dir, "r.json", { mean: "number" }), { description: "a result" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(`cache: entry ${k.id} (a result) cannot be read back right after it was written: r.json: mean is undefined, expected a finite number`);
  });

  it("find(): a damaged JSON is undefined (a miss), noted and removed", async () => {
    const { cache, notes } = await openWithNotes();
    const k = key("q5_0");
    await cache.getOrCreate(k, (tmp) => writeFile(path.join(tmp, "probe.json"), JSON.stringify({ mean: 1 })));
    expect(await cache.find(k, (dir) => readCachedJson(dir, "probe.json", { mean: "number" }))).toEqual({ mean: 1 });
    expect(await cache.find(k, (dir) => readCachedJson(dir, "probe.json", { mean: "string" }))).toBeUndefined();
    expect(notes).toHaveLength(1);
    expect(await cache.get(k)).toBeUndefined();
  });

  it("a disk fault while storing names the entry and the cache folder, as the user's to fix", async () => {
    const { cache } = await openWithNotes();
    const k = key("q6_0");
    const e = await cache
      .getOrCreate(k, () => Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })), { description: "a probe" })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(
      `cannot store cache entry ${k.id.slice(0, 12)} (a probe) in ${cache.dir}: its file system is full (ENOSPC); nothing was stored; free space there or choose another cache with --cache-dir DIR or APREQEL_CACHE_DIR=DIR`,
    );
    expect(readdirSync(path.join(cache.dir, "tmp"))).toEqual([]);
  });

  it("checkShape names the first departure", () => {
    expect(() => checkShape({ a: [1, -2] }, { a: ["array", "count"] }, "x.json")).toThrow(new CacheDamage("x.json: a[1] is -2, expected a whole number ≥ 0"));
    expect(() => checkShape({ a: 1 }, { a: "number", b: ["optional", "string"] }, "x.json")).not.toThrow();
    expect(() => checkShape({ b: null }, { b: ["nullable", "string"] }, "x.json")).not.toThrow();
    expect(() => checkShape({}, { b: ["nullable", "string"] }, "x.json")).toThrow(/b is undefined, expected a string/);
    expect(() => checkShape("s", { a: "number" }, "x.json")).toThrow(/the value is string, expected an object/);
  });
});

describe("the model-hash memo (issue 22, item 1)", () => {
  it("is not believed when it holds another file's hash", async () => {
    const { cache } = await openWithNotes();
    const a = path.join(root, `a${n++}.gguf`);
    const b = path.join(root, `b${n++}.gguf`);
    writeFileSync(a, "model A");
    writeFileSync(b, "model B");
    const shaA = await cache.modelHash(a);
    const shaB = await cache.modelHash(b);
    // each memo now claims the other model's hash (memos swapped, or edited)
    const memos = path.join(cache.dir, "hashes");
    for (const name of readdirSync(memos)) {
      const m = JSON.parse(readFileSync(path.join(memos, name), "utf8")) as Record<string, unknown>;
      writeFileSync(path.join(memos, name), JSON.stringify({ ...m, sha256: m["sha256"] === shaA ? shaB : shaA }));
    }
    expect(await cache.modelHash(b)).toBe(shaB);
    expect(await cache.modelHash(a)).toBe(shaA);
    expect(cache.counts()["hash-computed"]).toBe(4);
    expect(cache.counts()["hash-reused"]).toBe(0);
    // and the rewritten memos are believed again
    expect(await cache.modelHash(a)).toBe(shaA);
    expect(cache.counts()["hash-reused"]).toBe(1);
  });
});

describe("a cache owns only what it made (issue 22, item 2)", () => {
  it("marks a folder it creates, and an empty one it is given", async () => {
    const dir = freshDir();
    await Cache.open({ dir });
    expect(readFileSync(path.join(dir, "CACHEDIR.TAG"), "utf8")).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55\n/);
    const empty = freshDir();
    mkdirSync(empty);
    await Cache.open({ dir: empty });
    expect(existsSync(path.join(empty, "CACHEDIR.TAG"))).toBe(true);
  });

  it("refuses a non-empty folder it did not make, touching nothing in it", async () => {
    const dir = freshDir();
    mkdirSync(path.join(dir, "tmp"), { recursive: true });
    writeFileSync(path.join(dir, "notes.txt"), "mine");
    writeFileSync(path.join(dir, "tmp", "draft.txt"), "mine too");
    const e = await Cache.open({ dir, staleTempMs: 0 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(
      `cannot use ${dir} as the cache folder: it holds files apreqel did not make (no CACHEDIR.TAG marker), which the cache would sweep and clear; choose another with --cache-dir DIR or APREQEL_CACHE_DIR=DIR`,
    );
    expect(readdirSync(dir).sort()).toEqual(["notes.txt", "tmp"]);
    expect(readdirSync(path.join(dir, "tmp"))).toEqual(["draft.txt"]);
  });

  it("adopts a cache made before the marker (only its own layout there)", async () => {
    const dir = freshDir();
    mkdirSync(path.join(dir, "entries"), { recursive: true });
    mkdirSync(path.join(dir, "tmp"));
    writeFileSync(path.join(dir, "log.jsonl"), "");
    await Cache.open({ dir });
    expect(existsSync(path.join(dir, "CACHEDIR.TAG"))).toBe(true);
  });

  it("sweeps and clears only its own names: a stray file in tmp/ and a user's files are left, no ENOTDIR", async () => {
    const { cache } = await openWithNotes();
    const stray = path.join(cache.dir, "tmp", "stray");
    writeFileSync(stray, "x");
    const userDir = path.join(cache.dir, "tmp", "my-folder");
    mkdirSync(userDir);
    writeFileSync(path.join(cache.dir, "entries", "README"), "user's");
    mkdirSync(path.join(cache.dir, "hashes"), { recursive: true });
    writeFileSync(path.join(cache.dir, "hashes", "keep.txt"), "user's");
    await cache.getOrCreate(key("q4_K"), (tmp) => writeFile(path.join(tmp, "f"), "x"));
    await cache.modelHash(stray);
    expect(await cache.sweepTemp(0, Date.now() + 3600_000)).toBe(0);
    const cleared = await cache.clear();
    expect(cleared.removed).toHaveLength(1);
    expect(readdirSync(path.join(cache.dir, "tmp")).sort()).toEqual(["my-folder", "stray"]);
    expect(readdirSync(path.join(cache.dir, "entries"))).toEqual(["README"]);
    expect(readdirSync(path.join(cache.dir, "hashes"))).toEqual(["keep.txt"]);
    // reopening (which sweeps) works with the stray file there
    await Cache.open({ dir: cache.dir, staleTempMs: 0 });
  });

  it("never appends through a log.jsonl that is a symlink (to a model, say)", async () => {
    const dir = freshDir();
    await Cache.open({ dir });
    const model = path.join(root, `model${n++}.gguf`);
    writeFileSync(model, "GGUF weights");
    symlinkSync(model, path.join(dir, "log.jsonl"));
    const { cache, notes } = await openWithNotes(dir);
    await cache.getOrCreate(key("q4_K"), (tmp) => writeFile(path.join(tmp, "f"), "x"));
    expect(readFileSync(model, "utf8")).toBe("GGUF weights");
    expect(notes).toEqual([`cache: ${path.join(dir, "log.jsonl")} is not a regular file (ELOOP); the cache's log is not written for the rest of this run (remove it, or run \`apreqel cache clear\`)`]);
    expect(await cache.readLog()).toEqual([]);
    await cache.clear();
    expect(readFileSync(model, "utf8")).toBe("GGUF weights");
    expect(existsSync(path.join(dir, "log.jsonl"))).toBe(false);
  });
});
