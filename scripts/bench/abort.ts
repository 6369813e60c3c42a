// Issue 12: how long a cancel takes to land in each kind of native work. Each step is started,
// aborted through its AbortSignal at a random moment 0.4–1.6 s in (so aborts land at varied points
// of the loop: inside a decode, a quantize slab, a perplexity chunk), and timed from abort() to the
// promise's rejection. Run it against another addon with APREQEL_ADDON=… to compare builds.
//   npx vite-node scripts/bench/abort.ts [--reps 5] [--threads 2] [--no-write]
// Writes the "abort" section of docs/benchmarks.md.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeRandomModel } from "../../lib/ops/fixtures.js";
import { bench } from "../../lib/ops/bench.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { quantize } from "../../lib/ops/quantize.js";
import { prng } from "../shared/prng.js";
import { machine, median, writeSection } from "./report.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const reps = arg("--reps", 5);
const threads = arg("--threads", Math.min(2, os.cpus().length));
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-abort-"));
const random = prng(12);

// about 160M parameters: a decode of a 512-token batch and a quantize slab each take seconds here
const shape = { nEmbd: 1024, nFf: 2816, nLayer: 8, nHead: 16, nHeadKv: 4, nCtx: 4096 };
const model = await writeRandomModel({ output: path.join(dir, "model-f16.gguf"), ...shape, type: "f16" });
const text = "The river remembers the morning light, and the old mill turns slowly while the village wakes. ".repeat(800);

type Step = [name: string, start: (signal: AbortSignal) => Promise<unknown>];
const steps: Step[] = [
  ["quantize → q4_K (rows)", (signal) => quantize({ input: model, output: path.join(dir, "q4.gguf"), type: "q4_K", threads, signal })],
  ["quantize → iq4_nl (rows, slower type)", (signal) => quantize({ input: model, output: path.join(dir, "iq4.gguf"), type: "iq4_nl", threads, signal })],
  ["bench tg (token loop, nGen 4000)", (signal) => bench({ model, nPrompt: 0, nGen: 4000, reps: 1, threads, signal })],
  ["bench pp (one 4096-token prompt)", (signal) => bench({ model, nPrompt: 4096, nGen: 0, reps: 5, threads, signal })],
  ["perplexity (512-token chunks)", (signal) => perplexity({ model, text, nCtx: 512, threads, signal })],
  ["capture (512-token batches)", (signal) => captureSimilarity({ model, texts: [text], nCtx: 512, nBatch: 512, threads, signal })],
];

const rows: string[] = [];
for (const [name, start] of steps) {
  const latencies: number[] = [];
  let finishedFirst = 0;
  for (let r = 0; r < reps; r++) {
    const controller = new AbortController();
    const delay = 400 + random() * 1200;
    let abortedAt = 0;
    const timer = setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, delay);
    const outcome = await start(controller.signal).then(
      () => "resolved",
      (e: Error) => e.name,
    );
    clearTimeout(timer);
    if (abortedAt === 0 || outcome !== "AbortError") {
      finishedFirst++;
      continue;
    }
    latencies.push(performance.now() - abortedAt);
  }
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const line = latencies.length
    ? `| ${name} | ${latencies.length} | ${ms(median(latencies))} | ${ms(Math.max(...latencies))} | ${finishedFirst} |`
    : `| ${name} | 0 | – | – | ${finishedFirst} |`;
  console.log(line);
  rows.push(line);
}
rmSync(dir, { recursive: true, force: true });

const md = `## Abort latency (issue 12)

\`npx vite-node scripts/bench/abort.ts --reps ${reps} --threads ${threads}\` — ${machine()}${process.env.APREQEL_ADDON ? `, addon ${process.env.APREQEL_ADDON}` : ""}.
A random-weight F16 model of ${shape.nLayer} blocks, n_embd ${shape.nEmbd} (≈160M parameters); each step aborted at a random moment
0.4–1.6 s after it started; latency = abort() to the promise's AbortError. "done first": runs that ended before the abort fired.

| step | aborts | median | max | done first |
|---|---:|---:|---:|---:|
${rows.join("\n")}`;
if (!process.argv.includes("--no-write")) writeSection("abort", md);
console.log(md);
