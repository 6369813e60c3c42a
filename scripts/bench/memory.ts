// Issue 6, item 6: quantize and assemble a model much larger than the memory they are given.
//   npx vite-node scripts/bench/memory.ts [--limit-mib 128] [--blocks 16]
// A random-weight F16 model of Llama-3.2-1B's block shape (2.5 GB with 16 blocks) is quantized and
// assembled twice: freely, and in a child process inside a memory cgroup of --limit-mib, with the
// inputs evicted from the page cache first so that reading them is charged to the group. The two
// outputs must be byte-identical. Needs root (to make the cgroup). Writes the "memory" section of
// docs/benchmarks.md.
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assemble } from "../../lib/ops/assemble.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../../lib/ops/fixtures.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { evictFromPageCache, memoryCgroup, pageCacheReason, streamingJobRunner } from "../shared/memory-limit.js";
import type { StreamingJob, StreamingJobReport } from "../shared/streaming-job.js";
import { machine, writeSection } from "./report.js";

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback);
const MiB = 2 ** 20;
const limit = arg("limit-mib", 128) * MiB;
const blocks = arg("blocks", 16);
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-bench-memory-"));
const shape = { ...FIXTURE_SHAPES["llama-3.2-1b"], nLayer: blocks };

const sha = (file: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file).on("data", (d) => h.update(d)).on("end", () => resolve(h.digest("hex"))).on("error", reject);
  });
const mb = (bytes: number) => (bytes / MiB).toFixed(0);

try {
  const onTmpfs = pageCacheReason(dir);
  if (onTmpfs) throw new Error(onTmpfs);
  const runner = await streamingJobRunner(dir);
  const model = await writeRandomModel({ output: path.join(dir, "model-f16.gguf"), ...shape, type: "f16" });
  const rows: string[] = [];

  async function compare(label: string, job: StreamingJob, free: () => Promise<string>, inputs: readonly string[]) {
    const t0 = performance.now();
    const reference = await free();
    const freeSeconds = (performance.now() - t0) / 1000;
    const group = memoryCgroup(`apreqel-bench-memory-${rows.length}`, limit);
    if ("reason" in group) throw new Error(group.reason);
    try {
      for (const f of inputs) evictFromPageCache(f);
      const exit = await group.run(process.execPath, [runner.script, JSON.stringify(job)], runner.env);
      if (exit.code !== 0) throw new Error(`${label} in the cgroup ended with ${exit.signal ?? exit.code}: ${exit.stderr.slice(-500)}`);
      const report = JSON.parse(exit.stdout.trim().split("\n").pop()!) as StreamingJobReport;
      if (!report.ok) throw new Error(`${label} in the cgroup failed: ${report.error}`);
      const same = (await sha(reference)) === (await sha(job.output));
      const read = inputs.reduce((s, f) => s + statSync(f).size, 0);
      rows.push(
        `| ${label} | ${mb(read)} | ${mb(statSync(job.output).size)} | ${mb(limit)} | ${mb(group.peakBytes() ?? 0)} | ${group.oomKills() ?? "?"} | ${mb(report.peakAnonBytes)} | ${freeSeconds.toFixed(1)} | ${report.seconds.toFixed(1)} | ${same ? "yes" : "**no**"} |`,
      );
      if (!same) throw new Error(`${label}: the output made in the cgroup differs from the free run`);
    } finally {
      group.remove();
    }
  }

  const q4 = path.join(dir, "free-q4_K.gguf");
  await compare("quantize F16 → q4_K", { op: "quantize", input: model, output: path.join(dir, "limited-q4_K.gguf"), type: "q4_K" }, async () => (await quantize({ input: model, output: q4, type: "q4_K" })).output, [model]);
  const q8 = path.join(dir, "free-q8_0.gguf");
  await compare("quantize F16 → q8_0", { op: "quantize", input: model, output: path.join(dir, "limited-q8_0.gguf"), type: "q8_0" }, async () => (await quantize({ input: model, output: q8, type: "q8_0" })).output, [model]);
  rmSync(path.join(dir, "limited-q4_K.gguf"));
  rmSync(path.join(dir, "limited-q8_0.gguf"));
  const layers = (await inspect(model)).tensors.filter((t) => t.quantizable && t.subLayer);
  const assignment = Object.fromEntries(layers.map((t, i) => [t.name, i % 2 ? "q4_K" : "q8_0"]));
  const sources = { q4_K: q4, q8_0: q8 };
  await compare(
    "assemble q4_K/q8_0 mix",
    { op: "assemble", base: q8, sources, assignment, output: path.join(dir, "limited-mix.gguf") },
    async () => (await assemble({ base: q8, sources, assignment, output: path.join(dir, "free-mix.gguf") })).output,
    [q4, q8],
  );

  writeSection(
    "memory",
    `## Streaming memory bound (issue 6, item 6)

\`npx vite-node scripts/bench/memory.ts --limit-mib ${limit / MiB} --blocks ${blocks}\` — ${machine()}.
Model: random-weight llama, Llama-3.2-1B's block shape with ${blocks} blocks, 32k vocab, F16 (${mb(statSync(model).size)} MiB). Each job runs twice: in this process without a limit, then in a child process inside a memory cgroup of ${mb(limit)} MiB (anonymous memory and page cache together; no swap), after its inputs were evicted from the page cache. "peak (group)" is the cgroup's own high-water mark; "peak anon" is the child's largest RssAnon, sampled every 5 ms (Node, the addon and the job's buffers, without the page cache of the files).

| job | read (MiB) | written (MiB) | limit (MiB) | peak (group, MiB) | OOM kills | peak anon (MiB) | free (s) | in the cgroup (s) | same bytes |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

The jobs read and write files many times the memory they are given and produce the same bytes. Quantization holds one slab of rows (\`max_buf_size\` = 64 MiB: source rows, their F32 conversion and the quantized rows), and the model is mmapped, so pages already read are dropped under pressure; assemble copies tensors through an 8 MiB buffer. The bound on what a job holds is therefore about Node + addon (~45 MiB) + 64 MiB, whatever the model's size.`,
  );
  console.log(rows.join("\n"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
