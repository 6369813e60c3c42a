// Issue 25 item 7: does the verify step bring the estimate of aggressive mixes (q2_K among the
// types) within 5% of the measurement, and does its re-plan pay? On debian-prose-11m at tensor
// granularity, from the full Δ table of scripts/bench/probe-plan-truth.ts (calibration: wiki.valid):
// at the bytes of the six presets of docs/results.md §9 (as users get them), the accuracy-only
// choice, then verifyChoice (2 mixes at most); the kept mix and the first choice measured on
// wiki.test (evaluation only).
//   npx vite-node scripts/bench/probe-plan-verify.ts [--evaluate 20] [--rounds 2] [--write]
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { planUnits } from "../../lib/gguf/units.js";
import { chooseOnFront, type FrontChoice } from "../../lib/method/choose.js";
import { paretoFront, type Front } from "../../lib/method/front.js";
import { costTableFromMeasured } from "../../lib/method/measured-costs.js";
import type { SensitivityTable } from "../../lib/method/sensitivity.js";
import type { GgmlType } from "../../lib/method/types.js";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { metadataAllowance } from "../../lib/pipeline/front.js";
import { unitBytes } from "../../lib/pipeline/probe-plan.js";
import { openSession } from "../../lib/pipeline/session.js";
import { uniformModels } from "../../lib/pipeline/uniform.js";
import { verifyChoice } from "../../lib/pipeline/verify.js";
import { sharedFile } from "../shared/shared.js";
import { machine, writeSection } from "./report.js";
import { studyCalibration } from "./study-calibration.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const cacheDir = path.resolve(arg("--cache-dir", ".cache/probe-plan"));
const truth = JSON.parse(readFileSync(path.resolve(arg("--truth", path.join(cacheDir, "truth-c256-n2.json"))), "utf8")) as { nCtx: number; chunks: number; types: GgmlType[]; measured: SensitivityTable };
const evaluate = Number(arg("--evaluate", "20"));
const rounds = Number(arg("--rounds", "2"));
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F32.gguf")!;
const calibration = await studyCalibration(sharedFile("data/wikitext-2-raw/wiki.valid.raw")!);
const testText = readFileSync(sharedFile("data/wikitext-2-raw/wiki.test.raw")!, "utf8");
const s = await openSession({ model, cacheDir });
const types = truth.types;
const uniform = { imatrixFrom: { calibration, nCtx: truth.nCtx, threads: 1 } };
const units = planUnits(s.info.tensors, "tensor");
const { bytes, fixedBytes } = await unitBytes(s, units, types, uniform);
const files = await uniformModels(s, types, uniform);
const reference = await inspect(files.get(types[0]!)!);
const nonLayer = new Map<string, string>();
for (const t of types) nonLayer.set(t, (await uniformModels(s, [types[0]!], { ...uniform, nonLayerType: t })).get(types[0]!)!);
const tensorBytes: Record<string, Record<string, number>> = {};
types.forEach((t, j) => (tensorBytes[t] = Object.fromEntries(units.map((u, i) => [u.tensors[0]!, bytes[i]![j]!]))));
const table = costTableFromMeasured({
  sensitivity: truth.measured, types, unitTensors: Object.fromEntries(units.map((u) => [u.name, u.tensors])),
  tensorParams: Object.fromEntries(s.info.tensors.map((x) => [x.name, x.shape.reduce((a, b) => a * b, 1)])),
  tensorBytes, latencyMsPerToken: Object.fromEntries(types.map((t) => [t, 1])),
  fixedBytes: fixedBytes + metadataAllowance(units.map((u) => u.name), types, reference.alignment),
});
const work = mkdtempSync(path.join(os.tmpdir(), "apreqel-verify-bench-"));
const assembleChoice = async (c: FrontChoice, file: string) => {
  const sources: Record<string, string> = {};
  const assignment: Record<string, string> = {};
  for (const u of units) {
    const t = c.assignment[u.name]! as GgmlType;
    const key = `${u.block === null ? "nl-" : ""}${t}`;
    sources[key] = u.block === null ? nonLayer.get(t)! : files.get(t)!;
    assignment[u.tensors[0]!] = key;
  }
  await assemble({ base: files.get(types[0]!)!, sources, assignment, output: file });
};
const onTest = async (c: FrontChoice, label: string) => {
  const file = path.join(work, `${label}.gguf`);
  await assembleChoice(c, file);
  return (await perplexity({ model: file, klBase: model, text: testText, nCtx: 256, chunks: evaluate, nBatch: 256, threads: 1 })).kld!.mean;
};
const presets: [string, number][] = [["Q3_K_S", 5489216], ["Q3_K_M", 5967424], ["Q4_K_S", 6922816], ["Q4_K_M", 7236672], ["Q5_K_S", 8192576], ["Q5_K_M", 8375360]];
const rows: string[] = [];
const errs = { additive: [] as number[], corrected: [] as number[] };
const gains: number[] = [];
for (const [name, size] of presets) {
  const bounds = { sizeBytes: size };
  const rule = (front: Front) => chooseOnFront(front, { weights: { memory: 0, latency: 0, accuracy: 1 }, constraints: { targetSizeBytes: size } });
  const front = paretoFront(table, { bounds });
  const first = rule(front);
  const v = await verifyChoice(s, { table, front, assemble: assembleChoice }, rule, { calibration, nCtx: truth.nCtx, chunks: truth.chunks, threads: 1, rounds, bounds });
  const firstTest = await onTest(first, `${name}-first`);
  const keptTest = v.choice === first ? firstTest : await onTest(v.choice, `${name}-kept`);
  const additive = first.estimate.kld;
  errs.additive.push(Math.abs(additive / firstTest - 1));
  errs.corrected.push(Math.abs(v.estimate / keptTest - 1));
  gains.push(keptTest / firstTest);
  rows.push(`| ${name} | ${size} | ${v.measured.map((m) => `${m.kld.toPrecision(3)} (Σ ${m.additive.toPrecision(3)})`).join(", ")} | ${v.rho.toFixed(3)} | ${firstTest.toPrecision(3)} | ${additive.toPrecision(3)} (${((additive / firstTest - 1) * 100).toFixed(1)}%) | ${keptTest.toPrecision(3)} | ${v.estimate.toPrecision(3)} (${((v.estimate / keptTest - 1) * 100).toFixed(1)}%) | ${(keptTest / firstTest).toFixed(3)} |`);
  console.log(rows.at(-1));
}
const mean = (v: number[]) => (100 * v.reduce((a, b) => a + b, 0)) / v.length;
const section = `## The verify step on aggressive mixes (issue 25, item 7)

\`npx vite-node scripts/bench/probe-plan-verify.ts --evaluate ${evaluate} --rounds ${rounds}\` on ${machine()}: debian-prose-11m (F32), tensor granularity, types ${types.join(", ")} (q2_K included), imatrix from the calibration pass.
**Reduced settings** (the machine was shared): the full Δ table and the verify measurements on ${truth.chunks} chunks of ${truth.nCtx} tokens of wiki.valid (64 paragraphs) instead of 8; the result on the first ${evaluate} chunks of wiki.test at -c 256 instead of 100.
Accuracy-only choice at ≤ each preset's file bytes (as users get them, docs/results.md §9); verify: the chosen mix measured on the calibration chunks, ρ fitted, re-planned on the linearised correction, ${rounds} mixes at most, a re-plan kept only when it measures no worse.

| preset | bytes | verify: KLD on calibration (Σ Δ) | ρ | first choice: KLD wiki.test | additive estimate (error) | kept: KLD wiki.test | corrected estimate (error) | kept ÷ first |
|---|---:|---|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

Mean |estimate ÷ measurement − 1| on wiki.test: additive **${mean(errs.additive).toFixed(1)}%**, after the verify step **${mean(errs.corrected).toFixed(1)}%** (target ≤ 5%); the kept mix's KLD ÷ the first choice's: mean ${(gains.reduce((a, b) => a + b, 0) / gains.length).toFixed(3)}.`;
if (process.argv.includes("--write")) writeSection("probe-plan-verify", section);
console.log(section);
