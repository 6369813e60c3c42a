// Issue 25 items 4/5: the planned table against the full one, replayed on a full table measured by
// scripts/bench/probe-plan-truth.ts (every cell probed with the same settings): each round's
// "probe" reads the cell from it, so the replay costs no forward pass and shows exactly which cells
// the planner would measure, what they cost, and which mixes it then chooses.
//   npx vite-node scripts/bench/probe-plan.ts [--truth FILE] [--cache-dir DIR] [--shares 0,0.0625,0.125,0.25] [--write]
// Reported: forward-equivalent tokens of the table (cells × tokens of a full probe, plus the
// source's decode once per call) against the full table's; at the bytes of the presets of
// docs/results.md §9 the mix chosen from the planned table, its KLD by the full table's additive
// estimate against the full table's own choice (the measured KLD of both on wiki.test needs
// --evaluate N: assembled and scored on N chunks of wiki.test).
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { planUnits } from "../../lib/gguf/units.js";
import { chooseOnFront } from "../../lib/method/choose.js";
import { paretoFront } from "../../lib/method/front.js";
import { costTableFromMeasured } from "../../lib/method/measured-costs.js";
import { planRound, predictSensitivity, servedSizes } from "../../lib/method/probe-plan.js";
import { estimateMixKld, type SensitivityTable } from "../../lib/method/sensitivity.js";
import type { GgmlType } from "../../lib/method/types.js";
import { openSession } from "../../lib/pipeline/session.js";
import { unitBytes } from "../../lib/pipeline/probe-plan.js";
import { metadataAllowance } from "../../lib/pipeline/front.js";
import { uniformModels } from "../../lib/pipeline/uniform.js";
import { assemble } from "../../lib/ops/assemble.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { inspect } from "../../lib/ops/inspect.js";
import { sharedFile } from "../shared/shared.js";
import { studyCalibration } from "./study-calibration.js";
import { machine, writeSection } from "./report.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const cacheDir = path.resolve(arg("--cache-dir", ".cache/probe-plan"));
const truthFile = path.resolve(arg("--truth", path.join(cacheDir, "truth-c256-n2.json")));
const shares = arg("--shares", "0.0625,0.125,0.25,1").split(",").map(Number);
const evaluate = Number(arg("--evaluate", "0"));
const threads = Number(arg("--threads", "1"));
const truth = JSON.parse(readFileSync(truthFile, "utf8")) as { nCtx: number; chunks: number; types: GgmlType[]; measured: SensitivityTable; proxy: SensitivityTable };
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F32.gguf")!;
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw")!;
const calibration = await studyCalibration(valid);
const s = await openSession({ model, cacheDir });
const types = truth.types;
const uniform = { imatrixFrom: { calibration, nCtx: truth.nCtx, threads } };
const units = planUnits(s.info.tensors, "tensor");
const { bytes, fixedBytes } = await unitBytes(s, units, types, uniform);
const files = await uniformModels(s, types, uniform);
const reference = await inspect(files.get(types[0]!)!);
const fileFixed = fixedBytes + metadataAllowance(units.map((u) => u.name), types, reference.alignment);
const N = units.length;
const M = types.length;
const fullProbe = truth.chunks * truth.nCtx;
const cellsTotal = N * (M - 1);
// today's table: one call, the source and every cell (the reference included) decoded once
const fullTokens = (cellsTotal + 2) * fullProbe;
const presets: [string, number][] = [
  ["Q3_K_S", 5489216], ["Q3_K_S/q8_0", 6406720], ["Q3_K_M", 5967424], ["Q3_K_M/q8_0", 6884928], ["Q4_K_S", 6922816], ["Q4_K_S/q8_0", 7701056],
  ["Q4_K_M", 7236672], ["Q4_K_M/q8_0", 8014912], ["Q5_K_S", 8192576], ["Q5_K_S/q8_0", 8839744], ["Q5_K_M", 8375360], ["Q5_K_M/q8_0", 9022528],
];

function replay(share: number, sizes: readonly number[]): { measured: (number | null)[][]; tokens: number; calls: number; stopped: string } {
  const measured: (number | null)[][] = units.map(() => types.map((_, t) => (t === 0 ? 0 : null)));
  let tokens = 0;
  let calls = 0;
  let stopped = "settled";
  for (;;) {
    const r = planRound({ units: truth.proxy.units, types, proxy: truth.proxy.delta, measured, bytes, sizes, batch: 16 });
    if (r.cells.length === 0) {
      stopped = r.reason;
      break;
    }
    const affordable = Math.floor((share * cellsTotal * fullProbe - tokens) / fullProbe);
    if (affordable <= 0) {
      stopped = "budget";
      break;
    }
    const cells = r.cells.slice(0, affordable);
    for (const c of cells) measured[c.unit]![c.type] = truth.measured.delta[c.unit]![c.type]!;
    tokens += (cells.length + 1) * fullProbe; // + the source's decode of this call
    calls++;
  }
  return { measured, tokens, calls, stopped };
}

const latencyMsPerToken = Object.fromEntries(types.map((t) => [t, 1]));
const tensorBytes: Record<string, Record<string, number>> = {};
for (const [j, t] of types.entries()) {
  tensorBytes[t] = {};
  units.forEach((u, i) => {
    // units are single tensors at tensor granularity
    tensorBytes[t]![u.tensors[0]!] = bytes[i]![j]!;
  });
}
const tensorParams = Object.fromEntries(s.info.tensors.map((x) => [x.name, x.shape.reduce((a, b) => a * b, 1)]));
const unitTensors = Object.fromEntries(units.map((u) => [u.name, u.tensors]));
function choose(table: SensitivityTable, size: number) {
  const costs = costTableFromMeasured({ sensitivity: table, types, unitTensors, tensorParams, tensorBytes, latencyMsPerToken, fixedBytes: fileFixed });
  const front = paretoFront(costs, { bounds: { sizeBytes: size } });
  return chooseOnFront(front, { weights: { memory: 0, latency: 0, accuracy: 1 }, constraints: { targetSizeBytes: size } });
}

const work = mkdtempSync(path.join(os.tmpdir(), "apreqel-probe-plan-"));
const test = sharedFile("data/wikitext-2-raw/wiki.test.raw");
const testText = test ? readFileSync(test, "utf8") : "";
async function measureMix(assignment: Readonly<Record<string, string>>, label: string): Promise<number> {
  const nonLayer = new Map<string, string>();
  for (const t of types) nonLayer.set(t, (await uniformModels(s, [types[0]!], { ...uniform, nonLayerType: t })).get(types[0]!)!);
  const sources: Record<string, string> = {};
  const tensorAssignment: Record<string, string> = {};
  for (const u of units) {
    const t = assignment[u.name]! as GgmlType;
    const key = `${u.block === null ? "nl-" : ""}${t}`;
    sources[key] = u.block === null ? nonLayer.get(t)! : files.get(t)!;
    for (const name of u.tensors) tensorAssignment[name] = key;
  }
  const out = path.join(work, `${label}.gguf`);
  await assemble({ base: files.get(types[0]!)!, sources, assignment: tensorAssignment, output: out });
  const r = await perplexity({ model: out, klBase: model, text: testText, nCtx: 256, chunks: evaluate, nBatch: 256, threads });
  return r.kld!.mean;
}

const full = truth.measured;
const lines: string[] = [];
const rows: string[] = [];
const fullChoice = new Map(presets.map(([name, size]) => [name, choose(full, size)]));
const fullMeasured = new Map<string, number>();
for (const share of shares) {
  const sizes = servedSizes(bytes, 8);
  const rep = replay(share, sizes);
  const p = predictSensitivity({ units: truth.proxy.units, types, proxy: truth.proxy.delta, measured: rep.measured });
  const planned: SensitivityTable = { ...full, delta: p.delta };
  const nMeasured = rep.measured.reduce((a, row) => a + row.filter((d, t) => t > 0 && d !== null).length, 0);
  const ratios: number[] = [];
  const errors: number[] = [];
  const measuredRatios: number[] = [];
  for (const [name, size] of presets) {
    const c = choose(planned, size);
    const trueKld = estimateMixKld(full, c.assignment);
    const fullKld = estimateMixKld(full, fullChoice.get(name)!.assignment);
    ratios.push(trueKld / fullKld);
    errors.push(Math.abs(c.estimate.kld / trueKld - 1));
    let measuredCell = "";
    if (evaluate > 0) {
      if (!fullMeasured.has(name)) fullMeasured.set(name, await measureMix(fullChoice.get(name)!.assignment, `full-${name.replace("/", "-")}`));
      const m = await measureMix(c.assignment, `share${share}-${name.replace("/", "-")}`);
      measuredRatios.push(m / fullMeasured.get(name)!);
      measuredCell = ` | ${m.toPrecision(3)} / ${fullMeasured.get(name)!.toPrecision(3)} = **${(m / fullMeasured.get(name)!).toFixed(3)}**`;
    }
    rows.push(`| ${(share * 100).toFixed(2)}% | ${name} | ${size} | ${trueKld.toPrecision(3)} | ${fullKld.toPrecision(3)} | **${(trueKld / fullKld).toFixed(3)}** | ${c.estimate.kld.toPrecision(3)}${measuredCell} |`);
  }
  const worst = Math.max(...ratios);
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  lines.push(
    `| ${(share * 100).toFixed(2)}% | ${nMeasured} of ${cellsTotal} | ${rep.calls} | ${rep.tokens} | **${(fullTokens / rep.tokens).toFixed(1)}×** | ${rep.stopped} | ${mean.toFixed(3)} / ${worst.toFixed(3)} | ${(100 * errors.reduce((a, b) => a + b, 0) / errors.length).toFixed(1)}%${evaluate > 0 ? ` | ${(measuredRatios.reduce((a, b) => a + b, 0) / measuredRatios.length).toFixed(3)} / ${Math.max(...measuredRatios).toFixed(3)}` : ""} |`,
  );
  console.log(lines.at(-1));
}
const section = `## Probe planning: the table for a fraction of the probes (issue 25, items 4 and 5)

\`npx vite-node scripts/bench/probe-plan.ts${evaluate > 0 ? ` --evaluate ${evaluate}` : ""}\` on ${machine()}: a replay (no timing) on debian-prose-11m (F32), tensor granularity, ${N} units × ${M - 1} types (${types.join(", ")}; q2_K included), imatrix from the calibration pass.
**Reduced settings** (the machine was shared): every probe ${truth.chunks} chunks of ${truth.nCtx} tokens of wiki.valid (64 paragraphs) instead of the default 8; the full table (scripts/bench/probe-plan-truth.ts, every cell probed) stands in for the probes: each round's cells are read from it.
Forward-equivalent tokens: cells × a full probe (${fullProbe} tokens) plus the source's decode once per native call; today's full table: ${fullTokens}. Probes of the reference-type column are never needed (Δ = 0).
Budgets as shares of the full table; the planner also stops when what is left to learn is below 1% of the estimate (\`settled\`). Choices: accuracy-only at ≤ each preset's file bytes of docs/results.md §9 (\`--target-size\`), from the planned table vs from the full table; "true" KLD = the full table's additive estimate of the chosen mix${evaluate > 0 ? `; measured = KLD on the first ${evaluate} chunks of wiki.test at -c 256` : ""}.

| budget | cells measured | calls | forward-equivalent tokens | saving | stopped | KLD ratio to the full table's choice (mean / worst over 12 sizes) | estimate's error vs full-table Σ (mean) |${evaluate > 0 ? " measured KLD ratio (mean / worst) |" : ""}
|---|---|---:|---:|---:|---|---|---|${evaluate > 0 ? "---|" : ""}
${lines.join("\n")}

<details><summary>Per size</summary>

| budget | preset | bytes | KLD (planned choice) | KLD (full-table choice) | ratio | planned estimate |${evaluate > 0 ? " measured planned / full |" : ""}
|---|---|---:|---:|---:|---:|---:|${evaluate > 0 ? "---|" : ""}
${rows.join("\n")}

</details>`;
if (process.argv.includes("--write")) writeSection("probe-plan", section);
else console.log(section);
