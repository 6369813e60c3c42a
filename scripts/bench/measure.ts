// Issue 4 benchmarks: similarity-capture overhead over a plain forward pass, perplexity throughput
// vs llama-perplexity, and bench() vs llama-bench (tg and pp), interleaved in one run.
//   node scripts/build-native.mjs --tools && npx vite-node scripts/bench/measure.ts [--reps 3] [--only bench]
// Writes the "measure" section of docs/benchmarks.md; `--only bench` (issue 16: bench() against
// llama-bench alone, a few minutes on a small machine) prints its rows and writes nothing.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeRandomModel } from "../../lib/ops/fixtures.js";
import { bench } from "../../lib/ops/bench.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { binding } from "../../lib/native/binding.js";
import { packageRoot } from "../../lib/core/package.js";
import { quantize } from "../../lib/ops/quantize.js";
import { llamaTool, toolPerplexity } from "../shared/tools.js";
import { machine, median, writeSection } from "./report.js";

const reps = Number(process.argv[process.argv.indexOf("--reps") + 1] || 3);
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
// a misspelt --only must not fall through to the whole run, which rewrites the docs section
if (only !== undefined && only !== "bench") throw new Error(`--only: the one part that runs alone is "bench" (got ${JSON.stringify(only)})`);
const benchOnly = only === "bench";
const threads = os.cpus().length;
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-"));
const pplTool = llamaTool("llama-perplexity");
const benchTool = llamaTool("llama-bench");
if (!pplTool || !benchTool) throw new Error("build the tools first: node scripts/build-native.mjs --tools");

const shape = { nEmbd: 1024, nFf: 2816, nLayer: 8, nHead: 16, nHeadKv: 4, nCtx: 2048 };
const f16 = await writeRandomModel({ output: path.join(dir, "model-f16.gguf"), ...shape, type: "f16" });
const model = (await quantize({ input: f16, output: path.join(dir, "model-q4_K.gguf"), type: "q4_K" })).output;
const wikiFile = path.join(packageRoot, "..", "shared", "data", "wikitext-2-raw", "wiki.valid.raw");
const text = existsSync(wikiFile) ? readFileSync(wikiFile, "utf8").slice(0, 120_000) : "The river remembers the morning light. ".repeat(3000);
const textFile = path.join(dir, "text.txt");
writeFileSync(textFile, text);
const time = async (f: () => Promise<unknown> | unknown) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

// 1. capture overhead: the same decodes with and without the similarity ops
const texts = [text.slice(0, 60_000)];
const plain: number[] = [];
const captured: number[] = [];
let capturedTokens = 0;
for (let r = 0; r < (benchOnly ? 0 : reps); r++) {
  plain.push(await time(() => binding().captureSimilarity({ model, texts, nCtx: 512, nBatch: 512, threads, mode: "none" })));
  captured.push(await time(async () => (capturedTokens = (await binding().captureSimilarity({ model, texts, nCtx: 512, nBatch: 512, threads, mode: "device" })).tokens)));
}

// 2. perplexity throughput (whole call, model load and tokenization included on both sides)
const chunks = 16;
const ours: number[] = [];
const theirs: number[] = [];
let oursPpl = 0;
let toolPpl = 0;
for (let r = 0; r < (benchOnly ? 0 : reps); r++) {
  ours.push(await time(async () => (oursPpl = (await perplexity({ model, text, nCtx: 512, chunks, threads })).ppl)));
  theirs.push(
    await time(async () => {
      toolPpl = (await toolPerplexity(model, textFile, 512, chunks, threads)).ppl;
    }),
  );
}

// 3. bench agreement, interleaved
const ourTg: number[] = [];
const ourPp: number[] = [];
const toolTg: number[] = [];
const toolPp: number[] = [];
for (let r = 0; r < reps; r++) {
  const b = await bench({ model, nGen: 128, nPrompt: 512, reps: 5, threads });
  ourTg.push(b.tg!.tokensPerSecond.mean);
  ourPp.push(b.pp!.tokensPerSecond.mean);
  const json = JSON.parse(
    execFileSync(benchTool, ["-m", model, "-p", "512", "-n", "128", "-r", "5", "-t", String(threads), "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
  ) as { n_prompt: number; n_gen: number; avg_ts: number }[];
  toolTg.push(json.find((t) => t.n_gen > 0)!.avg_ts);
  toolPp.push(json.find((t) => t.n_prompt > 0)!.avg_ts);
}
rmSync(dir, { recursive: true, force: true });

const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
const tokensScored = chunks * 512;
const benchRows = `| tg128 vs llama-bench | ${median(ourTg).toFixed(1)} tok/s | ${median(toolTg).toFixed(1)} tok/s | ${pct(median(ourTg), median(toolTg))} (target within 5%) |
| pp512 vs llama-bench | ${median(ourPp).toFixed(1)} tok/s | ${median(toolPp).toFixed(1)} tok/s | ${pct(median(ourPp), median(toolPp))} (target within 5%) |`;
if (benchOnly) {
  console.log(`npx vite-node scripts/bench/measure.ts --reps ${reps} --only bench — ${machine()}, CPU build, ${threads} threads; medians of ${reps} interleaved runs (each llama-bench -r 5, bench() reps 5)
per run, apreqel tg ${ourTg.map((x) => x.toFixed(1)).join(", ")}; llama-bench tg ${toolTg.map((x) => x.toFixed(1)).join(", ")}; apreqel pp ${ourPp.map((x) => x.toFixed(1)).join(", ")}; llama-bench pp ${toolPp.map((x) => x.toFixed(1)).join(", ")} tok/s

| what | apreqel | reference | ratio |
|---|---:|---:|---:|
${benchRows}`);
  process.exit(0);
}
writeSection(
  "measure",
  `## Measurements (issue 4)

\`node scripts/build-native.mjs --tools && npx vite-node scripts/bench/measure.ts --reps ${reps}\` — ${machine()}, CPU build, ${threads} threads.
Model: random-weight llama fixture, q4_K, n_embd ${shape.nEmbd}, n_ff ${shape.nFf}, ${shape.nLayer} blocks, 32k vocab. Text: ${existsSync(wikiFile) ? "the start of wiki.valid.raw" : "synthetic"}. Medians of ${reps} interleaved runs.

| what | apreqel | reference | ratio |
|---|---:|---:|---:|
| similarity capture over ${capturedTokens} tokens vs the same forward pass without it | ${median(captured).toFixed(2)} s | ${median(plain).toFixed(2)} s | ${(median(captured) / median(plain)).toFixed(3)} (target ≤ 1.10) |
| perplexity, ${chunks} chunks of 512 (${tokensScored} tokens) vs llama-perplexity | ${(tokensScored / median(ours)).toFixed(0)} tok/s | ${(tokensScored / median(theirs)).toFixed(0)} tok/s | ${(median(theirs) / median(ours)).toFixed(3)} (throughput, target ≥ 0.95) |
${benchRows}

Perplexity values agree: apreqel ${oursPpl.toFixed(4)}, llama-perplexity ${toolPpl.toFixed(4)}. On CPU the similarity tensors never leave the host; on CUDA only the ${"`"}[2·blocks, n_tokens]${"`"} float tensor is copied back (see the GPU section when one was measured).`,
);
console.log("wrote the measure section of docs/benchmarks.md");
