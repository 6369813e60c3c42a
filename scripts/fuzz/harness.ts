// The fuzzer's machinery, shared by the long-run script (scripts/fuzz/gguf.ts) and the CI slice
// (test/native/fuzz.test.ts): fixtures, the bundled child runner, one child process per case, and
// the classification of what came back.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomModel } from "../../lib/fixtures.js";
import { binding } from "../../lib/native/binding.js";
import { packageRoot } from "../../lib/native/loader.js";
import { quantize } from "../../lib/quantize.js";
import { type Category, type Fixture, type FuzzCase, type TypeSizes, loadFixture } from "./mutations.js";
import { CALLS, type CaseResult, RESULT_MARK } from "./protocol.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Small fixtures (2 blocks, n_embd 256) in F16, F32 and q4_K, cached in `dir`. */
export async function prepareFixtures(dir: string): Promise<Fixture[]> {
  mkdirSync(dir, { recursive: true });
  const shape = { nEmbd: 256, nFf: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nCtx: 256 };
  const files: Record<string, string> = {};
  for (const type of ["f16", "f32"] as const) {
    files[type] = path.join(dir, `fuzz-${type}.gguf`);
    if (!existsSync(files[type]!)) await writeRandomModel({ output: files[type]!, ...shape, type, seed: 7 });
  }
  files.q4_K = path.join(dir, "fuzz-q4_K.gguf");
  if (!existsSync(files.q4_K)) await quantize({ input: files.f16!, output: files.q4_K, type: "q4_K" });
  return Object.entries(files).map(([name, file]) => loadFixture(name, file, readFileSync(file)));
}

export function typeSizes(): TypeSizes {
  return new Map(binding().ggmlTypes().map((t) => [t.id, [t.blockSize, t.typeSize] as const]));
}

/** Bundles run-case.ts into one ES module (so each child starts in ~100 ms, not a TS loader's seconds). */
export async function bundleRunner(outDir: string): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = path.join(outDir, "run-case.mjs");
  await build({ entryPoints: [path.join(here, "run-case.ts")], bundle: true, platform: "node", format: "esm", target: "node20", outfile, logLevel: "error" });
  return outfile;
}

export type Verdict = "success" | "rejected" | "crash" | "hang" | "bad-rejection";

export interface CaseReport {
  readonly id: number;
  readonly fixture: string;
  readonly category: Category;
  readonly label: string;
  readonly fileSize: number;
  readonly verdict: Verdict;
  readonly result?: CaseResult;
  /** for crashes and hangs: exit code or signal and the end of stderr */
  readonly exit?: string;
  readonly stderr?: string;
  readonly seconds: number;
}

export interface RunOptions {
  readonly runner: string;
  readonly workDir: string;
  readonly jobs: number;
  readonly timeoutMs: number;
  /** copy the files of crashing cases here */
  readonly keepDir?: string;
  readonly onCase?: (report: CaseReport) => void;
}

const addon = path.join(packageRoot, "build", "Release", "apreqel.node");

/** Runs one case in a child process and classifies the outcome. */
export async function runCase(c: FuzzCase, slot: string, o: RunOptions): Promise<CaseReport> {
  mkdirSync(slot, { recursive: true });
  const file = path.join(slot, "case.gguf");
  const bytes = c.build();
  writeFileSync(file, bytes);
  const started = performance.now();
  const child = spawn(process.execPath, [o.runner, file, slot], {
    env: { ...process.env, APREQEL_ADDON: process.env.APREQEL_ADDON ?? addon },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout = (stdout + d.toString()).slice(-1_000_000)));
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, o.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (code, signal) => resolve([code, signal])));
  clearTimeout(timer);
  const base = { id: c.id, fixture: c.fixture, category: c.category, label: c.label, fileSize: bytes.length, seconds: (performance.now() - started) / 1000 };
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARK));
  const exit = signal ? `signal ${signal}` : `exit ${code}`;
  let report: CaseReport;
  if (timedOut) report = { ...base, verdict: "hang", exit, stderr: stderr.slice(-4000) };
  else if (!line || code !== 0) report = { ...base, verdict: "crash", exit, stderr: stderr.slice(-4000) };
  else {
    const result = JSON.parse(line.slice(RESULT_MARK.length)) as CaseResult;
    const outcomes = CALLS.map((k) => result.calls[k]);
    const clean = outcomes.every((r) => r !== undefined && (r.ok || (r.error === true && (r.message ?? "").trim().length > 0)));
    report = { ...base, verdict: !clean ? "bad-rejection" : outcomes.every((r) => r?.ok) ? "success" : "rejected", result };
  }
  if ((report.verdict === "crash" || report.verdict === "hang") && o.keepDir) {
    mkdirSync(o.keepDir, { recursive: true });
    copyFileSync(file, path.join(o.keepDir, `case-${c.id}.gguf`));
  }
  return report;
}

/** Runs the cases `jobs` at a time. */
export async function runCases(cases: readonly FuzzCase[], o: RunOptions): Promise<CaseReport[]> {
  const reports: CaseReport[] = [];
  let next = 0;
  const worker = async (k: number) => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const r = await runCase(c, path.join(o.workDir, `slot-${k}`), o);
      reports.push(r);
      o.onCase?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, (_, k) => worker(k)));
  return reports.sort((a, b) => a.id - b.id);
}

export interface Summary {
  readonly cases: number;
  readonly byVerdict: Record<Verdict, number>;
  readonly byCategory: Record<string, Record<Verdict, number>>;
  /** per call: resolved / rejected over the cases that reported */
  readonly byCall: Record<string, { resolved: number; rejected: number }>;
  /** largest peak RSS of any child, and the largest peak RSS over (base + file size) */
  readonly maxRssMb: number;
  readonly controlRssMb: number;
  readonly worstRssOverFile: { ratio: number; id: number; label: string; rssMb: number; fileMb: number } | null;
}

const emptyVerdicts = (): Record<Verdict, number> => ({ success: 0, rejected: 0, crash: 0, hang: 0, "bad-rejection": 0 });

export function summarize(reports: readonly CaseReport[]): Summary {
  const byVerdict = emptyVerdicts();
  const byCategory: Record<string, Record<Verdict, number>> = {};
  const byCall: Record<string, { resolved: number; rejected: number }> = Object.fromEntries(CALLS.map((c) => [c, { resolved: 0, rejected: 0 }]));
  let maxRss = 0;
  let controlRss = 0;
  for (const r of reports) {
    byVerdict[r.verdict]++;
    (byCategory[r.category] ??= emptyVerdicts())[r.verdict]++;
    for (const [call, outcome] of Object.entries(r.result?.calls ?? {})) byCall[call]![outcome.ok ? "resolved" : "rejected"]++;
    const rss = (r.result?.maxRssKb ?? 0) / 1024;
    maxRss = Math.max(maxRss, rss);
    if (r.category === "control") controlRss = Math.max(controlRss, rss);
  }
  // the bound we state: peak RSS ≤ (the largest valid control's peak) + k × file size
  let worst: Summary["worstRssOverFile"] = null;
  for (const r of reports) {
    if (!r.result || r.category === "control") continue;
    const rssMb = r.result.maxRssKb / 1024;
    const fileMb = r.fileSize / 2 ** 20;
    const ratio = Math.max(0, rssMb - controlRss) / Math.max(fileMb, 1);
    if (!worst || ratio > worst.ratio) worst = { ratio, id: r.id, label: r.label, rssMb, fileMb };
  }
  return { cases: reports.length, byVerdict, byCategory, byCall, maxRssMb: maxRss, controlRssMb: controlRss, worstRssOverFile: worst };
}

export function defaultWorkDir(seed: number): string {
  return path.join(os.tmpdir(), `apreqel-fuzz-${process.getuid?.() ?? 0}-s${seed}`);
}
