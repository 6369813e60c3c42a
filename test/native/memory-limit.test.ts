// Issue 6, item 6: quantize and assemble stream, so they finish inside a memory cgroup smaller than
// the model they read (and than the file they write). The job runs in a child process in the
// group, with the model evicted from the page cache first so that reading it is charged to the
// group; its output must be byte-identical to the same job run without a limit. Without
// permission to make a cgroup the tests skip and say why. scripts/bench/memory.ts does the same
// with a 2 GiB model (docs/benchmarks.md, "memory").
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { quantize } from "../../lib/ops/quantize.js";
import { slowModel } from "../helpers/fixtures.js";
import { evictFromPageCache, memoryCgroup, pageCacheReason, streamingJobRunner, type MemoryCgroup } from "../helpers/memory-limit.js";
import type { StreamingJob, StreamingJobReport } from "../helpers/streaming-job.js";
import { listing, tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const MiB = 2 ** 20;
const LIMIT = 96 * MiB;
const dir = tempDir();
const onTmpfs = pageCacheReason(dir);
const made = onTmpfs ? { reason: onTmpfs } : memoryCgroup("apreqel-test-memory", LIMIT);
const cannot = "reason" in made ? made.reason : "";
const cgroup = "reason" in made ? undefined : (made as MemoryCgroup);
afterAll(() => cgroup?.remove());

let model = "";
let runner: Awaited<ReturnType<typeof streamingJobRunner>>;
beforeAll(async () => {
  if (cannot) return;
  model = await slowModel();
  runner = await streamingJobRunner(dir);
}, slow(300_000));

async function runLimited(job: StreamingJob, evict: readonly string[]): Promise<StreamingJobReport> {
  for (const f of evict) evictFromPageCache(f);
  const exit = await cgroup!.run(process.execPath, [runner.script, JSON.stringify(job)], runner.env);
  // a kill by the OOM killer shows as SIGKILL with no report
  expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr.slice(-2000) }).toEqual({ code: 0, signal: null, stderr: "" });
  return JSON.parse(exit.stdout.trim().split("\n").pop()!) as StreamingJobReport;
}

describe.skipIf(cannot !== "")(`streaming inside a ${LIMIT / MiB} MiB memory cgroup${cannot ? `: ${cannot}` : ""}`, () => {
  it("quantize reads a model three times the limit and writes the same bytes as without it", async () => {
    expect(statSync(model).size).toBeGreaterThan(3 * LIMIT);
    const free = await quantize({ input: model, output: path.join(dir, "free-q4_K.gguf"), type: "q4_K" });
    const limited = path.join(dir, "limited-q4_K.gguf");
    const report = await runLimited({ op: "quantize", input: model, output: limited, type: "q4_K" }, [model]);
    expect(report.error).toBeUndefined();
    expect(readFileSync(limited).equals(readFileSync(free.output))).toBe(true);
    // the group reached its limit, so the kernel had to reclaim pages of the model to go on
    // (cgroup v2 kernels before 5.19 do not report a peak)
    expect(cgroup!.peakBytes() ?? LIMIT).toBeGreaterThan(LIMIT - 8 * MiB);
    expect(cgroup!.oomKills() ?? 0).toBe(0);
    // what the job holds itself: Node, the addon and llama.cpp's 64 MiB slab of rows
    expect(report.peakAnonBytes).toBeLessThan(LIMIT);
  }, slow(300_000));

  it("assemble writes a mix larger than the limit from sources larger than it", async () => {
    const q8 = await quantize({ input: model, output: path.join(dir, "free-q8_0.gguf"), type: "q8_0" });
    const q4 = path.join(dir, "free-q4_K.gguf");
    const layers = (await inspect(model)).tensors.filter((t) => t.quantizable && t.subLayer);
    const assignment = Object.fromEntries(layers.map((t, i) => [t.name, i % 2 ? "q4_K" : "q8_0"]));
    const sources = { q4_K: q4, q8_0: q8.output };
    const free = await assemble({ base: q8.output, sources, assignment, output: path.join(dir, "free-mix.gguf") });
    expect(free.fileSize).toBeGreaterThan(LIMIT);
    const limited = path.join(dir, "limited-mix.gguf");
    const report = await runLimited({ op: "assemble", base: q8.output, sources, assignment, output: limited }, [q4, q8.output]);
    expect(report.error).toBeUndefined();
    expect(readFileSync(limited).equals(readFileSync(free.output))).toBe(true);
    expect(cgroup!.oomKills() ?? 0).toBe(0);
    expect(report.peakAnonBytes).toBeLessThan(LIMIT);
    // no temp file is left beside the outputs
    expect(listing(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  }, slow(300_000));
});
