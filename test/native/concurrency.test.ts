import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Cache } from "../../lib/cache/cache.js";
import { quantize } from "../../lib/ops/quantize.js";
import { buildDist, runCli, spawnCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const dir = tempDir();
let model: string;

beforeAll(async () => {
  await buildDist();
  model = await fixtureModel();
}, slow(300_000));

describe("concurrency", () => {
  it("two quantize calls at once in one process give the same bytes as one after the other", async () => {
    const [a, b] = await Promise.all([
      quantize({ input: model, output: path.join(dir, "a-q4_K.gguf"), type: "q4_K", threads: 1 }),
      quantize({ input: model, output: path.join(dir, "a-q6_K.gguf"), type: "q6_K", threads: 1 }),
    ]);
    const c = await quantize({ input: model, output: path.join(dir, "b-q4_K.gguf"), type: "q4_K" });
    const d = await quantize({ input: model, output: path.join(dir, "b-q6_K.gguf"), type: "q6_K" });
    expect(readFileSync(a.output).equals(readFileSync(c.output))).toBe(true);
    expect(readFileSync(b.output).equals(readFileSync(d.output))).toBe(true);
  });

  it("two processes sharing one cache: both finish, identical outputs, no half-written entries", async () => {
    const cacheDir = path.join(dir, "shared-cache");
    const calibration = path.join(dir, "calibration.txt");
    writeFileSync(calibration, "Explain why the sky is blue.\n\nWrite a haiku about rivers.\n");
    const evalText = path.join(dir, "eval.txt");
    writeFileSync(evalText, "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(40));
    const settings = ["--cache-dir", cacheDir, "--calibration", calibration, "--eval-text", evalText, "--ctx", "64", "--n-gen", "4", "--n-prompt", "0", "--reps", "1", "--types", "q8_0,q4_K", "--threads", "1", "--no-imatrix"];
    // one profile for both, so their plans cannot differ by timing noise
    const profile = path.join(dir, "profile.json");
    // profile takes no --calibration with --no-imatrix (it would only collect the importance matrix)
    const profileSettings = settings.slice(2).filter((a, i, all) => a !== "--calibration" && all[i - 1] !== "--calibration");
    expect((await runCli(["profile", "--force", model, "-o", profile, "--cache-dir", path.join(dir, "profile-cache"), ...profileSettings])).code).toBe(0);
    const run = (out: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        // the paper's method: no probes, so the shared cache is what the two runs race on
        const child = spawnCli(["quantize", model, "-o", out, "--method", "paper", "--profile", profile, "--priority", "memory", ...settings]);
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += String(d)));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
    const outs = [path.join(dir, "p1.gguf"), path.join(dir, "p2.gguf")];
    const results = await Promise.all(outs.map(run));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(outs[0]!).equals(readFileSync(outs[1]!))).toBe(true);
    const cache = await Cache.open({ dir: cacheDir });
    const entries = await cache.list();
    expect(entries.filter((e) => e.manifest.inputs.kind === "uniform")).toHaveLength(2);
    const tmp = path.join(cacheDir, "tmp");
    if (existsSync(tmp)) expect(readdirSync(tmp)).toEqual([]);
    const log = await cache.readLog();
    // each uniform entry was published once; the other process joined it or lost the race
    const published = log.filter((e) => e.event === "published" && "kind" in e && e.kind === "uniform");
    expect(published).toHaveLength(2);
  });
});
