// Child process entry for the memory-limit test and benchmark (bundled with esbuild, run with
// node inside a memory cgroup): runs one quantize or assemble and prints one JSON line with its
// peak anonymous memory, i.e. what the job itself holds, apart from the page cache of the files.
//   node streaming-job.mjs '{"op":"quantize","input":…,"output":…,"type":"q4_K"}'
//   node streaming-job.mjs '{"op":"assemble","base":…,"sources":{…},"assignment":{…},"output":…}'
import { readFileSync } from "node:fs";
import { assemble } from "../../lib/ops/assemble.js";
import { quantize } from "../../lib/ops/quantize.js";

export type StreamingJob =
  | { readonly op: "quantize"; readonly input: string; readonly output: string; readonly type: string; readonly threads?: number }
  | {
      readonly op: "assemble";
      readonly base: string;
      readonly sources: Readonly<Record<string, string>>;
      readonly assignment: Readonly<Record<string, string>>;
      readonly output: string;
    };

export interface StreamingJobReport {
  readonly ok: boolean;
  readonly error?: string;
  readonly seconds: number;
  /** peak RssAnon sampled every 5 ms (the job's own allocations) */
  readonly peakAnonBytes: number;
  /** VmHWM: peak resident set, mapped file pages included */
  readonly hwmBytes: number;
}

function status(key: string): number {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith(`${key}:`));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
}

if (process.argv[2]) {
  const job = JSON.parse(process.argv[2]) as StreamingJob;
  let peakAnon = status("RssAnon");
  // the native work runs off the event loop, so the sampler keeps running while it works
  const timer = setInterval(() => (peakAnon = Math.max(peakAnon, status("RssAnon"))), 5);
  const t0 = performance.now();
  let error: string | undefined;
  try {
    if (job.op === "quantize") await quantize({ input: job.input, output: job.output, type: job.type as "q4_K", ...(job.threads ? { threads: job.threads } : {}) });
    else await assemble({ base: job.base, sources: job.sources, assignment: job.assignment, output: job.output });
  } catch (e) {
    error = (e as Error).message;
  }
  clearInterval(timer);
  peakAnon = Math.max(peakAnon, status("RssAnon"));
  const report: StreamingJobReport = {
    ok: error === undefined,
    ...(error !== undefined ? { error } : {}),
    seconds: (performance.now() - t0) / 1000,
    peakAnonBytes: peakAnon,
    hwmBytes: status("VmHWM"),
  };
  console.log(JSON.stringify(report));
}
