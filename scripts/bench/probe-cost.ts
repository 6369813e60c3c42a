// Issue 25 benchmark, items 1–3: what the measured sensitivity table costs in forward-equivalent
// tokens (tokens decoded × the fraction of the model's blocks computed: a count, valid on a busy
// machine) with today's probes and with the new defaults, and whether the two tables agree.
//   npx vite-node scripts/bench/probe-cost.ts [--ctx 256] [--chunks 8] [--blocks N] [--threads 1] [--cache-dir DIR] [--no-old] [--section NAME]
//     [--rel 0.1] [--ref-fraction 0] [--min-tokens 1000] [--warmup 8]
// - today: llama-perplexity's scoring (second half), every probe from the tokens, every chunk;
// - new: every position past the warm-up scored, each probe from its block's captured input, the
//   stopping rule (defaults of lib/ops/probe.ts unless given);
// - agreement: Spearman's ρ between the two tables' Δ over every (unit, type ≠ reference) cell, and
//   the relative error |Δ_new − Δ_old| / |Δ_old| (median, and Σ over Σ).
// --blocks N keeps the units of the first N blocks plus those outside the blocks (a reduced run);
// the count for the whole table is then also given for today's probes, which cost the same per cell.
// debian-prose-11m (F16), tensor granularity, DEFAULT_TYPES, calibration = wiki.valid.
import os from "node:os";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { planUnits } from "../../lib/gguf/units.js";
import { spearman } from "../../lib/method/sensitivity.js";
import { DEFAULT_TYPES } from "../../lib/method/types.js";
import { DEFAULT_PROBE_STOP, DEFAULT_PROBE_WARMUP, type ProbeStopRule } from "../../lib/ops/probe.js";
import { openSession } from "../../lib/pipeline/session.js";
import { measureSensitivity, type MeasuredSensitivity } from "../../lib/pipeline/sensitivity.js";
import { readCalibration } from "../../lib/pipeline/texts.js";
import { sharedFile } from "../shared/shared.js";
import { machine, median, writeSection } from "./report.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const nCtx = Number(arg("--ctx", "256"));
const chunks = Number(arg("--chunks", "8"));
const threads = Number(arg("--threads", "1"));
const blocksArg = arg("--blocks", "all");
const warmup = Number(arg("--warmup", String(DEFAULT_PROBE_WARMUP)));
const stop: ProbeStopRule = {
  relativeStderr: Number(arg("--rel", String(DEFAULT_PROBE_STOP.relativeStderr))),
  referenceFraction: Number(arg("--ref-fraction", String(DEFAULT_PROBE_STOP.referenceFraction ?? 0))),
  minTokens: Number(arg("--min-tokens", String(DEFAULT_PROBE_STOP.minTokens))),
  maxTokens: Infinity,
};
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F16.gguf");
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
if (!model || !valid) throw new Error("needs ../shared/models/debian-prose-11m and ../shared/data/wikitext-2-raw/wiki.valid.raw");
const cacheDir = arg("--cache-dir", mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-probe-cost-")));

const s = await openSession({ model, cacheDir });
const calibration = await readCalibration(valid);
const types = DEFAULT_TYPES;
const allUnits = planUnits(s.info.tensors, "tensor");
const units = blocksArg === "all" ? allUnits : allUnits.filter((u) => u.block === null || u.block < Number(blocksArg));
const common = { units: { granularity: "tensor" as const, units }, types, calibration, nCtx, chunks, threads };

const t0 = performance.now();
const fresh = await measureSensitivity(s, { ...common, warmup, startAtBlock: true, stop });
const newSeconds = (performance.now() - t0) / 1000;
console.log("new", fresh.cost, `${newSeconds.toFixed(0)} s`, "reference", fresh.reference);
if (process.argv.includes("--cells")) {
  for (const [i, u] of units.entries()) console.log(u.name, fresh.kld[i]!.map((k) => `${(k.mean - fresh.reference.mean).toExponential(2)}±${k.deltaStderr.toExponential(1)}@${k.tokens}/b${k.startBlock}`).join(" "));
}

let old: MeasuredSensitivity | undefined;
let oldSeconds = 0;
if (!process.argv.includes("--no-old")) {
  const t1 = performance.now();
  old = await measureSensitivity(s, { ...common, warmup: "perplexity", startAtBlock: false, stop: null });
  oldSeconds = (performance.now() - t1) / 1000;
  console.log("old", old.cost, `${oldSeconds.toFixed(0)} s`, "reference", old.reference);
}

// today's count, from its rule: the source's pass, then every probe (the reference's too) over every chunk
const probesOf = (n: number) => 1 + n * (types.length - 1);
const fmt = (x: number) => Math.round(x).toLocaleString("en");
const perChunkScored = nCtx - warmup;
const usedChunks = fresh.reference.tokens / perChunkScored; // the reference scores every chunk
const todayTokens = (n: number) => (1 + probesOf(n)) * usedChunks * nCtx;
// the table's cost from its cells (each records its own count, cached or not: a run that found some
// cells in the cache still gives the whole table's count), plus the source's and the reference's passes
const cells = fresh.kld.flatMap((row) => row.slice(1));
const passTokens = usedChunks * nCtx;
const cellForward = cells.reduce((a, k) => a + k.forwardTokens, 0);
const cellTokens = cells.reduce((a, k) => a + k.tokens, 0);
const tableForward = 2 * passTokens + cellForward;
const meanChunks = cells.reduce((a, k) => a + k.tokens / perChunkScored, 0) / cells.length;
const blockFactor = (meanChunks * cells.length * nCtx) / cellForward;
const blocks = Math.max(...allUnits.map((u) => u.block ?? 0)) + 1;
const stateMiB = fresh.cost ? `${(fresh.cost.stateBytes / 2 ** 20).toFixed(1)} MiB` : "see a run with an empty cache";
const tokensPerCell = cells.map((k) => k.tokens);
const perChunk = perChunkScored;
const atCeiling = tokensPerCell.filter((t) => t >= usedChunks * perChunk).length;

let agreement = "Agreement with today's table: not run here (--no-old); see the section a `--blocks 3 --section probe-cost-agreement` run writes.";
if (old) {
  const a: number[] = [];
  const b: number[] = [];
  fresh.table.delta.forEach((row, i) => row.slice(1).forEach((d, j) => (a.push(d), b.push(old!.table.delta[i]![j + 1]!))));
  const rel = a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!));
  const sumRel = a.reduce((acc, x, i) => acc + Math.abs(x - b[i]!), 0) / b.reduce((acc, x) => acc + Math.abs(x), 0);
  const perType = types.slice(1).map((t, j) => {
    const xs = fresh.table.delta.map((row) => row[j + 1]!);
    const ys = old!.table.delta.map((row) => row[j + 1]!);
    return `${t} ${spearman(xs, ys).toFixed(3)}`;
  });
  agreement = `**Agreement with today's table** (the same cells, today's probes: ${fmt(2 * passTokens + old.kld.flatMap((row) => row.slice(1)).reduce((a, k) => a + k.forwardTokens, 0))} forward-equivalent tokens measured, as its rule says):
Spearman's ρ over the ${a.length} cells **${spearman(a, b).toFixed(3)}** (per type: ${perType.join(", ")}); relative error |Δ_new − Δ_old| / |Δ_old|: median ${(100 * median(rel)).toFixed(1)}%, Σ|Δ_new − Δ_old| / Σ|Δ_old| ${(100 * sumRel).toFixed(1)}%.
Reference (q8_0) KLD: ${fresh.reference.mean.toPrecision(4)} (all positions past the warm-up) vs ${old.reference.mean.toPrecision(4)} (second halves).
Both tables are estimates: today's scores ${(usedChunks * (nCtx - 1 - nCtx / 2)).toLocaleString("en")} tokens per cell, the new one ${median(tokensPerCell).toLocaleString("en")} (median), so part of the difference is today's own noise.`;
}

const gb = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const rows8b = 8 * (512 - DEFAULT_PROBE_WARMUP);
const whole = blocksArg === "all" ? "" : `\nThe whole table (${allUnits.length} units) with today's probes: ${fmt(todayTokens(allUnits.length))} (a reduced run over the first blocks, where starting at the block saves least).\n`;
writeSection(
  arg("--section", "probe-cost"),
  `## Probe cost in forward-equivalent tokens (issue 25, items 1–3)

\`npx vite-node scripts/bench/probe-cost.ts --ctx ${nCtx} --chunks ${chunks} --blocks ${blocksArg} --threads ${threads} --rel ${stop.relativeStderr} --ref-fraction ${stop.referenceFraction ?? 0} --min-tokens ${stop.minTokens} --warmup ${warmup}\` on ${machine()}.
debian-prose-11m (F16), tensor granularity, ${units.length} units${blocksArg === "all" ? "" : ` (the first ${blocksArg} blocks' tensors and those outside the blocks)`} × ${types.length} types (${types.join(", ")}; q8_0 the reference), calibration = wiki.valid, at most ${usedChunks} chunks of ${nCtx} tokens per probe.
Forward-equivalent tokens = tokens decoded × the fraction of the model's ${blocks} blocks computed; the counts are exact on any machine. **The seconds are not valid: taken on the shared 2-core VM with other jobs running** (new ${newSeconds.toFixed(0)} s${old ? `, today's ${oldSeconds.toFixed(0)} s` : ""}).

| | today's probes | new defaults |
|---|---|---|
| scored positions per chunk | ${nCtx - 1 - nCtx / 2} (second half) | ${perChunk} (past a warm-up of ${warmup}) |
| where a probe starts | the tokens | its first block (output: the last block) |
| tokens per probe | every chunk | stopping rule: stderr of the mean Δ ≤ ${stop.relativeStderr} × the size of Δ${stop.referenceFraction ? ` or ≤ ${stop.referenceFraction} × the reference's KLD` : ""}, ≥ ${stop.minTokens} tokens |
| source's pass | ${fmt(passTokens)} | ${fmt(passTokens)} |
| reference's pass | ${fmt(passTokens)} (as a probe) | ${fmt(passTokens)} (also captures the blocks' inputs: ${stateMiB}) |
| probes | ${fmt(todayTokens(units.length) - 2 * passTokens)} | ${fmt(cellForward)} (${fmt(cellTokens)} tokens scored) |
| **forward-equivalent tokens, table** | **${fmt(todayTokens(units.length))}** | **${fmt(tableForward)}** (**${(todayTokens(units.length) / tableForward).toFixed(1)}× fewer**) |
${whole}
Tokens scored per cell: median ${fmt(median(tokensPerCell))}, min ${fmt(Math.min(...tokensPerCell))}, max ${fmt(Math.max(...tokensPerCell))}; ${atCeiling} of ${cells.length} cells ran every chunk.
Where the saving comes from: a cell decodes ${meanChunks.toFixed(2)} chunks on average instead of ${usedChunks} (the stopping rule, ${(usedChunks / meanChunks).toFixed(2)}×; scoring ${perChunkScored} positions per chunk instead of ${nCtx - 1 - nCtx / 2} is what lets its floor of ${stop.minTokens} tokens be met in ${Math.ceil(stop.minTokens / perChunkScored)} chunks),
and computes ${(100 / blockFactor).toFixed(0)}% of the blocks over them on average (starting at the block, ${blockFactor.toFixed(2)}×).

${agreement}

**Memory** (what the new probes keep, by rule; native/probe.cpp). The source's distributions at every scored position: rows × n_vocab × 4 B in f32,
kept in f16 (scaled by the row's top probability, renormalized; test/native/probe.test.ts: KLD within 0.2%, Δ within 0.01% of f32) when f32 would pass 1 GiB.
For Llama-3.1-8B's shape (n_vocab 128,256, n_embd 4,096, 32 blocks) at 8 chunks of 512 with a warm-up of 8: ${fmt(rows8b)} rows: ${gb(rows8b * 128256 * 4)} in f32, ${gb(rows8b * 128256 * 2)} in f16 (today: ${fmt(8 * 255)} rows, ${gb(8 * 255 * 128256 * 4)} in f32).
The reference's residual stream at the input of every block a probe starts at: chunks × n_ctx × n_embd × 4 B per block, ${gb(8 * 512 * 4096 * 4)} per block, ${gb(31 * 8 * 512 * 4096 * 4)} for blocks 1–31
(Llama-3.2-1B's shape: ${gb(15 * 8 * 512 * 2048 * 4)}); past 2 GiB it goes to an unlinked temporary file, read back one chunk (${gb(512 * 4096 * 4)}) per probe chunk.

**How a probe starts at its block**: no llama.cpp patch. The reference pass asks llama.cpp for each needed block's input (\`llama_set_embeddings_layer_inp\`, its llama-ext.h
API, which copies the graph's own \`t_layer_inp\` tensors); a probe then decodes those f32 rows through \`llama_batch.embd\` into a view of the loaded model whose
\`layers\` and \`n_layer\` start at the block (restored after; a view change forces a graph rebuild). The same kernels see the same inputs, so a probe of the
reference's own bytes started at block l gives bit-identical logits (test/native/probe.test.ts). Exact only for builders that are a plain loop over identical
blocks taking the embedding unchanged: llama and qwen3 without SWA, per-block shapes, embedding scale, experts or MTP layers; other models run every probe from
the tokens and the result says why (\`startAtBlockRefused\`). token_embd starts at block 0; the output head at the last block.`,
);
