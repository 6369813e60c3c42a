// Issue 2 benchmarks: quantize vs llama-quantize, assemble vs cp and vs quantizing the same mix.
//   node scripts/build-native.mjs --tools && npx vite-node scripts/bench/native.ts [--reps 3]
// Writes the "native" section of docs/benchmarks.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assemble } from "../../lib/ops/assemble.js";
import { writeRandomModel } from "../../lib/ops/fixtures.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { llamaTool } from "../shared/tools.js";
import { machine, median, writeSection } from "./report.js";

const reps = Number(process.argv[process.argv.indexOf("--reps") + 1] || 3);
const threads = os.cpus().length;
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-"));
const tool = llamaTool("llama-quantize");
if (!tool) throw new Error("build the tools first: node scripts/build-native.mjs --tools");

const shape = { nEmbd: 1024, nFf: 2816, nLayer: 8, nHead: 16, nHeadKv: 4 };
const model = await writeRandomModel({ output: path.join(dir, "model-f16.gguf"), ...shape, type: "f16" });
const time = async (f: () => Promise<unknown> | unknown) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

const rows: string[] = [];
for (const type of ["q4_K", "q8_0"] as const) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < reps; r++) {
    // interleaved so drift in machine speed hits both alike
    const a = path.join(dir, `ours-${type}.gguf`);
    const b = path.join(dir, `tool-${type}.gguf`);
    rmSync(a, { force: true });
    rmSync(b, { force: true });
    ours.push(await time(() => quantize({ input: model, output: a, type, threads })));
    theirs.push(await time(() => execFileSync(tool, ["--pure", model, b, type.toUpperCase(), String(threads)], { stdio: "ignore" })));
  }
  rows.push(`| quantize → ${type} (pure) | ${median(ours).toFixed(2)} s | ${median(theirs).toFixed(2)} s | ${(median(ours) / median(theirs)).toFixed(3)} |`);
}

// assemble a mix from the uniform files vs cp of a file of the same size vs quantizing the mix
const q4 = await quantize({ input: model, output: path.join(dir, "u-q4_K.gguf"), type: "q4_K", threads });
const q8 = await quantize({ input: model, output: path.join(dir, "u-q8_0.gguf"), type: "q8_0", threads });
const info = await inspect(model);
const assignment: Record<string, string> = {};
const overrides: Record<string, string> = {};
info.tensors.forEach((t, i) => {
  if (!t.quantizable) return;
  const type = t.subLayer && i % 2 === 0 ? "q4_K" : "q8_0";
  assignment[t.name] = type;
  overrides[t.name] = type;
});
const asm: number[] = [];
const cps: number[] = [];
const requant: number[] = [];
let size = 0;
for (let r = 0; r < reps; r++) {
  const out = path.join(dir, "mix.gguf");
  rmSync(out, { force: true });
  asm.push(await time(async () => (size = (await assemble({ base: q8.output, sources: { q4_K: q4.output, q8_0: q8.output }, assignment, output: out })).fileSize)));
  const copy = path.join(dir, "copy.gguf");
  rmSync(copy, { force: true });
  cps.push(await time(() => execFileSync("sh", ["-c", `cp "${out}" "${copy}" && sync "${copy}"`])));
  const rq = path.join(dir, "mix-requant.gguf");
  rmSync(rq, { force: true });
  requant.push(await time(() => quantize({ input: model, output: rq, type: "q8_0", overrides, threads })));
}
const mb = size / 2 ** 20;
rmSync(dir, { recursive: true, force: true });

writeSection(
  "native",
  `## Native core (issue 2)

\`node scripts/build-native.mjs --tools && npx vite-node scripts/bench/native.ts --reps ${reps}\` — ${machine()}.
Model: random-weight llama fixture, F16, n_embd ${shape.nEmbd}, n_ff ${shape.nFf}, ${shape.nLayer} blocks, 32k vocab (${(info.fileSize / 2 ** 20).toFixed(0)} MiB). Medians of ${reps} interleaved runs, ${threads} threads.

| operation | apreqel | llama-quantize | ratio (target ≤ 1.05) |
|---|---:|---:|---:|
${rows.join("\n")}

| mixed model (${mb.toFixed(0)} MiB, q4_K/q8_0) | time | throughput |
|---|---:|---:|
| \`assemble\` from the uniform files (fsync included) | ${median(asm).toFixed(2)} s | ${(mb / median(asm)).toFixed(0)} MiB/s |
| \`cp\` + \`sync\` of the same file | ${median(cps).toFixed(2)} s | ${(mb / median(cps)).toFixed(0)} MiB/s |
| \`quantize\` of the same mix from F16 | ${median(requant).toFixed(2)} s | |

assemble runs at ${((mb / median(asm)) / (mb / median(cps))).toFixed(2)}× cp's throughput (target ≥ 0.5×) and ${(median(requant) / median(asm)).toFixed(1)}× faster than requantizing the mix.`,
);
console.log("wrote the native section of docs/benchmarks.md");
