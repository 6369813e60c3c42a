// `quantize --method front` and `portfolio` end to end on a generated fixture: the assembled
// file carries the chosen per-tensor types, the recipe made by stock llama-quantize gives the
// same types and sizes, a target size is never exceeded, and a 3-variant portfolio is built and
// picked from.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { readPortfolio } from "../../lib/portfolio/write.js";
import { parseTypes } from "../../lib/cli/options.js";
import { pipelineSettings, sensitivitySettings } from "../../lib/cli/pipeline-options.js";
import { PAPER_WEIGHTINGS } from "../../lib/method/weightings.js";
import { openSession } from "../../lib/pipeline/session.js";
import { sweep } from "../../lib/pipeline/sweep.js";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { TOOLS_MISSING, llamaTool } from "../helpers/tools.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";
import { runProcess } from "../helpers/run.js";
import { writePipelineTexts } from "../helpers/text.js";
import { pipelineArgs, type PipelineArgs } from "../helpers/args.js";

const dir = tempDir();
const cacheDir = path.join(dir, "cache");
let model: string;
let calibration: string;
let evalText: string;

const common = (o: PipelineArgs = {}) => pipelineArgs({ cacheDir, calibration, evalText, types: "q8_0,q5_K,q4_K,q3_K", ...o });

beforeAll(async () => {
  model = await fixtureModel();
  ({ calibration, evalText } = writePipelineTexts(dir));
}, slow(300_000));

describe("apreqel quantize --method front", () => {
  let out: string;
  let choice: { allocation: Record<string, string>; estimate: { sizeBytes: number }; costs: string; recipe: { command: string } };
  const recipe = () => path.join(dir, "front.recipe");

  it("writes a GGUF whose tensors carry the chosen types, and the recipe", async () => {
    out = path.join(dir, "front.gguf");
    // the front from the profile (sub-layer units, perplexity column): --sensitivity cosine
    const r = await runCli(["quantize", model, "-o", out, "--method", "front", "--sensitivity", "cosine", "--priority", "memory", "--recipe", recipe(), "--json", ...common()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    choice = JSON.parse(r.stdout);
    expect(choice.costs).toBe("profile");
    const info = await inspect(out);
    for (const layer of info.layers) {
      for (const t of layer.tensors) expect(info.tensors.find((x) => x.name === t)?.type, t).toBe(choice.allocation[layer.name]);
    }
    expect(info.tensors.find((t) => t.name === "token_embd.weight")?.type).toBe("q8_0");
    // the table's bytes are the tensors' exactly, plus a bound on the mix's metadata: never under, at most ~2 KB over
    expect(info.fileSize).toBeLessThanOrEqual(choice.estimate.sizeBytes);
    expect(choice.estimate.sizeBytes - info.fileSize).toBeLessThan(2048);
    expect(readFileSync(recipe(), "utf8")).toMatch(/^\^blk\\\.0\\\.attn_q\\\.weight\$=/m);
    // the uniform files were made with the calibration pass's importance matrix (the default): so is the recipe's
    expect(choice.recipe.command).toMatch(/--imatrix \S*imatrix\.gguf/);
  });

  it.skipIf(llamaTool("llama-quantize") === null)(`the recipe through stock llama-quantize gives the same tensor types and sizes${llamaTool("llama-quantize") === null ? ` (skipped: ${TOOLS_MISSING})` : ""}`, async () => {
    const stock = path.join(dir, "front-stock.gguf");
    const lines = readFileSync(recipe(), "utf8");
    expect(lines.length).toBeGreaterThan(0);
    const imatrix = /--imatrix (\S+)/.exec(choice.recipe.command)![1]!.replace(/^'|'$/g, "");
    const r = await runProcess(llamaTool("llama-quantize")!, ["--pure", "--tensor-type-file", recipe(), "--imatrix", imatrix, model, stock, "Q4_K", "2"]);
    expect(r.status, r.stderr.slice(-1500)).toBe(0);
    const [a, b] = await Promise.all([inspect(out), inspect(stock)]);
    const types = (i: typeof a) => Object.fromEntries(i.tensors.map((t) => [t.name, `${t.type}:${t.bytes}`]));
    expect(types(b)).toEqual(types(a));
  });

  it("--latency-model unit --latency prefill: the front's latency column is the per-unit model fitted on the uniform files", async () => {
    const args = ["quantize", model, "--method", "front", "--sensitivity", "cosine", "--priority", "latency", "--latency", "prefill", "--latency-model", "unit", "--no-measure", "--json", ...common({ nPrompt: 16 })];
    const r = await runCli([...args, "-o", path.join(dir, "unit.gguf")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { latency: { criterion: string; model: string; fit: { fixedMs: number; scale: number; residualsMs: number[] } }; estimate: { latencyMsPerToken: number } };
    expect([j.latency.criterion, j.latency.model]).toEqual(["prefill", "unit"]);
    expect(j.latency.fit.scale).toBeGreaterThan(0);
    expect(j.latency.fit.fixedMs).toBeGreaterThanOrEqual(0);
    expect(j.latency.fit.residualsMs).toHaveLength(4); // one per uniform file
    expect(j.estimate.latencyMsPerToken).toBeGreaterThanOrEqual(j.latency.fit.fixedMs);
    // the matmul costs are cached: a second run re-times nothing and gives the same fit
    const again = await runCli([...args, "-o", path.join(dir, "unit2.gguf")]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as typeof j).latency.fit).toEqual(j.latency.fit);
  });

  // the fast front (profile costs, no probes): what is under test here does not depend on the costs
  it("--target-size is never exceeded; an impossible one names the limit and the smallest mix", async () => {
    // below the smallest possible mix (header and type table): refused before any work
    const none = await runCli(["quantize", model, "-o", path.join(dir, "bad.gguf"), "--method", "front", "--sensitivity", "cosine", "--target-size", "1000B", ...common()]);
    expect(none.code).toBe(2);
    const least = /--target-size: no mix can meet .* take at least .* \((\d+) bytes\)/.exec(none.stderr);
    expect(least, none.stderr).not.toBeNull();
    // above that bound but below the smallest file on the front (which also holds the header): the front says so
    const bad = await runCli(["quantize", model, "-o", path.join(dir, "bad.gguf"), "--method", "front", "--sensitivity", "cosine", "--target-size", `${least![1]}B`, ...common()]);
    expect(bad.code).toBe(2);
    const lowest = new RegExp(`targetSizeBytes = ${least![1]} cannot be met \\(the lowest sizeBytes on the front is (\\d+)\\)`).exec(bad.stderr);
    expect(lowest, bad.stderr).not.toBeNull();
    // 1% above the smallest mix: feasible, and the file must stay within it
    const target = Math.floor(Number(lowest![1]) * 1.01);
    const r = await runCli(["quantize", model, "-o", path.join(dir, "target.gguf"), "--method", "front", "--sensitivity", "cosine", "--priority", "accuracy", "--target-size", `${target}B`, "--json", ...common()]);
    expect(r.code, r.stderr).toBe(0);
    expect((await inspect(path.join(dir, "target.gguf"))).fileSize).toBeLessThanOrEqual(target);
  });
});

describe("apreqel quantize --method front --report / --profile", () => {
  it("writes the report (the chosen mix, the uniform set, the per-unit type map) and plans from a given profile", async () => {
    // the profile of this model with the same settings (cached): what a device-side `apreqel profile` writes
    const profileFile = path.join(dir, "profile.json");
    // with the same --calibration, so its uniform files carry the same importance matrix as quantize's
    const p = await runCli(["profile", "--force", model, "-o", profileFile, ...common()]);
    expect(p.code, p.stderr).toBe(0);
    const report = path.join(dir, "front-report.html");
    // the default method and sensitivity: the front of measured Δ KLD per tensor
    const r = await runCli(["quantize", model, "-o", path.join(dir, "front-profiled.gguf"), "--profile", profileFile, "--report", report, "--priority", "balanced", "--probe-chunks", "1", "--json", ...common()]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { method: string; uniform: Record<string, { memoryBytes: number }>; measured: { memoryBytes: number; kld?: { mean: number } } | null; costs: string; allocation: Record<string, string> };
    expect(out.method).toBe("front");
    expect(out.costs).toBe("measured tensor");
    // the default table is planned (issue 25): the file says how many cells were measured
    const shown = await runCli(["inspect", path.join(dir, "front-profiled.gguf")]);
    expect(shown.stdout).toMatch(/apreqel\.sensitivity = \d+ of 90 cells measured, \d+ predicted .*budget 100% of the full table, at most 900 s/);
    expect(Object.keys(out.allocation)).toContain("blk.0.attn_q");
    expect(Object.keys(out.uniform)).toEqual(["q8_0", "q5_K", "q4_K", "q3_K"]);
    expect(out.measured?.memoryBytes).toBeGreaterThan(0);
    // planned on KLD, so the result's KLD is measured too
    expect(out.measured?.kld?.mean).toBeGreaterThanOrEqual(0);
    const html = readFileSync(report, "utf8");
    expect(html).toContain("chosen: balanced");
    expect(html).toContain("method: front (measured tensor costs)");
    expect(html).toContain('id="type-map"');
    // with a given profile the source is measured here, like the result, and drawn as the reference
    expect(html).toContain('<tr data-series="source">');
    expect(html).toContain(">source (F16)</text>");
  }, 300_000);
});

describe("sweep with method front", () => {
  it("chooses on the front per weighting, assembles each distinct mix once, and plans and measures on KLD", async () => {
    const outDir = path.join(dir, "sweep-front");
    // the options exactly as `apreqel sweep --method front --sensitivity measured` reads them;
    // three weightings instead of 28 keep the test short (the CLI passes all of them)
    const types = parseTypes("q8_0,q4_K,q3_K");
    const settings = await pipelineSettings(
      { "cache-dir": cacheDir, calibration, "eval-text": evalText, ctx: "64", "n-gen": "4", "n-prompt": "0", reps: "1", threads: "2", kld: true },
      "sweep",
    );
    const measure = sensitivitySettings({ sensitivity: "measured", granularity: "tensor", "probe-chunks": "1" }, types, settings.uniform);
    const weightings = PAPER_WEIGHTINGS.filter((w) => ["memory-1", "accuracy-1", "accuracy-0.9-memory-0.1", "fairness-equal"].includes(w.id));
    const s = await openSession({ model, cacheDir });
    const r = await sweep(s, { ...settings.uniform, outDir, types, method: "front", weightings, latency: settings.latency, accuracy: settings.accuracy, score: { ...settings.score, measure } });
    expect(r.method).toBe("front");
    expect(r.accuracyMetric).toBe("kld");
    expect(r.models.map((m) => m.weighting.id)).toEqual(weightings.map((w) => w.id));
    // one file per distinct allocation; equal allocations share it
    const byAllocation = new Map<string, string>();
    for (const m of r.models) {
      if (m.method !== "front") throw new Error("expected front models");
      expect(m.allocation).toEqual(m.choice.assignment);
      const key = JSON.stringify(m.allocation);
      expect(byAllocation.get(key) ?? m.file).toBe(m.file);
      byAllocation.set(key, m.file);
      // the estimate's accuracy axis is the table's KLD
      expect(m.estimate.perplexity).toBe(m.choice.estimate.kld);
      expect(m.measured.kld!.mean).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(r.models.map((m) => m.file)).size).toBe(byAllocation.size);
    // memory-1 takes the smallest mix: every unit at the most aggressive type
    expect(new Set(Object.values(r.models.find((m) => m.weighting.id === "memory-1")!.allocation))).toEqual(new Set(["q3_K"]));
    // each file carries its allocation: a tensor unit is its tensor without ".weight"
    for (const [key, file] of byAllocation) {
      const info = await inspect(file);
      for (const [unit, type] of Object.entries(JSON.parse(key) as Record<string, string>)) {
        expect(info.tensors.find((t) => t.name === `${unit}.weight`)?.type, `${path.basename(file)}: ${unit}`).toBe(type);
      }
    }
    // the hypervolume is on the KLD axis (the uniform points are the uniform files' KLD): adding the
    // mixes never shrinks it (the uniform set's own volume may be 0: with 3 types and a noisy
    // latency, each uniform point can be the worst on one axis, i.e. on the reference)
    expect(Number.isFinite(r.measured.uniform.hypervolume)).toBe(true);
    // (up to the float rounding of summing the union's boxes in another order)
    expect(r.measured.union.hypervolume).toBeGreaterThanOrEqual(r.measured.uniform.hypervolume * (1 - 1e-12));
    expect(r.measured.union.hypervolume).toBeGreaterThanOrEqual(r.measured.mixed.hypervolume * (1 - 1e-12));
  }, slow(600_000));
});

describe("apreqel portfolio, then pick", () => {
  it("builds a 3-variant portfolio along the front and picks from it", async () => {
    const pf = path.join(dir, "portfolio");
    // measured Δ KLD per tensor: on random weights perplexity can favour any type, KLD grows with the loss
    const r = await runCli(["portfolio", model, "-o", pf, "--count", "3", "--kld", "--sensitivity", "measured", "--granularity", "tensor", "--probe-chunks", "1", "--json", ...common()]);
    expect(r.code, r.stderr).toBe(0);
    const { manifest } = await readPortfolio(pf, { verifyFiles: true });
    expect(manifest.variants).toHaveLength(3);
    expect(new Set(manifest.variants.map((v) => v.sha256)).size).toBe(3);
    // the extremes are in: the smallest front mix is one of them, chosen for memory
    const smallest = [...manifest.variants].sort((a, b) => a.bytes - b.bytes)[0]!;
    expect(smallest.chosenBy).toContainEqual({ by: "extreme", criterion: "memory" });
    for (const v of manifest.variants) {
      expect(v.latency[0]!.decode.mean).toBeGreaterThan(0);
      expect(v.accuracy.kld?.mean).toBeGreaterThanOrEqual(0);
    }
    const pick = await runCli(["pick", pf, "--json"]);
    expect(pick.code, pick.stderr).toBe(0);
    const picked = JSON.parse(pick.stdout) as { variant: string; file: string };
    expect(manifest.variants.map((v) => v.name)).toContain(picked.variant);
    // a memory limit at the smallest variant's weights: pick must take it
    const tight = await runCli(["pick", pf, "--max-memory", `${smallest.weightBytes}B`, "--json"]);
    expect(tight.code, tight.stderr).toBe(0);
    expect((JSON.parse(tight.stdout) as { variant: string }).variant).toBe(smallest.name);
  });
});
