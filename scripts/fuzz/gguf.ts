// Fuzzes every call that reads a GGUF (inspect, quantize, assemble, captureSimilarity, perplexity)
// with mutated fixture files, one child process per case (issue 6, item 1).
//   npx vite-node scripts/fuzz/gguf.ts --cases 2000 --seed 1 [--jobs 2] [--timeout 120] [--out DIR] [--vocab V.gguf]
// Prints a summary (and writes summary.json, cases.jsonl and the files of crashing cases to DIR);
// exits non-zero when any case crashed, hung or was rejected with something other than an Error.
import { mkdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildCases } from "./mutations.js";
import { bundleRunner, defaultWorkDir, prepareFixtures, renderMarkdown, runCases, snapshotAddon, summarize, typeSizes } from "./harness.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} expects a whole number ≥ 0, got ${process.argv[i + 1]}`);
  return v;
}

const count = arg("cases", 2000);
const seed = arg("seed", 1);
const jobs = arg("jobs", os.cpus().length);
const timeoutMs = arg("timeout", 120) * 1000;
const vocabIndex = process.argv.indexOf("--vocab");
const vocab = vocabIndex >= 0 ? path.resolve(process.argv[vocabIndex + 1]!) : undefined;
const outIndex = process.argv.indexOf("--out");
const out = outIndex >= 0 ? path.resolve(process.argv[outIndex + 1]!) : defaultWorkDir(seed);

mkdirSync(out, { recursive: true });
const fixtures = await prepareFixtures(path.join(os.tmpdir(), `apreqel-fuzz-fixtures-${process.getuid?.() ?? 0}`), vocab);
const cases = buildCases(fixtures, typeSizes(), seed, count);
const runner = await bundleRunner(out);
const addon = snapshotAddon(out);
const log = path.join(out, "cases.jsonl");
rmSync(log, { force: true });
const started = performance.now();
let done = 0;
console.log(`fuzzing ${cases.length} cases (seed ${seed}, ${jobs} at a time) from ${fixtures.map((f) => `${f.name} ${(f.bytes.length / 2 ** 20).toFixed(1)} MiB`).join(", ")}; results in ${out}`);
const reports = await runCases(cases, {
  runner,
  addon,
  workDir: path.join(out, "work"),
  jobs,
  timeoutMs,
  keepDir: path.join(out, "crashes"),
  onCase: (r) => {
    appendFileSync(log, JSON.stringify(r) + "\n");
    done++;
    if (r.verdict === "crash" || r.verdict === "hang" || r.verdict === "bad-rejection") {
      console.log(`case ${r.id} [${r.fixture} ${r.label}]: ${r.verdict} (${r.exit ?? ""})\n${(r.stderr ?? "").slice(-1500)}`);
    }
    if (done % 50 === 0) console.log(`${done}/${cases.length} cases, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  },
});
rmSync(path.join(out, "work"), { recursive: true, force: true });
const summary = summarize(reports);
writeFileSync(path.join(out, "summary.json"), JSON.stringify({ seed, count, jobs, seconds: (performance.now() - started) / 1000, ...summary }, null, 2));
console.log(JSON.stringify(summary, null, 2));
console.log(renderMarkdown(summary));
const failed = summary.byVerdict.crash + summary.byVerdict.hang + summary.byVerdict["bad-rejection"];
process.exitCode = failed > 0 ? 1 : 0;
