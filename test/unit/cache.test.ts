import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Cache, cacheKey, defaultCacheDir, hashFile } from "../../lib/cache/index.js";
import { race } from "../helpers/cache-race.js";
import { InputError } from "../../lib/core/errors.js";
import { tempDir } from "../helpers/tmp.js";

const SHA = "a".repeat(64);
const root = tempDir("apreqel-cache-");
let n = 0;
const freshDir = (): string => path.join(root, `c${n++}`);

function key(type: string, settings: Record<string, unknown> = {}) {
  return cacheKey({ modelSha256: SHA, kind: "uniform", type, settings, fingerprint: "fp" });
}

describe("cache keys", () => {
  it("do not depend on the order settings are written in, and change with any input", () => {
    const a = cacheKey({ modelSha256: SHA, kind: "measurement", type: null, settings: { nCtx: 512, chunks: 4 }, fingerprint: "x" });
    const b = cacheKey({ modelSha256: SHA, kind: "measurement", type: null, settings: { chunks: 4, nCtx: 512 }, fingerprint: "x" });
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    const c = cacheKey({ modelSha256: SHA, kind: "measurement", type: null, settings: { chunks: 4, nCtx: 512 }, fingerprint: "y" });
    expect(c.id).not.toBe(a.id);
    expect(key("q4_K").id).not.toBe(key("q5_K").id);
  });

  it("reject a model hash that is not one", () => {
    expect(() => cacheKey({ modelSha256: "abc", kind: "uniform", type: "q4_K", settings: {}, fingerprint: "" })).toThrow(
      'cache key: modelSha256 must be 64 hex digits (got "abc")',
    );
  });
});

describe("defaultCacheDir", () => {
  it("prefers APREQEL_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(defaultCacheDir({ APREQEL_CACHE_DIR: "/x/y", XDG_CACHE_HOME: "/z" }, "/home/u")).toBe("/x/y");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/z" }, "/home/u")).toBe("/z/apreqel");
    expect(defaultCacheDir({}, "/home/u")).toBe("/home/u/.cache/apreqel");
  });
});

describe("Cache", () => {
  it("creates on a miss, then hits without calling create, and records both", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    let calls = 0;
    const create = async (tmp: string) => {
      calls++;
      await writeFile(path.join(tmp, "model.gguf"), "0123456789");
      await mkdir(path.join(tmp, "sub"));
      await writeFile(path.join(tmp, "sub", "extra.json"), "{}");
    };
    const first = await cache.getOrCreate(key("q4_K"), create, { description: "uniform q4_K" });
    expect(first.outcome).toBe("created");
    expect(await readFile(path.join(first.dir, "model.gguf"), "utf8")).toBe("0123456789");
    expect(first.manifest.files).toEqual([
      { name: "model.gguf", bytes: 10, sha256: "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882" }, // SHA-256("0123456789")
      { name: "sub/extra.json", bytes: 2, sha256: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" }, // SHA-256("{}")
    ]);
    expect(first.manifest.totalBytes).toBe(12);
    expect(first.manifest.inputs.type).toBe("q4_K");
    expect(first.manifest.description).toBe("uniform q4_K");
    const second = await cache.getOrCreate(key("q4_K"), create);
    expect(second.outcome).toBe("hit");
    expect(second.dir).toBe(first.dir);
    expect(calls).toBe(1);
    expect(cache.events.map((e) => e.event)).toEqual(["miss", "published", "hit"]);
    // a second process (here: a second instance) sees the same through the persistent log
    const other = await Cache.open({ dir: cache.dir });
    expect((await other.readLog()).map((r) => r.event)).toEqual(["miss", "published", "hit"]);
    expect(await readdir(path.join(cache.dir, "tmp"))).toEqual([]);
  });

  it("publishes nothing when create throws, and leaves no temp dir", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    await expect(
      cache.getOrCreate(key("q3_K"), async (tmp) => {
        await writeFile(path.join(tmp, "half.gguf"), "x");
        throw new Error("quantize failed");
      }),
    ).rejects.toThrow("quantize failed");
    expect(await cache.get(key("q3_K"))).toBeUndefined();
    expect(await readdir(path.join(cache.dir, "entries"))).toEqual([]);
    expect(await readdir(path.join(cache.dir, "tmp"))).toEqual([]);
  });

  it("never uses a directory without its manifest (a half-written entry), and replaces it", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    const k = key("q6_K");
    mkdirSync(path.join(cache.dir, "entries", k.id));
    writeFileSync(path.join(cache.dir, "entries", k.id, "model.gguf"), "partial");
    expect(await cache.get(k)).toBeUndefined();
    expect(await cache.list()).toEqual([]);
    const entry = await cache.getOrCreate(k, (tmp) => writeFile(path.join(tmp, "model.gguf"), "complete"));
    expect(entry.outcome).toBe("created");
    expect(await readFile(path.join(entry.dir, "model.gguf"), "utf8")).toBe("complete");
  });

  it("ignores an entry whose file no longer has the size the manifest records", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    const entry = await cache.getOrCreate(key("q8_0"), (tmp) => writeFile(path.join(tmp, "model.gguf"), "12345"));
    writeFileSync(path.join(entry.dir, "model.gguf"), "12");
    expect(await cache.get(key("q8_0"))).toBeUndefined();
  });

  it("runs create once for two concurrent calls on one key in one process", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    let calls = 0;
    const create = async (tmp: string) => {
      calls++;
      await new Promise((r) => setTimeout(r, 50));
      await writeFile(path.join(tmp, "model.gguf"), "once");
    };
    const [a, b] = await Promise.all([cache.getOrCreate(key("q5_K"), create), cache.getOrCreate(key("q5_K"), create)]);
    expect(calls).toBe(1);
    expect([a.outcome, b.outcome].sort()).toEqual(["created", "joined"]);
    expect(a.dir).toBe(b.dir);
    expect(cache.counts()).toMatchObject({ miss: 1, published: 1, joined: 1 });
  });

  it("lets exactly one of two racing processes publish; the other uses the winner's entry", async () => {
    const dir = freshDir();
    const barrier = path.join(root, `barrier${n++}`);
    mkdirSync(barrier);
    await Cache.open({ dir });
    const child = spawn(
      path.resolve("node_modules/.bin/vite-node"),
      [path.resolve("test/helpers/cache-racer.ts"), dir, barrier, SHA, "child"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const mine = await race(dir, barrier, SHA, "parent");
    expect(await exited, stderr).toBe(0);
    const theirs = JSON.parse(readFileSync(path.join(barrier, "result-child.json"), "utf8")) as { outcome: string; content: string };
    expect([mine.outcome, theirs.outcome].sort()).toEqual(["created", "lost-race"]);
    expect(mine.content).toBe(theirs.content);
    const log = await (await Cache.open({ dir })).readLog();
    expect(log.filter((r) => r.event === "published")).toHaveLength(1);
    expect(log.filter((r) => r.event === "lost-race")).toHaveLength(1);
    expect(await readdir(path.join(dir, "entries"))).toHaveLength(1);
    expect(await readdir(path.join(dir, "tmp"))).toEqual([]);
  }, 30_000);

  it("sweeps temp dirs of dead processes older than the limit, keeps fresh ones", async () => {
    const dir = freshDir();
    await Cache.open({ dir });
    const stale = path.join(dir, "tmp", `${"b".repeat(64)}.999999999.abcd1234`);
    const fresh = path.join(dir, "tmp", `${"c".repeat(64)}.999999999.abcd1234`);
    for (const d of [stale, fresh]) {
      mkdirSync(d);
      writeFileSync(path.join(d, "model.gguf"), "x");
    }
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(stale, "model.gguf"), old, old);
    await utimes(stale, old, old);
    await Cache.open({ dir });
    expect(await readdir(path.join(dir, "tmp"))).toEqual([path.basename(fresh)]);
  });

  it("lists entries and clears by age or entirely", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    const a = await cache.getOrCreate(key("q4_K"), (tmp) => writeFile(path.join(tmp, "f"), "aaaa"));
    await cache.getOrCreate(key("q5_K"), (tmp) => writeFile(path.join(tmp, "f"), "bb"));
    const old = new Date(Date.now() - 10 * 86400_000);
    await utimes(path.join(a.dir, "manifest.json"), old, old);
    expect((await cache.list()).map((e) => e.manifest.inputs.type)).toEqual(["q4_K", "q5_K"]);
    const aged = await cache.clear({ olderThanMs: 7 * 86400_000 });
    expect(aged.removed.map((e) => e.manifest.inputs.type)).toEqual(["q4_K"]);
    expect(aged.freedBytes).toBe(4);
    expect((await cache.list()).map((e) => e.manifest.inputs.type)).toEqual(["q5_K"]);
    const all = await cache.clear();
    expect(all.removed).toHaveLength(1);
    expect(await cache.list()).toEqual([]);
    expect(await readdir(path.join(cache.dir, "tmp"))).toEqual([]);
  });

  it("hashes a model once per (path, size, mtime, inode)", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    const file = path.join(root, `model${n++}.gguf`);
    writeFileSync(file, "abc");
    const expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // SHA-256("abc"), FIPS 180-2
    expect(await cache.modelHash(file)).toBe(expected);
    expect(await cache.modelHash(file)).toBe(expected);
    expect(cache.events.map((e) => e.event)).toEqual(["hash-computed", "hash-reused"]);
    writeFileSync(file, "abcd");
    expect(await cache.modelHash(file)).toBe(await hashFile(file));
    expect(cache.counts()["hash-computed"]).toBe(2);
  });

  it("notices a rewrite in place with the same size and a restored mtime (issue 12)", async () => {
    const cache = await Cache.open({ dir: freshDir() });
    const file = path.join(root, `model${n++}.gguf`);
    writeFileSync(file, "old weights");
    const old = await cache.modelHash(file);
    const { atime, mtime, ino } = statSync(file);
    writeFileSync(file, "new weights"); // same length, same inode
    utimesSync(file, atime, mtime); // what `touch -r` or `cp -p` does
    expect(statSync(file).ino).toBe(ino);
    expect(Math.abs(statSync(file).mtimeMs - mtime.getTime())).toBeLessThan(1); // restored (to the ms utimes takes)
    const now = await cache.modelHash(file);
    expect(now).not.toBe(old);
    expect(now).toBe(await hashFile(file));
    expect(cache.events.map((e) => e.event)).toEqual(["hash-computed", "hash-computed"]);
  });
});

// Issue 12: an unusable cache folder is found when the cache is opened (before any long work) and
// named, with how to choose another; never a raw EACCES from deep inside a step.
describe("Cache.open on a folder that cannot be used", () => {
  const expectRefused = async (dir: string, why: RegExp) => {
    const e = await Cache.open({ dir }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(new RegExp(`^cannot use ${dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} as the cache folder: `));
    expect((e as Error).message).toMatch(why);
    expect((e as Error).message).toMatch(/choose another with --cache-dir DIR or APREQEL_CACHE_DIR=DIR$/);
  };

  it("a path under a regular file (fails for every user, root included)", async () => {
    const file = path.join(tempDir(), "a-file");
    writeFileSync(file, "not a folder\n");
    await expectRefused(path.join(file, "cache"), /a part of its path is a file, not a folder \(ENOTDIR\)/);
  });

  it("an existing folder that cannot be written: chmod 555, or a read-only mount where permissions do not bite (root)", async (ctx) => {
    const dir = path.join(tempDir(), "ro-cache");
    mkdirSync(path.join(dir, "entries"), { recursive: true });
    mkdirSync(path.join(dir, "tmp"), { recursive: true });
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) {
      chmodSync(path.join(dir, "tmp"), 0o555);
      chmodSync(dir, 0o555);
      try {
        await expectRefused(dir, /it is not writable by this user \(EACCES\)/);
      } finally {
        chmodSync(dir, 0o755);
        chmodSync(path.join(dir, "tmp"), 0o755);
      }
      return;
    }
    // root ignores the mode bits: a read-only tmpfs fails for root too
    try {
      // a cache that exists (entries/, tmp/) on a file system later made read-only
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "pipe" });
      mkdirSync(path.join(dir, "entries"));
      mkdirSync(path.join(dir, "tmp"));
      try {
        execFileSync("mount", ["-o", "remount,ro", dir], { stdio: "pipe" });
      } catch (e) {
        execFileSync("umount", ["-l", dir]);
        throw e;
      }
    } catch (e) {
      ctx.skip(`running as root, where chmod cannot make a folder unwritable, and cannot mount a read-only tmpfs (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}); the ENOTDIR case above still runs`);
      return;
    }
    try {
      await expectRefused(dir, /it is on a read-only file system \(EROFS\)/);
    } finally {
      execFileSync("umount", ["-l", dir]);
    }
  });
});
