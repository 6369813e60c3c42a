// The library is the product: quantizeModel (the one quantize entry) writes the same bytes as
// `apreqel quantize` given the same settings, and a preset's size (--target-size Q4_K_M) is the
// exact size of the file llama.cpp's preset writes, found by llama.cpp's dry run without
// quantizing anything.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize, quantizePlan } from "../../lib/ops/quantize.js";
import { presetSize, quantizeFile, quantizeModel } from "../../lib/pipeline/quantize-model.js";
import { openSession } from "../../lib/pipeline/session.js";
import { modelFacts, resolveSettings } from "../../lib/pipeline/settings.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { writePipelineTexts } from "../helpers/text.js";

const dir = tempDir();
const cacheDir = path.join(dir, "cache");
let model: string;
let calibration: string;
let evalText: string;

beforeAll(async () => {
  model = await fixtureModel();
  ({ calibration, evalText } = writePipelineTexts(dir));
}, 300_000);

describe("a preset's size", () => {
  it("is the size of the file the preset writes, with the same type per tensor", async () => {
    for (const preset of ["Q4_K_M", "Q3_K_S", "Q8_0"]) {
      const plan = await quantizePlan({ input: model, preset });
      const written = await quantize({ input: model, output: path.join(dir, `${preset}.gguf`), preset });
      expect(plan.fileBytes, preset).toBe(written.fileSize);
      expect(Object.fromEntries(plan.tensors.map((t) => [t.name, t.type]))).toEqual(Object.fromEntries(written.tensors.map((t) => [t.name, t.type])));
    }
    // names ignore case, as llama-quantize's do
    expect(await presetSize(model, "q4_k_m")).toBe((await inspect(path.join(dir, "Q4_K_M.gguf"))).fileSize);
    await expect(presetSize(model, "Q4_K_X")).rejects.toThrow(/unknown llama\.cpp preset "Q4_K_X" for option --target-size; did you mean "Q4_K_M"\?/);
  });
});

describe("openSession", () => {
  it("hands its checks the signal, and an interrupt ends the wait for the model's hash", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const opening = openSession({ model, cacheDir: path.join(dir, "abort-cache"), signal: controller.signal, checks: [(_m, _i, job) => void ((seen = job.signal), controller.abort())] });
    await expect(opening).rejects.toMatchObject({ name: "AbortError" });
    expect(seen).toBe(controller.signal);
  });
});

describe("a model whose context is shorter than the default window", () => {
  it("works without flags (windows and latency prompts fit it); a length given is still checked", async () => {
    const short = await fixtureModel({ nCtx: 256 });
    const cache = path.join(dir, "short-cache");
    const r = await runCli(["score", short, "-o", path.join(dir, "short-scores.json"), "--cache-dir", cache, "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/layers scored over \d+ tokens/);
    const given = await runCli(["score", short, "-o", path.join(dir, "short-scores.json"), "--cache-dir", cache, "--ctx", "512"]);
    expect(given.code).toBe(2);
    expect(given.stderr).toMatch(/--ctx: 512 tokens is more than .*'s context of 256 tokens/);
    const s = await openSession({ model: short, cacheDir: cache });
    const settings = await resolveSettings({}, modelFacts(s.info));
    // a decode plan (the default) times no prompt; a prefill plan's prompt fits the model
    expect([settings.nCtx, settings.latency.nPrompt]).toEqual([256, 0]);
    expect((await resolveSettings({ latencyCriterion: "prefill" }, modelFacts(s.info))).latency.nPrompt).toBe(256);
  }, 300_000);
});

describe("quantizeFile", () => {
  it("refuses, before any work, an output that is an input and a limit no mix can meet", async () => {
    await expect(quantizeFile(model, { output: model, cacheDir })).rejects.toThrow(/output/);
    await expect(quantizeFile(model, { output: path.join(dir, "never.gguf"), limits: { targetBpw: 1 }, cacheDir: path.join(dir, "never-cache") })).rejects.toThrow(/--target-bpw: no mix can meet 1 bits per weight/);
    // refused before the model was hashed: the cache was never opened
    expect(existsSync(path.join(dir, "never-cache"))).toBe(false);
  });
});

describe("quantizeModel", () => {
  // small settings, the same on both sides: the pipeline's path, not its numbers, is under test
  const flags = ["--calibration", "CAL", "--eval-text", "EVAL", "--ctx", "64", "--n-gen", "4", "--n-prompt", "0", "--reps", "1", "--types", "q8_0,q4_K,q3_K", "--threads", "2", "--probe-chunks", "2", "--chunks", "2"];
  const options = () => ({ calibration, evalText, nCtx: 64, nGen: 4, nPrompt: 0, reps: 1, types: ["q8_0", "q4_K", "q3_K"] as const, threads: 2, probeChunks: 2, chunks: 2 });

  it("writes the bytes `apreqel quantize` writes, and spends a preset's size on accuracy", async () => {
    const cliOut = path.join(dir, "cli.gguf");
    const argv = flags.map((f) => (f === "CAL" ? calibration : f === "EVAL" ? evalText : f));
    const r = await runCli(["quantize", model, "-o", cliOut, "--cache-dir", cacheDir, "--target-size", "q4_k_m", "--no-measure", "--json", ...argv]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.weights).toEqual({ memory: 0, latency: 0, accuracy: 1 });
    expect(printed.budget).toMatch(/most accurate mix within the size target/);

    const s = await openSession({ model, cacheDir });
    const libOut = path.join(dir, "library.gguf");
    const q = await quantizeModel(s, { ...options(), output: libOut, limits: { targetPreset: "Q4_K_M" }, measureResult: false });
    if (q.method !== "front") throw new Error(`quantizeModel ran ${q.method}, not the front`);
    expect(q.settings.weights.source).toBe("budget");
    expect(readFileSync(libOut).equals(readFileSync(cliOut))).toBe(true);

    // the one-call entry (claims the output, checks before hashing): the same bytes again, from the cache
    const fileOut = path.join(dir, "file.gguf");
    await quantizeFile(model, { ...options(), output: fileOut, limits: { targetPreset: "Q4_K_M" }, measureResult: false, cacheDir });
    expect(readFileSync(fileOut).equals(readFileSync(cliOut))).toBe(true);

    // within the preset's bytes, and the most accurate such mix on the front
    const budget = await presetSize(model, "Q4_K_M");
    expect(q.result.output.fileSize).toBeLessThanOrEqual(budget);
    const within = q.result.model.front.points.filter((p) => p.estimate.sizeBytes <= budget);
    expect(Math.min(...within.map((p) => p.estimate.kld))).toBe(q.result.choice.estimate.kld);
  }, 600_000);
});
