// Issue 14 benchmark: the measured sensitivity table on debian-prose-11m at tensor granularity.
//   npx vite-node scripts/bench/sensitivity.ts [--ctx 512] [--chunks 2] [--mixes 8] [--cache-dir DIR] [--proxy]
// - probe cost: the whole table's time against the time its forward passes take (llama_decode,
//   timed inside the same native call): no model reload or file write per probe;
// - additivity: KLD(reference) + Σ_u Δ(u, t_u) against the KLD of assembled mixes measured by
//   perplexity() over the same calibration chunks (random tensor-level mixes, and the uniform files).
// - with --proxy instead: the table (from the cache of an earlier run, or measured now) against the
//   quantization-error proxy, by Spearman's ρ (the "sensitivity-proxy" section).
// - with --imatrix instead: a plain forward pass over the calibration text against the same pass
//   collecting the imatrix (the "sensitivity-imatrix" section), interleaved, --reps times.
// Calibration = wiki.valid (never wiki.test). Writes the "sensitivity" section of docs/benchmarks.md.
import os from "node:os";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { planUnits } from "../../lib/gguf/units.js";
import { estimateMixKld } from "../../lib/method/sensitivity.js";
import { assemble } from "../../lib/ops/assemble.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { openSession } from "../../lib/pipeline/session.js";
import { calibrationText, measureSensitivity, proxySensitivity } from "../../lib/pipeline/sensitivity.js";
import { spearman } from "../../lib/method/sensitivity.js";
import { readCalibration } from "../../lib/pipeline/texts.js";
import { uniformModels } from "../../lib/pipeline/uniform.js";
import { sharedFile } from "../../test/helpers/shared.js";
import { prng } from "../shared/prng.js";
import { machine, median, writeSection } from "./report.js";
import { captureSimilarity } from "../../lib/ops/capture.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const chunks = Number(arg("--chunks", "2"));
const mixes = Number(arg("--mixes", "8"));
const nCtx = Number(arg("--ctx", "512"));
const threads = os.cpus().length;
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F16.gguf");
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
if (!model || !valid) throw new Error("needs ../shared/models/debian-prose-11m and ../shared/data/wikitext-2-raw/wiki.valid.raw");
const cacheDir = arg("--cache-dir", mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-sensitivity-")));
const work = mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-mixes-"));

if (process.argv.includes("--imatrix")) {
  const reps = Number(arg("--reps", "3"));
  const calibrationSet = await readCalibration(valid);
  const texts = [calibrationText(calibrationSet).slice(0, Number(arg("--chars", "40000")))];
  const plain: number[] = [];
  const collecting: number[] = [];
  let tokens = 0;
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    tokens = (await captureSimilarity({ model, texts, nCtx, threads, similarity: false, chunked: true })).tokens;
    plain.push((performance.now() - t) / 1000);
    t = performance.now();
    await captureSimilarity({ model, texts, nCtx, threads, similarity: false, chunked: true, imatrix: path.join(work, "imatrix.gguf") });
    collecting.push((performance.now() - t) / 1000);
  }
  const ratios = plain.map((p, i) => collecting[i]! / p);
  writeSection(
    "sensitivity-imatrix",
    `## imatrix from the calibration pass (issue 14, item 5)

\`npx vite-node scripts/bench/sensitivity.ts --imatrix --ctx ${nCtx} --reps ${reps}\` on ${machine()}, ${threads} threads (shared machine):
debian-prose-11m, ${tokens} wiki.valid tokens in chunks of ${nCtx}, plain forward pass and the same pass collecting the imatrix, interleaved.

| | median | runs |
|---|---|---|
| plain forward pass | ${median(plain).toFixed(2)} s | ${plain.map((x) => x.toFixed(2)).join(", ")} |
| collecting the imatrix | ${median(collecting).toFixed(2)} s | ${collecting.map((x) => x.toFixed(2)).join(", ")} |

Cost ratio (per pair): median **${median(ratios).toFixed(2)}×**, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}× (target ≤ 1.15×).`,
  );
  process.exit(0);
}

const s = await openSession({ model, cacheDir });
const calibration = await readCalibration(valid);
const text = calibrationText(calibration);
const types = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"] as const;
const units = planUnits(s.info.tensors, "tensor");
const t0 = performance.now();
const m = await measureSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads, onProgress: () => {} });
const wall = (performance.now() - t0) / 1000;
const timing = m.timing;
const table = m.table;
console.log(`probes: ${m.probed} run, ${m.cached} cached; wall ${wall.toFixed(1)} s`, timing);

if (process.argv.includes("--proxy")) {
  const p0 = performance.now();
  const proxy = await proxySensitivity(s, { units: "tensor", types });
  const proxySeconds = (performance.now() - p0) / 1000;
  const cells = (t: (typeof table)["delta"], j: number) => t.map((row) => row[j]!);
  const all = (t: (typeof table)["delta"]) => types.slice(1).flatMap((_, k) => cells(t, k + 1));
  const block = table.units.map((u, i) => [u, i] as const).filter(([u]) => u.startsWith("blk.")).map(([, i]) => i);
  const pick = (t: (typeof table)["delta"]) => block.map((i) => t[i]!);
  const rho = (a: (typeof table)["delta"], b: (typeof table)["delta"]) => spearman(all(a), all(b));
  const lines = types.slice(1).map((t, k) => `| ${t} | ${spearman(cells(pick(table.delta), k + 1), cells(pick(proxy.delta), k + 1)).toFixed(3)} |`);
  writeSection(
    "sensitivity-proxy",
    `## Sensitivity proxy vs measured Δ (issue 14, item 4)

\`npx vite-node scripts/bench/sensitivity.ts --proxy --ctx ${nCtx} --chunks ${chunks}\` on ${machine()}: debian-prose-11m, tensor granularity, the same measured table as above (${chunks} chunks of ${nCtx} wiki.valid tokens per probe).
Proxy = squared quantization error Σ (dequant(q) − x)² of each unit's tensors in each uniform file, **unweighted** (this run passes no imatrix; \`apreqel imatrix\` can now make one), computed in ${proxySeconds.toFixed(1)} s with no forward pass.

Spearman's ρ between proxy and measured Δ over all ${all(table.delta).length} (unit, type ≠ q8_0) cells: **${rho(table.delta, proxy.delta).toFixed(3)}**; over the ${block.length} block tensors only, per type:

| type | ρ (block tensors) |
|---|---|
${lines.join("\n")}
`,
  );
  process.exit(0);
}

// additivity: random tensor-level mixes (each unit at a random type; units outside the blocks too)
const files = await uniformModels(s, types);
const nonLayer = new Map<string, string>();
for (const t of types) nonLayer.set(t, (await uniformModels(s, [types[0]], { nonLayerType: t })).get(types[0])!);
const random = prng(14);
const rows: { label: string; estimated: number; measured: number; stderr: number }[] = [];
const measure = async (label: string, assignment: Record<string, string>) => {
  const sources: Record<string, string> = {};
  const tensorAssignment: Record<string, string> = {};
  for (const u of units) {
    const t = assignment[u.name];
    if (t === undefined) continue;
    const labelOf = `${u.block === null ? "nl-" : ""}${t}`;
    sources[labelOf] = u.block === null ? nonLayer.get(t)! : files.get(t as (typeof types)[number])!;
    for (const name of u.tensors) tensorAssignment[name] = labelOf;
  }
  const out = path.join(work, `${label}.gguf`);
  await assemble({ base: files.get(types[0])!, sources, assignment: tensorAssignment, output: out });
  const r = await perplexity({ model: out, klBase: model, text, nCtx, chunks, nBatch: nCtx, threads });
  rows.push({ label, estimated: estimateMixKld(table, assignment), measured: r.kld!.mean, stderr: r.kld!.stderr });
  console.log(rows.at(-1));
};
for (let k = 0; k < mixes; k++) {
  const assignment: Record<string, string> = {};
  for (const u of units) assignment[u.name] = types[Math.floor(random() * types.length)]!;
  await measure(`random-${k + 1}`, assignment);
}
for (const t of types.slice(1)) {
  const assignment: Record<string, string> = {};
  for (const u of units) if (u.block !== null) assignment[u.name] = t;
  await measure(`uniform-${t}`, assignment);
}
const errors = rows.map((r) => Math.abs(r.estimated - r.measured) / r.measured);
const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
const worst = Math.max(...errors);
const randomErrors = errors.slice(0, mixes);
const randomMean = randomErrors.reduce((a, b) => a + b, 0) / Math.max(1, randomErrors.length);
const f = (x: number) => x.toPrecision(4);
const probeTokens = m.probed * chunks * nCtx;
writeSection(
  "sensitivity",
  `## Measured sensitivity (issue 14)

\`npx vite-node scripts/bench/sensitivity.ts --ctx ${nCtx} --chunks ${chunks} --mixes ${mixes}\` on ${machine()}, ${threads} threads, shared with other jobs (timings drift; the ratios are taken inside one run).
debian-prose-11m (F16 source), tensor granularity: ${units.length} units (${units.filter((u) => u.block !== null).length} block tensors + token_embd, output) × ${types.length} types (${types.join(", ")}; q8_0 is the reference, so a unit at q8_0 is not probed),
calibration = wiki.valid, ${chunks} chunks of ${nCtx} tokens per probe (${chunks * (nCtx - 1 - nCtx / 2)} scored tokens).

**Probe cost**${timing ? `: ${m.probed} probes (${probeTokens} tokens decoded by probes) in ${timing.totalSeconds.toFixed(1)} s of native time (${wall.toFixed(1)} s wall, including the uniform files' cache look-ups and per-probe cache writes);
the forward passes alone (every llama_decode of the call, the source model's included) took ${timing.decodeSeconds.toFixed(1)} s, KLD ${timing.kldSeconds.toFixed(1)} s, swaps ${timing.swapSeconds.toFixed(2)} s.
**Cost ÷ forward passes = ${(timing.totalSeconds / timing.decodeSeconds).toFixed(2)}×** (target ≤ 1.5×); wall ÷ forward passes = ${(wall / timing.decodeSeconds).toFixed(2)}×.` : " (all probes came from the cache in this run; rerun with an empty --cache-dir)"}

**Additivity**: estimated KLD = KLD(reference) + Σ_u Δ(u, t_u) against the measured KLD of the assembled mix (perplexity() with the source as KL base, same chunks).
Reference (all q8_0) KLD ${f(table.referenceKld)}.

| mix | estimated KLD | measured KLD (± stderr) | error |
|---|---|---|---|
${rows.map((r, i) => `| ${r.label} | ${f(r.estimated)} | ${f(r.measured)} ± ${f(r.stderr)} | ${((100 * (r.estimated - r.measured)) / r.measured).toFixed(1)}% |`).join("\n")}

Mean |error| ${(100 * mean).toFixed(1)}% (random mixes ${(100 * randomMean).toFixed(1)}%), worst ${(100 * worst).toFixed(1)}% (target: mean ≤ 10%).`,
);
