// Issue 16, check of the per-unit latency model: on random-weight models of real shapes
// (Llama-3.2-1B-like and Qwen3-0.6B-like), the uniform files and ≥ 10 mixes across the range are
// measured together with the noise-aware protocol (interleaved rounds, medians with
// distribution-free intervals, busy flag), then each mix's measured decode and prefill latency is
// compared with
//   - the per-unit model: fixed + scale · Σ_u c(u, type(u)), c from matmulBench on this machine,
//     fixed and scale fitted on the uniform files only;
//   - today's parameter-share split (the `weighted` estimator of lib/method/estimators.ts).
// Then, on the --hv-shape model (the 1B shape), the front's latency-first choices: cost tables
// built from the first run's uniform measurements (latency column: parameter share, and the
// per-unit model; accuracy column 0: random weights have no accuracy to trade), one TOPSIS choice
// per weighting (memory 1 − w, latency w, accuracy 0) for each --hv-weights w, per criterion;
// the choices are assembled and measured in a second interleaved run together with the uniform
// set and llama.cpp's presets, and the 2-D hypervolume (memory × latency, normalised by the
// uniform set's min and max, reference (1, 1)) of each set is reported.
//   npx vite-node scripts/bench/latency-model.ts [--shapes llama-3.2-1b,qwen3-0.6b] [--blocks 4|all]
//     [--mixes 10] [--rounds 6] [--stream-mib 64] [--n-gen 16] [--n-prompt 64]
//     [--types q8_0,q6_K,q5_K,q4_K,q3_K] [--threads N] [--presets Q3_K_M,Q4_K_M,Q5_K_M]
//     [--hv-shape llama-3.2-1b|none] [--hv-weights 0.5,0.6,0.8,1] [--no-write]
//     [--dir DIR]   keep each shape's f16, uniform and preset files in DIR/<shape>-<blocks> and reuse
//                   them on the next run (quantization dominates on a small machine); mixes are rebuilt
//     (vite-node run under APREQEL_ADDON=… to use a specific build of the addon)
// Prints a markdown block (the result to paste) and writes the "latency-model" section of
// docs/benchmarks.md unless --no-write.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assemble } from "../../lib/ops/assemble.js";
import { FIXTURE_SHAPES, writeRandomModel, type FixtureArchitecture } from "../../lib/ops/fixtures.js";
import { inspect, type ModelInfo } from "../../lib/ops/inspect.js";
import { chooseOnFront } from "../../lib/method/choose.js";
import type { CostTable } from "../../lib/method/cost-table.js";
import { buildBoundaryTables, estimateFromTables } from "../../lib/method/estimators.js";
import { paretoFront } from "../../lib/method/front.js";
import { hypervolume, nonDominated } from "../../lib/method/hypervolume.js";
import type { LayerName } from "../../lib/method/layers.js";
import { costKey, fitForTable, fitLatency, predictLatency, relativeErrors, unitShapes, unitSum, withUnitLatency, type LatencyFit, type UnitTensor } from "../../lib/method/latency-model.js";
import { costTableFromProfile } from "../../lib/method/profile-costs.js";
import type { GgmlType } from "../../lib/method/types.js";
import { matmulBench } from "../../lib/ops/matmul-bench.js";
import { measureInterleaved, type LatencyMetrics } from "../../lib/pipeline/measure-file.js";
import { tensorAssignment } from "../../lib/pipeline/mixed.js";
import { PROMPT_UBATCH } from "../../lib/pipeline/unit-latency.js";
import { DEFAULT_NON_LAYER_TYPE } from "../../lib/pipeline/uniform.js";
import { quantize } from "../../lib/ops/quantize.js";
import { prng } from "../shared/prng.js";
import { machine, median, writeSection } from "./report.js";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
type ShapeName = keyof typeof FIXTURE_SHAPES;
const shapeNames = arg("shapes", arg("shape", "llama-3.2-1b,qwen3-0.6b")).split(",") as ShapeName[];
for (const s of shapeNames) if (!FIXTURE_SHAPES[s]) throw new Error(`--shapes: each one of ${Object.keys(FIXTURE_SHAPES).join(", ")} (got ${s})`);
// the architecture whose tensor layout each shape stands for (qwen3: q/k norms)
const ARCH: Partial<Record<ShapeName, FixtureArchitecture>> = { "qwen3-0.6b": "qwen3" };
const blocksArg = arg("blocks", "4");
const mixCount = Number(arg("mixes", "10"));
const rounds = Number(arg("rounds", "6"));
const nGen = Number(arg("n-gen", "16"));
const nPrompt = Number(arg("n-prompt", "64"));
const threads = Number(arg("threads", String(os.availableParallelism())));
const streamMiB = Number(arg("stream-mib", "64"));
const types = arg("types", "q8_0,q6_K,q5_K,q4_K,q3_K").split(",") as GgmlType[];
const presetNames = arg("presets", "Q3_K_M,Q4_K_M,Q5_K_M").split(",").filter((p) => p !== "");
const hvShape = arg("hv-shape", "llama-3.2-1b");
const hvWeights = arg("hv-weights", "0.5,0.6,0.8,1").split(",").map(Number);
const write = !process.argv.includes("--no-write");
const keep = process.argv.includes("--dir") ? path.resolve(arg("dir", "")) : null;
const started = Date.now();
const log = (msg: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${msg}`);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
const loadStart = loadavg();

type Phase = "decode" | "prefill";
const PHASES: readonly Phase[] = ["decode", "prefill"];
const metricOf = (phase: Phase) => (m: LatencyMetrics) => (phase === "decode" ? m.latencyMsPerToken : m.promptMsPerToken!.median);
const intervalOf = (phase: Phase, m: LatencyMetrics) => (phase === "decode" ? m.latencyInterval! : m.promptMsPerToken!);
const bytesOf = (info: ModelInfo) => info.tensors.reduce((a, t) => a + t.bytes, 0);
const unitTensors = (info: ModelInfo): UnitTensor[] => info.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape }));

const sections: string[] = [];
let first: LatencyMetrics | undefined;
const cleanup: string[] = [];
try {
  for (const shapeName of shapeNames) sections.push(await runShape(shapeName));
  const cmd = `npx vite-node scripts/bench/latency-model.ts --shapes ${shapeNames.join(",")} --blocks ${blocksArg} --mixes ${mixCount} --rounds ${rounds} --n-gen ${nGen} --n-prompt ${nPrompt} --threads ${threads} --stream-mib ${streamMiB} --types ${types.join(",")} --presets ${presetNames.join(",")} --hv-shape ${hvShape} --hv-weights ${hvWeights.join(",")}`;
  const md = `## Per-unit latency model (issue 16)

\`${cmd}\` — ${machine()}, CPU build, ${threads} threads, ${((Date.now() - started) / 60000).toFixed(1)} min; load average (1/5/15 min) ${loadStart} at the start, ${loadavg()} at the end.
Models: random weights (latency does not depend on the values), llama-spm vocabulary (32k, not the real 128k / 151k), token embeddings and output in ${DEFAULT_NON_LAYER_TYPE} in the uniform files and mixes.
Every measurement: warm-up, then ${rounds} interleaved rounds of tg${nGen} + pp${nPrompt}; medians with distribution-free intervals (coverage ${first ? (100 * first.latencyInterval!.coverage).toFixed(1) : "?"}%).

${sections.join("\n\n")}`;
  console.log("\n----- result (paste into docs/benchmarks.md between the bench:latency-model markers) -----\n");
  console.log(md);
  if (write) writeSection("latency-model", md);
} finally {
  for (const f of cleanup) rmSync(f, { recursive: true, force: true });
}

async function runShape(shapeName: ShapeName): Promise<string> {
  const full = FIXTURE_SHAPES[shapeName];
  const blocks = blocksArg === "all" ? full.nLayer : Number(blocksArg);
  const arch = ARCH[shapeName] ?? "llama";
  const dir = keep ? path.join(keep, `${shapeName}-${blocks}`) : mkdtempSync(path.join(os.tmpdir(), "apreqel-latency-model-"));
  mkdirSync(dir, { recursive: true });
  // the mixes and choices are rebuilt every run (and removed as soon as they are measured: a
  // full-size model's files take gigabytes each); without --dir the whole folder goes at the end
  const mixFiles = [...Array(mixCount).keys()].map((m) => path.join(dir, `mix-${m}.gguf`));
  cleanup.push(...(keep ? [...mixFiles, path.join(dir, "choices")] : [dir]));
  const shapeStarted = Date.now();

  // 1. the model and its uniform files (non-layer tensors in q8_0 in every file, as `profile` does)
  const shape = { ...full, nLayer: blocks };
  const f16 = path.join(dir, "f16.gguf");
  if (!existsSync(f16)) await writeRandomModel({ output: f16, ...shape, arch, type: "f16" });
  const reused = (await inspect(f16)).blockCount;
  if (reused !== blocks) throw new Error(`${f16} has ${reused} blocks, not ${blocks}: use another --dir`);
  const uniform = new Map<GgmlType, string>();
  for (const type of types) {
    const out = path.join(dir, `${type}.gguf`);
    if (!existsSync(out)) await quantize({ input: f16, output: out, type, tokenEmbeddingType: DEFAULT_NON_LAYER_TYPE, outputType: DEFAULT_NON_LAYER_TYPE, threads });
    uniform.set(type, out);
  }
  log(`${shapeName}: ${blocks} blocks, quantized ${types.join(", ")}`);
  const info = await inspect(uniform.get(types[0]!)!);
  const layers = info.layers.map((l) => l.name);

  // 2. mixes across the range: a seeded random ranking and split per mix, allocated as plan()
  // allocates (the first z_0 ranked layers get the least aggressive type, …), so today's
  // estimator prices exactly these files
  const rand = prng(16);
  const mixes: { name: string; ranking: LayerName[]; counts: number[]; file: string }[] = [];
  for (let m = 0; m < mixCount; m++) {
    const ranking = [...layers].sort(() => rand() - 0.5);
    // a tilt from mostly least aggressive (m = 0) to mostly most aggressive (m = last)
    const tilt = mixCount === 1 ? 0.5 : m / (mixCount - 1);
    const w = types.map((_, j) => Math.exp(-4 * Math.abs(j / (types.length - 1) - tilt)) * (0.3 + rand()));
    const total = w.reduce((a, b) => a + b, 0);
    const counts = w.map((x) => Math.floor((x / total) * layers.length));
    counts[counts.indexOf(Math.max(...counts))]! += layers.length - counts.reduce((a, b) => a + b, 0);
    const allocation: Partial<Record<LayerName, GgmlType>> = {};
    let r = 0;
    counts.forEach((c, j) => {
      for (let i = 0; i < c; i++) allocation[ranking[r++]!] = types[j]!;
    });
    const file = path.join(dir, `mix-${m}.gguf`);
    await assemble({ base: uniform.get(types[0]!)!, sources: Object.fromEntries(uniform), assignment: tensorAssignment(info, allocation as Record<LayerName, GgmlType>), output: file });
    mixes.push({ name: `mix ${m} (${counts.join("/")})`, ranking, counts, file });
  }
  log(`${shapeName}: assembled ${mixes.length} mixes`);

  // 3. unit costs on this machine: decode (batch 1) and prefill (the prompt batch, one ubatch)
  const infos = new Map<string, ModelInfo>();
  for (const f of [...uniform.values(), ...mixes.map((m) => m.file)]) infos.set(f, await inspect(f));
  const shapes = unitShapes([...infos.values()].flatMap((i) => i.tensors));
  const prefillBatch = Math.min(nPrompt, PROMPT_UBATCH);
  const timings = await matmulBench({ shapes, batches: [1, prefillBatch], reps: 5, threads, streamMiB });
  const unitCost: Record<Phase, Map<string, number>> = { decode: new Map(), prefill: new Map() };
  for (const t of timings) (t.batch === 1 ? unitCost.decode : unitCost.prefill).set(costKey(t.type, t.k, t.n), median(t.samplesMs) / t.batch);
  const buffers = [...new Set(timings.map((t) => `${t.type}: ${t.buffer}`))].join(", ");
  log(`${shapeName}: timed ${timings.length} matmuls (${buffers})`);

  // 4. every file measured together by the protocol
  const files = [...types.map((t) => ({ name: `uniform ${t}`, file: uniform.get(t)! })), ...mixes.map((m) => ({ name: m.name, file: m.file }))];
  const measured: LatencyMetrics[] = await measureInterleaved(files, { nGen, nPrompt, reps: rounds, threads, gpuLayers: 0 });
  first ??= measured[0];
  log(`${shapeName}: measured ${files.length} files`);
  for (const f of mixFiles) rmSync(f, { force: true });

  // 5. fit on the uniform files, predict the mixes; today's estimator for comparison
  const layerParams: Partial<Record<LayerName, number>> = {};
  for (const l of info.layers) layerParams[l.name] = l.parameters;
  const profileOf = (phase: Phase) => ({
    types: Object.fromEntries(
      types.map((t, i) => {
        const u = infos.get(uniform.get(t)!)!;
        return [t, { memoryBytes: bytesOf(u), latencyMsPerToken: metricOf(phase)(measured[i]!), perplexity: 1, layerBytes: Object.fromEntries(u.layers.map((l) => [l.name, l.bytes])) }];
      }),
    ),
    layerParams,
  });
  const rows: string[] = [];
  const summary: string[] = [];
  const fitted: Partial<Record<Phase, LatencyFit>> = {};
  for (const phase of PHASES) {
    const metric = metricOf(phase);
    const sum = files.map((f) => unitSum(infos.get(f.file)!.tensors, unitCost[phase]));
    const points = types.map((_, i) => ({ unitSumMs: sum[i]!, measuredMs: metric(measured[i]!) }));
    const fits: Record<string, LatencyFit> = { affine: fitLatency(points, "affine"), offset: fitLatency(points, "offset") };
    fitted[phase] = fitForTable(points);
    const profile = profileOf(phase);
    const mixMeasured = mixes.map((_, k) => metric(measured[types.length + k]!));
    const model = Object.fromEntries(Object.entries(fits).map(([mode, fit]) => [mode, mixes.map((_, k) => predictLatency(fit, sum[types.length + k]!))]));
    const share = mixes.map((m) => estimateFromTables(buildBoundaryTables({ profile, types, ranking: m.ranking, estimator: "weighted" }), m.counts).latencyMsPerToken);
    const e = { affine: relativeErrors(model["affine"]!, mixMeasured), offset: relativeErrors(model["offset"]!, mixMeasured), share: relativeErrors(share, mixMeasured) };
    summary.push(
      `| ${phase} | ${pct(e.affine.mean)} / ${pct(e.affine.worst)} | ${pct(e.offset.mean)} / ${pct(e.offset.worst)} | ${pct(e.share.mean)} / ${pct(e.share.worst)} | fixed ${fits["affine"]!.fixedMs.toFixed(3)} ms, scale ${fits["affine"]!.scale.toFixed(3)}; uniform residuals ${fits["affine"]!.residualsMs.map((r) => r.toFixed(3)).join(", ")} ms |`,
    );
    mixes.forEach((m, k) => {
      const iv = intervalOf(phase, measured[types.length + k]!);
      rows.push(`| ${phase} | ${m.name} | ${mixMeasured[k]!.toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | ${model["affine"]![k]!.toFixed(3)} (${pct(e.affine.each[k]!)}) | ${share[k]!.toFixed(3)} (${pct(e.share.each[k]!)}) |`);
    });
    types.forEach((t, i) => {
      const iv = intervalOf(phase, measured[i]!);
      rows.push(`| ${phase} | uniform ${t} | ${metric(measured[i]!).toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | fit point | — |`);
    });
  }
  const verdict = measured[0]!.latencyMachine!;
  let md = `### ${shapeName} shape

Model: ${arch} layout, ${shapeName} block shape (n_embd ${shape.nEmbd}, n_ff ${shape.nFf}, ${shape.nHead}/${shape.nHeadKv} heads) with **${blocks} of ${full.nLayer} blocks**.
Files: ${types.length} uniform + ${mixes.length} mixes (seeded random ranking and split per mix, tilted from mostly ${types[0]} to mostly ${types[types.length - 1]}), all measured together.
Machine during the run: **${verdict.busy ? "busy" : "idle"}**${verdict.reasons.length > 0 ? ` (${verdict.reasons.join("; ")})` : ""}.
Unit costs: matmulBench, ${shapes.length} (type, shape) pairs at batch 1 and ${prefillBatch}; weight buffers ${buffers}.

Mean / worst |error| of the mixes' predicted latency (target: mean ≤ 3%, worst ≤ 6%):

| phase | per-unit model (fixed + scale·Σc) | per-unit model (fixed + Σc) | parameter-share split (today) | fit on the uniform files |
|---|---:|---:|---:|---|
${summary.join("\n")}

<details><summary>${shapeName}: per file (ms per token, measured median [interval], prediction (error))</summary>

| phase | file | measured | per-unit model | parameter share |
|---|---|---:|---:|---:|
${rows.join("\n")}

</details>`;

  if (shapeName === hvShape) md += `\n\n${await hypervolumeCheck({ shapeName, dir, f16, info, uniform, infos, profileOf, unitCost, fitted: fitted as Record<Phase, LatencyFit> })}`;
  log(`${shapeName}: done in ${((Date.now() - shapeStarted) / 60000).toFixed(1)} min`);
  return md;
}

/**
 * The front's latency-first choices against the uniform set and llama.cpp's presets, in the
 * memory × latency plane, all measured in one interleaved run.
 */
async function hypervolumeCheck(o: {
  shapeName: string;
  dir: string;
  f16: string;
  info: ModelInfo;
  uniform: Map<GgmlType, string>;
  infos: Map<string, ModelInfo>;
  profileOf: (phase: Phase) => Parameters<typeof costTableFromProfile>[0]["profile"];
  unitCost: Record<Phase, Map<string, number>>;
  fitted: Record<Phase, LatencyFit>;
}): Promise<string> {
  // the front's choices per criterion and latency column
  const tensorsOf = new Map(o.info.layers.map((l) => [l.name as string, l.tensors]));
  const uniformTensors = Object.fromEntries(types.map((t) => [t, unitTensors(o.infos.get(o.uniform.get(t)!)!)]));
  const choiceDir = path.join(o.dir, "choices");
  mkdirSync(choiceDir, { recursive: true });
  const byMix = new Map<string, { file: string; label: string }>();
  const choices: { phase: Phase; column: "share" | "unit"; w: number; file: string; predicted: number }[] = [];
  for (const phase of PHASES) {
    const shareTable = costTableFromProfile({ profile: o.profileOf(phase), types });
    const base: CostTable = { ...shareTable, units: shareTable.units.map((u) => ({ ...u, tensors: tensorsOf.get(u.name) ?? [] })) };
    const tables = { share: base, unit: withUnitLatency(base, { files: uniformTensors, costs: o.unitCost[phase], fit: o.fitted[phase] }) };
    for (const column of ["share", "unit"] as const) {
      const front = paretoFront(tables[column]);
      for (const w of hvWeights) {
        const choice = chooseOnFront(front, { weights: { memory: Number((1 - w).toFixed(6)), latency: w, accuracy: 0 } });
        const key = JSON.stringify(choice.assignment);
        let entry = byMix.get(key);
        if (!entry) {
          entry = { file: path.join(choiceDir, `choice-${byMix.size}.gguf`), label: `choice ${byMix.size}` };
          await assemble({ base: o.uniform.get(types[0]!)!, sources: Object.fromEntries(o.uniform), assignment: tensorAssignment(o.info, choice.assignment as Record<LayerName, GgmlType>), output: entry.file });
          byMix.set(key, entry);
        }
        choices.push({ phase, column, w, file: entry.file, predicted: choice.estimate.latencyMsPerToken });
      }
    }
  }
  // llama.cpp's presets from the same f16 (their own non-layer types, as a user would get them)
  const presets = new Map<string, string>();
  for (const preset of presetNames) {
    const out = path.join(o.dir, `preset-${preset}.gguf`);
    if (!existsSync(out)) await quantize({ input: o.f16, output: out, preset, threads });
    presets.set(preset, out);
  }
  log(`${o.shapeName}: ${byMix.size} distinct front choices, ${presets.size} presets`);
  const files = [
    ...types.map((t) => ({ name: `uniform ${t}`, file: o.uniform.get(t)! })),
    ...[...presets].map(([p, file]) => ({ name: p, file })),
    ...[...byMix.values()].map((c) => ({ name: c.label, file: c.file })),
  ];
  const measured = await measureInterleaved(files, { nGen, nPrompt, reps: rounds, threads, gpuLayers: 0 });
  const memory = await Promise.all(files.map(async (f) => bytesOf(await inspect(f.file))));
  log(`${o.shapeName}: measured ${files.length} files for the hypervolume`);
  rmSync(choiceDir, { recursive: true, force: true });
  const at = new Map(files.map((f, i) => [f.file, i]));
  const nU = types.length;
  const uniformIdx = types.map((_, i) => i);
  const presetIdx = [...presets.values()].map((f) => at.get(f)!);
  const lines: string[] = [];
  const detail: string[] = [];
  for (const phase of PHASES) {
    const lat = measured.map(metricOf(phase));
    const mins = [Math.min(...uniformIdx.map((i) => memory[i]!)), Math.min(...uniformIdx.map((i) => lat[i]!))];
    const maxs = [Math.max(...uniformIdx.map((i) => memory[i]!)), Math.max(...uniformIdx.map((i) => lat[i]!))];
    const norm = (i: number) => [(memory[i]! - mins[0]!) / (maxs[0]! - mins[0]! || 1), (lat[i]! - mins[1]!) / (maxs[1]! - mins[1]! || 1)];
    const hv = (idx: readonly number[]) => hypervolume(idx.map(norm), [1, 1]);
    const hvU = hv(uniformIdx);
    const hvUP = hv([...uniformIdx, ...presetIdx]);
    const uniformFront = nonDominated(uniformIdx.map(norm)).map((k) => uniformIdx[k]!);
    for (const column of ["share", "unit"] as const) {
      const mine = choices.filter((c) => c.phase === phase && c.column === column);
      const idx = [...new Set(mine.map((c) => at.get(c.file)!))];
      const dominatedBy = (i: number, pool: readonly number[]) => pool.filter((j) => memory[j]! <= memory[i]! && lat[j]! <= lat[i]! && (memory[j]! < memory[i]! || lat[j]! < lat[i]!)).map((j) => files[j]!.name);
      const beyond = idx.filter((i) => dominatedBy(i, uniformFront).length === 0).length;
      const hvC = hv(idx);
      const hvAll = hv([...uniformIdx, ...presetIdx, ...idx]);
      const err = relativeErrors(mine.map((c) => c.predicted), mine.map((c) => lat[at.get(c.file)!]!));
      lines.push(
        `| ${phase} | ${column} | ${idx.length} | ${beyond} of ${idx.length} | ${hvU.toFixed(4)} | ${hvUP.toFixed(4)} | ${hvC.toFixed(4)} | ${hvAll.toFixed(4)} (${hvUP > 0 ? `${hvAll >= hvUP ? "+" : ""}${pct((hvAll - hvUP) / hvUP)}` : "n/a"}) | ${pct(err.mean)} / ${pct(err.worst)} |`,
      );
      for (const c of mine) {
        const i = at.get(c.file)!;
        const iv = intervalOf(phase, measured[i]!);
        const dom = dominatedBy(i, [...uniformIdx, ...presetIdx]);
        detail.push(`| ${phase} | ${column} | ${c.w} | ${files[i]!.name} | ${(memory[i]! / 2 ** 20).toFixed(1)} | ${lat[i]!.toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | ${c.predicted.toFixed(3)} | ${dom.length === 0 ? "—" : dom.join(", ")} |`);
      }
    }
    for (const i of [...uniformIdx, ...presetIdx]) {
      const iv = intervalOf(phase, measured[i]!);
      detail.push(`| ${phase} | — | — | ${files[i]!.name} | ${(memory[i]! / 2 ** 20).toFixed(1)} | ${lat[i]!.toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | — | — |`);
    }
  }
  const verdict = measured[0]!.latencyMachine!;
  return `#### ${o.shapeName}: the front's latency-first choices, memory × latency (2-D hypervolume)

Cost tables from the first run's uniform measurements (sub-layer units; latency column: parameter share, or the per-unit model fitted above; accuracy column 0, as random weights have no accuracy to trade); one TOPSIS choice per weighting memory 1 − w, latency w, accuracy 0 for w ∈ {${hvWeights.join(", ")}}; the ${nU} uniform files, the presets ${presetNames.join(", ")} and the ${byMix.size} distinct choices measured together in a second interleaved run. Machine: **${verdict.busy ? "busy" : "idle"}**${verdict.reasons.length > 0 ? ` (${verdict.reasons.join("; ")})` : ""}. Memory: tensor bytes. Hypervolume: each axis normalised by the uniform set's min and max, reference (1, 1); points beyond the uniform extremes count.

| latency | front's latency column | choices | not dominated by the uniform front | HV uniform | HV uniform ∪ presets | HV choices | HV uniform ∪ presets ∪ choices (vs uniform ∪ presets) | predicted vs measured: mean / worst \\|error\\| |
|---|---|---:|---:|---:|---:|---:|---:|---:|
${lines.join("\n")}

<details><summary>${o.shapeName}: each point (memory MiB, ms per token median [interval], the table's prediction, dominated by)</summary>

| latency | column | w | file | MiB | measured | predicted | dominated by (uniform, presets) |
|---|---|---:|---|---:|---:|---:|---|
${detail.join("\n")}

</details>`;
}
