// The cache race used by test/unit/cache.test.ts, in the test process and in a child.
// Both creators wait until the other has started, so their creations overlap and exactly
// one rename can win.
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Cache } from "../../lib/cache/index.js";

/** Creates the race entry, writing `who` into it once both racers have started. */
export async function race(dir: string, barrierDir: string, sha: string, who: string): Promise<{ outcome: string; content: string }> {
  const cache = await Cache.open({ dir });
  const key = cache.key({ modelSha256: sha, kind: "uniform", type: "q4_K", settings: { race: true }, fingerprint: "test" });
  const entry = await cache.getOrCreate(key, async (tmp) => {
    await writeFile(path.join(barrierDir, `started-${who}`), "");
    for (let i = 0; i < 1000 && (await readdir(barrierDir)).filter((f) => f.startsWith("started-")).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await writeFile(path.join(tmp, "model.gguf"), `written by ${who}`);
  });
  return { outcome: entry.outcome, content: await readFile(path.join(entry.dir, "model.gguf"), "utf8") };
}
