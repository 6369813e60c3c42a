// Issue 16, check of the per-unit latency model: on a random-weight model of a real shape, the
// uniform files and ≥ 10 mixes across the range are measured together with the noise-aware
// protocol (interleaved rounds, medians with distribution-free intervals, busy flag), then each
// mix's measured decode and prefill latency is compared with
//   - the per-unit model: fixed + scale · Σ_u c(u, type(u)), c from matmulBench on this machine,
//     fixed and scale fitted on the uniform files only;
//   - today's parameter-share split (the `weighted` estimator of lib/method/estimators.ts).
//   npx vite-node scripts/bench/latency-model.ts [--shape llama-3.2-1b] [--blocks 4] [--mixes 10]
//     [--rounds 6] [--stream-mib 64] [--n-gen 16] [--n-prompt 64] [--types q8_0,q6_K,q5_K,q4_K,q3_K] [--threads N] [--no-write]
//     [--dir DIR]   keep the f16 and uniform files in DIR and reuse them on the next run (the
//                   quantizations dominate the run time on a small machine); mixes are rebuilt
//     (vite-node run under APREQEL_ADDON=… to use a specific build of the addon)
// Writes the "latency-model" section of docs/benchmarks.md.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assemble } from "../../lib/ops/assemble.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../../lib/ops/fixtures.js";
import { inspect, type ModelInfo } from "../../lib/ops/inspect.js";
import { buildBoundaryTables, estimateFromTables } from "../../lib/method/estimators.js";
import type { LayerName } from "../../lib/method/layers.js";
import { costKey, fitLatency, predictLatency, relativeErrors, unitShapes, unitSum, type LatencyFit } from "../../lib/method/latency-model.js";
import type { GgmlType } from "../../lib/method/types.js";
import { matmulBench } from "../../lib/ops/matmul-bench.js";
import { measureInterleaved, type LatencyMetrics } from "../../lib/pipeline/measure-file.js";
import { tensorAssignment } from "../../lib/pipeline/mixed.js";
import { DEFAULT_NON_LAYER_TYPE } from "../../lib/pipeline/uniform.js";
import { quantize } from "../../lib/ops/quantize.js";
import { prng } from "../shared/prng.js";
import { machine, writeSection } from "./report.js";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const shapeName = arg("shape", "llama-3.2-1b") as keyof typeof FIXTURE_SHAPES;
const full = FIXTURE_SHAPES[shapeName];
if (!full) throw new Error(`--shape: one of ${Object.keys(FIXTURE_SHAPES).join(", ")}`);
const blocks = Number(arg("blocks", "4"));
const mixCount = Number(arg("mixes", "10"));
const rounds = Number(arg("rounds", "6"));
const nGen = Number(arg("n-gen", "16"));
const nPrompt = Number(arg("n-prompt", "64"));
const threads = Number(arg("threads", String(os.availableParallelism())));
const streamMiB = Number(arg("stream-mib", "64"));
const types = arg("types", "q8_0,q6_K,q5_K,q4_K,q3_K").split(",") as GgmlType[];
const write = !process.argv.includes("--no-write");
const started = Date.now();
const log = (msg: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${msg}`);

const keep = process.argv.includes("--dir") ? path.resolve(arg("dir", "")) : null;
if (keep) mkdirSync(keep, { recursive: true });
const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), "apreqel-latency-model-"));
try {
  // 1. the model and its uniform files (non-layer tensors in q8_0 in every file, as `profile` does)
  const shape = { ...full, nLayer: blocks };
  const f16 = path.join(dir, "f16.gguf");
  if (!existsSync(f16)) await writeRandomModel({ output: f16, ...shape, type: "f16" });
  const uniform = new Map<GgmlType, string>();
  for (const type of types) {
    const out = path.join(dir, `${type}.gguf`);
    if (!existsSync(out)) await quantize({ input: f16, output: out, type, tokenEmbeddingType: DEFAULT_NON_LAYER_TYPE, outputType: DEFAULT_NON_LAYER_TYPE, threads });
    uniform.set(type, out);
    log(`quantized ${type}`);
  }
  const reused = (await inspect(f16)).blockCount;
  if (reused !== blocks) throw new Error(`${f16} has ${reused} blocks, not --blocks ${blocks}: use another --dir`);
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
    const assignment = tensorAssignment(info, allocation as Record<LayerName, GgmlType>);
    const file = path.join(dir, `mix-${m}.gguf`);
    await assemble({ base: uniform.get(types[0]!)!, sources: Object.fromEntries(uniform), assignment, output: file });
    mixes.push({ name: `mix ${m} (${counts.join("/")})`, ranking, counts, file });
  }
  log(`assembled ${mixes.length} mixes`);

  // 3. unit costs on this machine: decode (batch 1) and prefill (the prompt batch, one ubatch)
  const infos = new Map<string, ModelInfo>();
  for (const f of [...uniform.values(), ...mixes.map((m) => m.file)]) infos.set(f, await inspect(f));
  const shapes = unitShapes([...infos.values()].flatMap((i) => i.tensors));
  const prefillBatch = Math.min(nPrompt, 512);
  const timings = await matmulBench({ shapes, batches: [1, prefillBatch], reps: 5, threads, streamMiB });
  const med = (v: readonly number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  const decodeCost = new Map<string, number>();
  const prefillCost = new Map<string, number>();
  for (const t of timings) (t.batch === 1 ? decodeCost : prefillCost).set(costKey(t.type, t.k, t.n), t.batch === 1 ? med(t.samplesMs) : med(t.samplesMs) / t.batch);
  const buffers = [...new Set(timings.map((t) => `${t.type}: ${t.buffer}`))].join(", ");
  log(`timed ${timings.length} matmuls (${buffers})`);

  // 4. every file measured together by the protocol
  const files = [...types.map((t) => ({ name: `uniform ${t}`, file: uniform.get(t)! })), ...mixes.map((m) => ({ name: m.name, file: m.file }))];
  const measured: LatencyMetrics[] = await measureInterleaved(files, { nGen, nPrompt, reps: rounds, threads, gpuLayers: 0 });
  log("measured");

  // 5. fit on the uniform files, predict the mixes; today's estimator for comparison
  const decodeMs = (m: LatencyMetrics) => m.latencyMsPerToken;
  const prefillMs = (m: LatencyMetrics) => m.promptMsPerToken!.median;
  const sums = (costs: Map<string, number>) => files.map((f) => unitSum(infos.get(f.file)!.tensors, costs));
  const phases = [
    { phase: "decode", metric: decodeMs, sum: sums(decodeCost) },
    { phase: "prefill", metric: prefillMs, sum: sums(prefillCost) },
  ] as const;
  const layerParams: Partial<Record<LayerName, number>> = {};
  for (const l of info.layers) layerParams[l.name] = l.parameters;
  const rows: string[] = [];
  const summary: string[] = [];
  for (const { phase, metric, sum } of phases) {
    const points = types.map((_, i) => ({ unitSumMs: sum[i]!, measuredMs: metric(measured[i]!) }));
    const fits: Record<string, LatencyFit> = { affine: fitLatency(points, "affine"), offset: fitLatency(points, "offset") };
    const profile = {
      types: Object.fromEntries(
        types.map((t, i) => [t, { memoryBytes: 1, latencyMsPerToken: metric(measured[i]!), perplexity: 1, layerBytes: Object.fromEntries(infos.get(uniform.get(t)!)!.layers.map((l) => [l.name, l.bytes])) }]),
      ),
      layerParams,
    };
    const mixMeasured = mixes.map((_, k) => metric(measured[types.length + k]!));
    const model = Object.fromEntries(Object.entries(fits).map(([mode, fit]) => [mode, mixes.map((_, k) => predictLatency(fit, sum[types.length + k]!))]));
    const share = mixes.map((m) => estimateFromTables(buildBoundaryTables({ profile, types, ranking: m.ranking, estimator: "weighted" }), m.counts).latencyMsPerToken);
    const e = { affine: relativeErrors(model["affine"]!, mixMeasured), offset: relativeErrors(model["offset"]!, mixMeasured), share: relativeErrors(share, mixMeasured) };
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    summary.push(
      `| ${phase} | ${pct(e.affine.mean)} / ${pct(e.affine.worst)} | ${pct(e.offset.mean)} / ${pct(e.offset.worst)} | ${pct(e.share.mean)} / ${pct(e.share.worst)} | fixed ${fits["affine"]!.fixedMs.toFixed(3)} ms, scale ${fits["affine"]!.scale.toFixed(3)}; uniform residuals ${fits["affine"]!.residualsMs.map((r) => r.toFixed(3)).join(", ")} ms |`,
    );
    mixes.forEach((m, k) => {
      const x = measured[types.length + k]!;
      const iv = phase === "decode" ? x.latencyInterval! : x.promptMsPerToken!;
      rows.push(
        `| ${phase} | ${m.name} | ${mixMeasured[k]!.toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | ${model["affine"]![k]!.toFixed(3)} (${pct(e.affine.each[k]!)}) | ${share[k]!.toFixed(3)} (${pct(e.share.each[k]!)}) |`,
      );
    });
    types.forEach((t, i) => {
      const x = measured[i]!;
      const iv = phase === "decode" ? x.latencyInterval! : x.promptMsPerToken!;
      rows.push(`| ${phase} | uniform ${t} | ${metric(x).toFixed(3)} [${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}] | fit point | — |`);
    });
  }
  const verdict = measured[0]!.latencyMachine!;
  const cmd = `npx vite-node scripts/bench/latency-model.ts --shape ${shapeName} --blocks ${blocks} --mixes ${mixCount} --rounds ${rounds} --n-gen ${nGen} --n-prompt ${nPrompt} --threads ${threads} --stream-mib ${streamMiB} --types ${types.join(",")}`;
  const md = `## Per-unit latency model (issue 16)

\`${cmd}\` — ${machine()}, CPU build, ${threads} threads, ${((Date.now() - started) / 60000).toFixed(1)} min.
Model: random weights, ${shapeName} block shape (n_embd ${shape.nEmbd}, n_ff ${shape.nFf}, ${shape.nHead}/${shape.nHeadKv} heads) with **${blocks} of ${full.nLayer} blocks** (quantization time on 2 shared cores), llama-spm vocabulary (32k, not the real 128k), token embeddings and output in ${DEFAULT_NON_LAYER_TYPE}.
Files: ${types.length} uniform + ${mixes.length} mixes (seeded random ranking and split per mix, tilted from mostly ${types[0]} to mostly ${types[types.length - 1]}), all measured together: warm-up, then ${rounds} interleaved rounds of tg${nGen} + pp${nPrompt}; medians with distribution-free intervals (coverage ${(100 * measured[0]!.latencyInterval!.coverage).toFixed(1)}%).
Machine during the run: **${verdict.busy ? "busy" : "idle"}**${verdict.reasons.length > 0 ? ` (${verdict.reasons.join("; ")})` : ""}.
Unit costs: matmulBench, ${shapes.length} (type, shape) pairs at batch 1 and ${prefillBatch}; weight buffers ${buffers}.

Mean / worst |error| of the mixes' predicted latency (target: mean ≤ 3%, worst ≤ 6%):

| phase | per-unit model (fixed + scale·Σc) | per-unit model (fixed + Σc) | parameter-share split (today) | fit on the uniform files |
|---|---:|---:|---:|---|
${summary.join("\n")}

<details><summary>Per file (ms per token, measured median [interval], prediction (error))</summary>

| phase | file | measured | per-unit model | parameter share |
|---|---|---:|---:|---:|
${rows.join("\n")}

</details>`;
  console.log(md);
  if (write) writeSection("latency-model", md);
} finally {
  if (keep) for (let m = 0; m < mixCount; m++) rmSync(path.join(dir, `mix-${m}.gguf`), { force: true });
  else rmSync(dir, { recursive: true, force: true });
}
