// Issue 14: the uniform files are quantized with the importance matrix of the calibration pass by
// default; --no-imatrix quantizes without one, --imatrix FILE wins over the calibration pass's. What
// the uniform files were made with is read from the cache manifests and profile.json, and whether an
// importance matrix was used at all from the bytes of the quantized file.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Cache, hashFile } from "../../lib/cache/cache.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { head, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const dir = tempDir();
let model = "";
let calibration = "";
let evalText = "";

// small settings: which importance matrix the files are made with is under test, not the numbers
const common = (cache: string) => ["--cache-dir", cache, "--eval-text", evalText, "--ctx", "64", "--chunks", "1", "--only", "accuracy", "--types", "q4_K", "--threads", "2", "--json"];

/** The uniform entries of a cache: their settings and the file they hold. */
async function uniformEntries(cacheDir: string): Promise<{ settings: Record<string, unknown>; file: string }[]> {
  const cache = await Cache.open({ dir: cacheDir });
  return (await cache.list())
    .filter((e) => e.manifest.inputs.kind === "uniform")
    .map((e) => ({ settings: e.manifest.inputs.settings as Record<string, unknown>, file: path.join(e.dir, "model.gguf") }));
}

/** The calibration pass's importance matrix in a cache. */
async function capturedImatrix(cacheDir: string): Promise<string> {
  const cache = await Cache.open({ dir: cacheDir });
  const pass = (await cache.list()).filter((e) => e.manifest.inputs.kind === "similarity");
  expect(pass).toHaveLength(1);
  return path.join(pass[0]!.dir, "imatrix.gguf");
}

beforeAll(async () => {
  model = await fixtureModel();
  calibration = path.join(dir, "calibration.txt");
  // every prompt longer than llama-imatrix's 16 tokens
  writeFileSync(calibration, `${"Explain why the sky is blue, and why sunsets are red. ".repeat(4)}\n\n${"Write a haiku about rivers and the stones in them. ".repeat(4)}\n`);
  evalText = path.join(dir, "eval.txt");
  writeFileSync(evalText, "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(20));
}, slow(300_000));

describe("the uniform files' importance matrix", () => {
  const profiles: Record<string, { sha: string | null; file: string }> = {};

  it("by default: the calibration pass's, in the cache key and in profile.json", async () => {
    const cache = path.join(dir, "cache-default");
    const r = await runCli(["profile", "--force", model, "-o", path.join(dir, "default.json"), "--calibration", calibration, ...common(cache)]);
    expect(r.code, r.stderr).toBe(0);
    const imatrix = await capturedImatrix(cache);
    const sha = await hashFile(imatrix);
    const entries = await uniformEntries(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.settings.imatrixSha256).toBe(sha);
    expect(JSON.parse(r.stdout).quantization).toEqual({ nonLayerType: "q8_0", imatrixSha256: sha });
    profiles.default = { sha, file: entries[0]!.file };
  }, slow(300_000));

  it("--no-imatrix: none (imatrixSha256 null), and the file differs from the default's", async () => {
    const cache = path.join(dir, "cache-none");
    // a whole profile (latency too): the next test passes it to quantize
    const whole = [...common(cache).filter((a, i, all) => a !== "--only" && all[i - 1] !== "--only"), "--n-gen", "4", "--n-prompt", "0", "--reps", "1"];
    const r = await runCli(["profile", "--force", model, "-o", path.join(dir, "none.json"), "--no-imatrix", ...whole]);
    expect(r.code, r.stderr).toBe(0);
    const entries = await uniformEntries(cache);
    expect(entries.map((e) => e.settings.imatrixSha256)).toEqual([null]);
    expect(JSON.parse(r.stdout).quantization.imatrixSha256).toBeNull();
    // no calibration pass ran
    expect((await (await Cache.open({ dir: cache })).list()).filter((e) => e.manifest.inputs.kind === "similarity")).toEqual([]);
    profiles.none = { sha: null, file: entries[0]!.file };
    expect(readFileSync(profiles.none.file).equals(readFileSync(profiles.default!.file))).toBe(false);
  }, slow(300_000));

  it("--imatrix FILE wins over the calibration pass", async () => {
    const cache = path.join(dir, "cache-file");
    const other = path.join(dir, "other-text.txt");
    writeFileSync(other, "Numbers and prices: 12 apples cost 3.40 euros; 7 pears cost 2.10 euros in total today. ".repeat(30));
    const imatrix = path.join(dir, "user-imatrix.gguf");
    expect((await runCli(["imatrix", model, "--calibration", other, "--ctx", "64", "--threads", "2", "-o", imatrix])).code).toBe(0);
    // the paper's method (no probes: this calibration text is shorter than two probe chunks)
    const r = await runCli(["quantize", model, "-o", path.join(dir, "mix.gguf"), "--method", "paper", "--imatrix", imatrix, "--calibration", calibration, "--no-measure", "--n-gen", "4", "--n-prompt", "0", "--reps", "1",
      ...common(cache).filter((a, i, all) => a !== "--only" && all[i - 1] !== "--only").map((a) => (a === "q4_K" ? "q8_0,q4_K" : a))]);
    expect(r.code, r.stderr).toBe(0);
    const sha = await hashFile(imatrix);
    const entries = await uniformEntries(cache);
    expect(entries.map((e) => e.settings.imatrixSha256)).toEqual([sha, sha]);
    expect(sha).not.toBe(profiles.default!.sha);
  }, slow(300_000));

  it("a profile made with another importance matrix is refused by quantize --profile", async () => {
    const r = await runCli(["quantize", model, "-o", path.join(dir, "refused.gguf"), "--method", "paper", "--profile", path.join(dir, "none.json"), "--calibration", calibration, "--no-measure", "--n-gen", "4", "--n-prompt", "0", "--reps", "1",
      ...common(path.join(dir, "cache-default")).filter((a, i, all) => a !== "--only" && all[i - 1] !== "--only")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the profile measured uniform files quantized with \{"imatrixSha256":null,"nonLayerType":"q8_0"\}, this run's are \{"imatrixSha256":"[0-9a-f]{64}"/);
  }, slow(300_000));

  it("prompts too short for llama-imatrix's statistics: a clear error before any quantization", async () => {
    const cache = path.join(dir, "cache-short");
    const short = path.join(dir, "short.txt");
    writeFileSync(short, "Explain why the sky is blue.\n\nWrite a haiku about rivers.\n");
    const r = await runCli(["profile", "--force", model, "-o", path.join(dir, "short.json"), "--calibration", short, ...common(cache)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--calibration .*short\.txt: no prompt reaches the 16 tokens llama-imatrix needs .*--no-imatrix/);
    expect(await uniformEntries(cache)).toEqual([]);
  }, slow(300_000));

  const tiny = sharedFile("models/tinystories-656k/TinyStories-656K-F32.gguf");
  const wiki = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
  const reason = !tiny ? skipReason("models/tinystories-656k/TinyStories-656K-F32.gguf") : !wiki ? skipReason("data/wikitext-2-raw/wiki.valid.raw") : "";
  it.skipIf(reason !== "")(`a calibration text the tokenizer cannot encode fails clearly, before any quantization${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    const cache = path.join(dir, "cache-tiny");
    const text = path.join(dir, "wiki-head.txt");
    writeFileSync(text, head(wiki!, 20_000));
    const r = await runCli(["profile", "--force", tiny!, "-o", path.join(dir, "tiny.json"), "--calibration", text, ...common(cache)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/--calibration .*wiki-head\.txt: .*TinyStories-656K-F32\.gguf: the model's tokenizer cannot encode this text/);
    expect(await uniformEntries(cache)).toEqual([]);
  }, slow(300_000));
});
