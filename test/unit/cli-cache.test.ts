import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Cache } from "../../lib/cache/index.js";
import { main } from "../../lib/cli/main.js";
import { tempDir } from "../helpers/tmp.js";

const dir = path.join(tempDir("apreqel-cli-cache-"), "cache");
let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, "error").mockImplementation((s: unknown) => void err.push(String(s)));
});
afterEach(() => vi.restoreAllMocks());

describe("apreqel cache", () => {
  it("lists entries as JSON and clears them", async () => {
    const cache = await Cache.open({ dir });
    const key = cache.key({ modelSha256: "f".repeat(64), kind: "uniform", type: "q4_K", settings: {}, fingerprint: "fp" });
    await cache.getOrCreate(key, (tmp) => writeFile(path.join(tmp, "model.gguf"), "abc"), { description: "uniform q4_K" });
    expect(await main(["cache", "list", "--cache-dir", dir, "--json"])).toBe(0);
    const listed = JSON.parse(out[0] as string) as { dir: string; entries: { key: string; description: string; totalBytes: number }[] };
    expect(listed.dir).toBe(dir);
    expect(listed.entries.map((e) => [e.key, e.description, e.totalBytes])).toEqual([[key.id, "uniform q4_K", 3]]);
    expect(await main(["cache", "list", "--cache-dir", dir])).toBe(0);
    expect(out[1]).toBe(`${dir}: 1 entry, 3 B`);
    expect(out[2]).toContain("uniform q4_K");
    expect(await main(["cache", "clear", "--older-than", "1d", "--cache-dir", dir, "--json"])).toBe(0);
    expect(JSON.parse(out[3] as string)).toMatchObject({ removed: [], freedBytes: 0 });
    expect(await main(["cache", "clear", "--cache-dir", dir])).toBe(0);
    expect(out[4]).toBe(`${dir}: removed 1 entry (3 B)`);
    expect(await cache.list()).toEqual([]);
  });

  it("exits 2 with one line for a bad action, a bad age or a cache dir that is a file", async () => {
    expect(await main(["cache", "purge"])).toBe(2);
    expect(await main(["cache", "clear", "--older-than", "soon", "--cache-dir", dir])).toBe(2);
    const file = path.join(dir, "log.jsonl");
    await writeFile(file, "");
    expect(await main(["cache", "list", "--cache-dir", file])).toBe(2);
    expect(err).toEqual([
      'apreqel cache: expected "list" or "clear" but received "purge" (see apreqel cache --help)',
      'apreqel cache: expected an age like 30m, 12h or 7d for option --older-than but received "soon" (see apreqel cache --help)',
      `apreqel cache: --cache-dir: ${file} exists and is not a directory`,
    ]);
    expect(out).toEqual([]);
  });
});
