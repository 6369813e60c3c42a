// Issue 14 benchmark: the measured sensitivity table on debian-prose-11m at tensor granularity.
//   npx vite-node scripts/bench/sensitivity.ts [--ctx 512] [--chunks 2] [--mixes 8] [--threads 1] [--cache-dir DIR] [--section NAME] [--proxy]
// - probe cost: the whole table's time against the time its forward passes take (llama_decode,
//   timed inside the same native call): no model reload or file write per probe;
// - additivity: KLD(reference) + Σ_u Δ(u, t_u) against the KLD of assembled mixes measured by
//   perplexity() over the same calibration chunks (random tensor-level mixes, and the uniform files).
// - with --proxy instead: the table (from the cache of an earlier run, or measured now) against the
//   quantization-error proxy, by Spearman's ρ (the "sensitivity-proxy" section).
// - with --imatrix instead: a plain forward pass over calibration paragraphs against the similarity
//   capture and the capture collecting the imatrix too (the "sensitivity-imatrix" section),
//   interleaved, --reps times, with the load average.
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
import { sharedFile } from "../shared/shared.js";
import { prng } from "../shared/prng.js";
import { machine, median, writeSection } from "./report.js";
import { summarizeTimings } from "../../lib/method/latency-protocol.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../../lib/ops/fixtures.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const chunks = Number(arg("--chunks", "2"));
const mixes = Number(arg("--mixes", "8"));
const nCtx = Number(arg("--ctx", "512"));
const threads = Number(arg("--threads", "1")); // one thread: on 2 shared cores two threads collide with any other load
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F16.gguf");
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
if (!model || !valid) throw new Error("needs ../shared/models/debian-prose-11m and ../shared/data/wikitext-2-raw/wiki.valid.raw");
const cacheDir = arg("--cache-dir", mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-sensitivity-")));
const work = mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-mixes-"));

if (process.argv.includes("--imatrix")) {
  // the calibration pass as the pipeline runs it (lib/pipeline/calibration.ts: each paragraph its own
  // window), three ways, interleaved ABC ABC …: a plain forward pass, the similarity capture (what
  // `score` ran before), and the similarity capture collecting the imatrix too (what it runs now)
  const reps = Number(arg("--reps", "7"));
  const calibrationSet = await readCalibration(valid);
  const texts = calibrationSet.prompts.slice(0, Number(arg("--paragraphs", "60")));
  const variants = [
    { label: "plain forward pass", run: () => captureSimilarity({ model, texts, nCtx, threads: threads, similarity: false }) },
    { label: "similarity capture (score before)", run: () => captureSimilarity({ model, texts, nCtx, threads: threads }) },
    { label: "similarity + imatrix (the calibration pass now)", run: () => captureSimilarity({ model, texts, nCtx, threads: threads, imatrix: path.join(work, "imatrix.gguf") }) },
  ];
  const times: number[][] = variants.map(() => []);
  let tokens = 0;
  const loadStart = os.loadavg();
  await variants[2]!.run(); // warm-up: page cache, allocator
  for (let r = 0; r < reps; r++) {
    for (const [i, v] of variants.entries()) {
      const t = performance.now();
      tokens = (await v.run()).tokens;
      times[i]!.push((performance.now() - t) / 1000);
    }
  }
  const loadEnd = os.loadavg();
  const fmt = (xs: readonly number[], digits = 2) => {
    const m = summarizeTimings(xs);
    return `${m.median.toFixed(digits)} [${m.low.toFixed(digits)}, ${m.high.toFixed(digits)}]`;
  };
  const ratio = (i: number) => times[i]!.map((t, r) => t / times[0]![r]!);
  const ratioSim = times[2]!.map((t, r) => t / times[1]![r]!);
  const coverage = summarizeTimings(ratioSim).coverage;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  writeSection(
    "sensitivity-imatrix",
    `## imatrix from the calibration pass (issue 14)

\`npx vite-node scripts/bench/sensitivity.ts --imatrix --ctx ${nCtx} --reps ${reps} --threads ${threads} --paragraphs ${texts.length}\` on ${machine()}, ${threads} thread(s).
debian-prose-11m (F16), the first ${texts.length} paragraphs of wiki.valid (${tokens} tokens, each paragraph its own window, as the pipeline's calibration pass runs them),
three variants interleaved (ABC ABC …, one warm-up) ${reps} times. **The machine is shared** (load average ${load(loadStart)} at the start, ${load(loadEnd)} at the end, 1/5/15 min, on 2 cores):
the times are noisy; the ratios are taken per round, between runs seconds apart.

| pass | median [${(coverage * 100).toFixed(0)}% interval], s |
|---|---|
${variants.map((v, i) => `| ${v.label} | ${fmt(times[i]!)} |`).join("\n")}

| ratio (per round) | median [interval] |
|---|---|
| similarity capture ÷ plain | ${fmt(ratio(1), 3)} |
| similarity + imatrix ÷ plain | ${fmt(ratio(2), 3)} |
| **similarity + imatrix ÷ similarity** (what the default adds to \`score\`'s pass) | **${fmt(ratioSim, 3)}** |

Target: the capture with imatrix collection ≤ 1.15× a plain forward pass.`,
  );
  process.exit(0);
}

if (process.argv.includes("--shape")) {
  // probe cost on a random-weight model of a real shape, cut to --blocks blocks: the block tensors
  // at tensor granularity × the probed types (accuracy means nothing on random weights; the cost does)
  const shapeName = arg("--shape", "llama-3.2-1b") as keyof typeof FIXTURE_SHAPES;
  const shape = FIXTURE_SHAPES[shapeName];
  if (!shape) throw new Error(`--shape: one of ${Object.keys(FIXTURE_SHAPES).join(", ")}`);
  const blocks = Number(arg("--blocks", "2"));
  const file = await writeRandomModel({ output: path.join(work, `${shapeName}-${blocks}.gguf`), ...shape, nLayer: blocks, type: "f16" });
  const session = await openSession({ model: file, cacheDir });
  const shapeTypes = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"] as const;
  const blockUnits = planUnits(session.info.tensors, "tensor").filter((u) => u.block !== null);
  const q0 = performance.now();
  await uniformModels(session, shapeTypes, { threads: threads });
  const quantSeconds = (performance.now() - q0) / 1000;
  const calibrationSet = await readCalibration(valid);
  const loadStart = os.loadavg();
  const p0 = performance.now();
  const r = await measureSensitivity(session, { units: { granularity: "tensor", units: blockUnits }, types: shapeTypes, calibration: calibrationSet, nCtx, chunks, threads: threads });
  const probeWall = (performance.now() - p0) / 1000;
  const loadEnd = os.loadavg();
  const t = r.timing!;
  const params = session.info.tensors.reduce((a, x) => a + x.shape.reduce((b, c) => b * c, 1), 0);
  writeSection(
    "sensitivity-shape",
    `## Probe cost on a ${shapeName}-shaped random-weight model (issue 14)

\`npx vite-node scripts/bench/sensitivity.ts --shape ${shapeName} --blocks ${blocks} --ctx ${nCtx} --chunks ${chunks} --threads ${threads}\` on ${machine()}, ${threads} thread(s);
load average ${loadStart.map((x) => x.toFixed(1)).join(" / ")} at the start, ${loadEnd.map((x) => x.toFixed(1)).join(" / ")} at the end (1/5/15 min, 2 shared cores: **the seconds are noise, the ratio is taken inside one native call**).
${shapeName}'s block shape (n_embd ${shape.nEmbd}, n_ff ${shape.nFf}, ${shape.nHead}/${shape.nHeadKv} heads) cut to ${blocks} blocks, llama-spm vocabulary (32000), ${(params / 1e6).toFixed(0)} M parameters (F16);
${blockUnits.length} block tensors × ${shapeTypes.length - 1} probed types (${shapeTypes.join(", ")}; q8_0 the reference), ${chunks} chunk(s) of ${nCtx} wiki.valid tokens per probe. Uniform files made first (${quantSeconds.toFixed(0)} s, not counted).

${r.probed} probes in ${t.totalSeconds.toFixed(1)} s of native time (${probeWall.toFixed(1)} s wall): forward passes ${t.decodeSeconds.toFixed(1)} s, KLD ${t.kldSeconds.toFixed(1)} s, swaps ${t.swapSeconds.toFixed(2)} s.
**Cost ÷ forward passes = ${(t.totalSeconds / t.decodeSeconds).toFixed(2)}×** (target ≤ 1.5×); wall ÷ forward passes = ${(probeWall / t.decodeSeconds).toFixed(2)}×.`,
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
// held out: a correction fitted on the uniform files, judged on the random mixes it never saw.
// (a) one scale k on Σ Δ: est = ref + k·Σ Δ, k minimising the squared relative error on the uniform rows;
// (b) one scale per type, k_t = (measured − ref) / Σ Δ of the uniform-t file.
const ref = table.referenceKld;
const uniformRows = rows.slice(mixes);
const randomRows = rows.slice(0, mixes);
const sumOf = (r: (typeof rows)[0]) => r.estimated - ref;
const k = uniformRows.reduce((a, r) => a + (sumOf(r) * (r.measured - ref)) / r.measured ** 2, 0) / uniformRows.reduce((a, r) => a + sumOf(r) ** 2 / r.measured ** 2, 0);
const perType = new Map(types.slice(1).map((t, i) => [t, (uniformRows[i]!.measured - ref) / sumOf(uniformRows[i]!)] as const));
const assignments: Record<string, string>[] = [];
{
  const again = prng(14);
  for (let j = 0; j < mixes; j++) {
    const a: Record<string, string> = {};
    for (const u of units) a[u.name] = types[Math.floor(again() * types.length)]!;
    assignments.push(a);
  }
}
const perTypeEstimate = (a: Record<string, string>) =>
  ref + types.slice(1).reduce((acc, t) => {
    const sub: Record<string, string> = {};
    for (const [u, ty] of Object.entries(a)) if (ty === t) sub[u] = t;
    return acc + perType.get(t)! * (estimateMixKld(table, sub) - ref);
  }, 0);
const relErr = (est: number, measured: number) => Math.abs(est - measured) / measured;
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const heldOut = {
  none: meanOf(randomRows.map((r) => relErr(r.estimated, r.measured))),
  scale: meanOf(randomRows.map((r) => relErr(ref + k * sumOf(r), r.measured))),
  perType: meanOf(randomRows.map((r, j) => relErr(perTypeEstimate(assignments[j]!), r.measured))),
};
console.log({ k, perType: Object.fromEntries(perType), heldOut });
const errors = rows.map((r) => Math.abs(r.estimated - r.measured) / r.measured);
const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
const worst = Math.max(...errors);
const randomErrors = errors.slice(0, mixes);
const randomMean = randomErrors.reduce((a, b) => a + b, 0) / Math.max(1, randomErrors.length);
const f = (x: number) => x.toPrecision(4);
const probeTokens = m.probed * chunks * nCtx;
writeSection(
  arg("--section", "sensitivity"),
  `## Measured sensitivity (issue 14)${chunks > 1 ? `, ${chunks} probe chunks` : ""}

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

Mean |error| ${(100 * mean).toFixed(1)}% (random mixes ${(100 * randomMean).toFixed(1)}%), worst ${(100 * worst).toFixed(1)}% (target: mean ≤ 10%).

**A correction, held out** (fitted on the ${uniformRows.length} uniform files, judged on the ${mixes} random mixes it was not fitted on):
one scale on Σ Δ, k = ${k.toFixed(3)}: mean |error| on the random mixes ${(100 * heldOut.scale).toFixed(1)}% (uncorrected ${(100 * heldOut.none).toFixed(1)}%);
one scale per type (${[...perType].map(([t, x]) => `${t} ${x.toFixed(2)}`).join(", ")}): ${(100 * heldOut.perType).toFixed(1)}%.`,
);
