// Issue 14: what the default importance matrix changes. Each uniform type of debian-prose-11m
// (F32 source) quantized without and with the imatrix of the calibration pass (the pipeline's own:
// lib/pipeline/calibration.ts over wiki.valid's paragraphs, the default of the commands), and its
// KL divergence from the source and perplexity over wiki.test (never the calibration text).
//   npx vite-node scripts/bench/imatrix-kld.ts [--ctx 256] [--chunks 100] [--paragraphs 128] [--threads 1] [--cache-dir DIR]
// --paragraphs N: the calibration set is wiki.valid's first N paragraphs of ≥ 200 characters, headings
// skipped (as scripts/eval/study.ts takes it); 0: every paragraph of wiki.valid.
// Prints a markdown table (docs/results.md "The importance matrix by default"). Accuracy numbers
// are deterministic; only the run time depends on the machine.
import os from "node:os";
import path from "node:path";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { perplexity } from "../../lib/ops/perplexity.js";
import { calibrationCapture } from "../../lib/pipeline/calibration.js";
import { openSession } from "../../lib/pipeline/session.js";
import { readCalibration } from "../../lib/pipeline/texts.js";
import { uniformModels } from "../../lib/pipeline/uniform.js";
import type { GgmlType } from "../../lib/method/types.js";
import { sharedFile } from "../shared/shared.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const nCtx = Number(arg("--ctx", "256"));
const chunks = Number(arg("--chunks", "100"));
const threads = Number(arg("--threads", "1"));
const paragraphs = Number(arg("--paragraphs", "128"));
const MODEL = "models/debian-prose-11m/debian-prose-llama-11M-F32.gguf";
const model = sharedFile(MODEL);
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
const test = sharedFile("data/wikitext-2-raw/wiki.test.raw");
if (!model || !valid || !test) throw new Error(`needs ../shared/${MODEL} and ../shared/data/wikitext-2-raw/wiki.{valid,test}.raw`);
const cacheDir = arg("--cache-dir", mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-imatrix-kld-")));
// the types that change most first: a run cut short still has them
const types: readonly GgmlType[] = ["q4_K", "q3_K", "q2_K", "q5_K", "q6_K", "q8_0"];

const started = performance.now();
const s = await openSession({ model, cacheDir });
let calibrationFile = valid;
if (paragraphs > 0) {
  const kept = readFileSync(valid, "utf8").split(/\n[ \t]*\n/).map((p) => p.trim()).filter((p) => p.length >= 200 && !p.startsWith("=")).slice(0, paragraphs);
  calibrationFile = path.join(mkdtempSync(path.join(os.tmpdir(), "apreqel-calibration-")), "wiki.valid.head.txt");
  writeFileSync(calibrationFile, kept.join("\n\n") + "\n");
}
const calibration = await readCalibration(calibrationFile);
const pass = await calibrationCapture(s, { calibration, nCtx, threads });
if (pass.imatrix === null) throw new Error("the calibration pass collected no importance matrix");
console.error(`calibration pass: ${calibration.prompts.length} paragraphs, ${pass.tokens} tokens; imatrix ${pass.imatrix.sha256.slice(0, 12)}`);
const text = readFileSync(test, "utf8");
const f = (x: number, digits = 5) => x.toFixed(digits);
const rows: string[] = [];
for (const type of types) {
  const cells: { kld: number; kldSe: number; ppl: number; pplSe: number }[] = [];
  for (const imatrix of [undefined, pass.imatrix]) {
    const file = (await uniformModels(s, [type], { threads, ...(imatrix ? { imatrix } : {}) })).get(type)!;
    const r = await perplexity({ model: file, klBase: model, text, nCtx, chunks, threads });
    cells.push({ kld: r.kld!.mean, kldSe: r.kld!.stderr, ppl: r.ppl, pplSe: r.stderr });
    console.error(type, imatrix ? "imatrix" : "none", JSON.stringify(cells.at(-1)), `${((performance.now() - started) / 60_000).toFixed(1)} min`);
  }
  const [none, with_] = cells as [(typeof cells)[0], (typeof cells)[0]];
  rows.push(
    `| ${type} | ${f(none.kld)} ± ${f(none.kldSe)} | ${f(with_.kld)} ± ${f(with_.kldSe)} | ${(with_.kld / none.kld).toFixed(2)}× | ${none.ppl.toFixed(3)} ± ${none.pplSe.toFixed(3)} | ${with_.ppl.toFixed(3)} ± ${with_.pplSe.toFixed(3)} |`,
  );
}
console.log(`\`npx vite-node scripts/bench/imatrix-kld.ts --ctx ${nCtx} --chunks ${chunks} --threads ${threads}\`: debian-prose-11m (F32 source), non-layer tensors q8_0 in every file,
importance matrix from the calibration pass over wiki.valid (${paragraphs > 0 ? `its first ${calibration.prompts.length} paragraphs of ≥ 200 characters` : `all ${calibration.prompts.length} paragraphs`}, ${pass.tokens} tokens, each paragraph its own window of ≤ ${nCtx}),
KLD from the source and perplexity over ${chunks} chunks of ${nCtx} tokens of wiki.test (${(((performance.now() - started) / 60_000)).toFixed(0)} min on 2 shared cores).

| type | KLD, no imatrix | KLD, imatrix | ratio | perplexity, no imatrix | perplexity, imatrix |
|---|---|---|---|---|---|
${rows.join("\n")}`);
