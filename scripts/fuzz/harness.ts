// The fuzzer's machinery, shared by the long-run script (scripts/fuzz/gguf.ts) and the CI slice
// (test/native/fuzz.test.ts): fixtures, the bundled child runner, one child process per case, and
// the classification of what came back.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomModel } from "../../lib/ops/fixtures.js";
import { binding } from "../../lib/native/binding.js";
import { packageRoot } from "../../lib/core/package.js";
import { quantize } from "../../lib/ops/quantize.js";
import { type Category, type Fixture, type FuzzCase, type TypeSizes, loadFixture } from "./mutations.js";
import { CALLS, type CaseResult, RESULT_MARK } from "./protocol.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Small fixtures (2 blocks, n_embd 256) in F16, F32 and q4_K, cached in `dir`. `vocab` takes the
 * tokenizer from another GGUF (default llama.cpp's 32k SentencePiece vocab): a small one makes
 * files of a few MiB, so a long run spends its time on cases rather than on copying 66 MiB each.
 */
export async function prepareFixtures(dir: string, vocab?: string): Promise<Fixture[]> {
  if (vocab !== undefined) dir = path.join(dir, path.basename(vocab, ".gguf"));
  mkdirSync(dir, { recursive: true });
  const shape = { nEmbd: 256, nFf: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nCtx: 256 };
  const files: Record<string, string> = {};
  for (const type of ["f16", "f32"] as const) {
    files[type] = path.join(dir, `fuzz-${type}.gguf`);
    if (!existsSync(files[type]!)) await writeRandomModel({ output: files[type]!, ...shape, type, seed: 7, ...(vocab !== undefined ? { vocab } : {}) });
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
  /** the addon the children load (snapshotAddon) */
  readonly addon: string;
  readonly workDir: string;
  readonly jobs: number;
  readonly timeoutMs: number;
  /** copy the files of crashing cases here */
  readonly keepDir?: string;
  readonly onCase?: (report: CaseReport) => void;
}

/**
 * A private copy of the addon for the children: a rebuild during a long run must not swap the
 * binary under them (a half-replaced .node dies with SIGBUS at load, which is not the file's fault).
 */
export function snapshotAddon(outDir: string): string {
  const source = process.env.APREQEL_ADDON ?? path.join(packageRoot, "build", "Release", "apreqel.node");
  const copy = path.join(outDir, "apreqel.node");
  copyFileSync(source, copy);
  return copy;
}

/** Runs one case in a child process and classifies the outcome. */
export async function runCase(c: FuzzCase, slot: string, o: RunOptions): Promise<CaseReport> {
  mkdirSync(slot, { recursive: true });
  const file = path.join(slot, "case.gguf");
  const bytes = c.build();
  writeFileSync(file, bytes);
  const started = performance.now();
  const child = spawn(process.execPath, [o.runner, file, slot], {
    env: { ...process.env, APREQEL_ADDON: o.addon },
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
  /** peak RSS of the children: the smallest (node + addon, nothing parsed) and the largest */
  readonly minRssMb: number;
  readonly maxRssMb: number;
  /** the largest (peak − smallest peak − RSS_SLACK_MB) / file size: peak ≤ min + slack + k · file size */
  readonly rssPerFileByte: { k: number; id: number; label: string; rssMb: number; fileMb: number } | null;
}

/** allocator and V8 noise allowed on top of the baseline before the file size counts */
export const RSS_SLACK_MB = 16;

const emptyVerdicts = (): Record<Verdict, number> => ({ success: 0, rejected: 0, crash: 0, hang: 0, "bad-rejection": 0 });

export function summarize(reports: readonly CaseReport[]): Summary {
  const byVerdict = emptyVerdicts();
  const byCategory: Record<string, Record<Verdict, number>> = {};
  const byCall: Record<string, { resolved: number; rejected: number }> = Object.fromEntries(CALLS.map((c) => [c, { resolved: 0, rejected: 0 }]));
  const peaks: Array<[CaseReport, number]> = [];
  for (const r of reports) {
    byVerdict[r.verdict]++;
    (byCategory[r.category] ??= emptyVerdicts())[r.verdict]++;
    for (const [call, outcome] of Object.entries(r.result?.calls ?? {})) byCall[call]![outcome.ok ? "resolved" : "rejected"]++;
    if (r.result) peaks.push([r, r.result.maxRssKb / 1024]);
  }
  const minRss = Math.min(...peaks.map(([, p]) => p));
  const maxRss = Math.max(...peaks.map(([, p]) => p));
  let worst: Summary["rssPerFileByte"] = null;
  for (const [r, rssMb] of peaks) {
    const fileMb = r.fileSize / 2 ** 20;
    const k = Math.max(0, rssMb - minRss - RSS_SLACK_MB) / Math.max(fileMb, 1 / 1024);
    if (!worst || k > worst.k) worst = { k, id: r.id, label: r.label, rssMb, fileMb };
  }
  return { cases: reports.length, byVerdict, byCategory, byCall, minRssMb: minRss, maxRssMb: maxRss, rssPerFileByte: worst };
}

export function defaultWorkDir(seed: number): string {
  return path.join(os.tmpdir(), `apreqel-fuzz-${process.getuid?.() ?? 0}-s${seed}`);
}

/** The tables of docs/reliability.md. */
export function renderMarkdown(s: Summary): string {
  const verdicts: Verdict[] = ["success", "rejected", "crash", "hang", "bad-rejection"];
  const lines = [
    `| category | cases | ${verdicts.join(" | ")} |`,
    `|---|---:|${verdicts.map(() => "---:").join("|")}|`,
  ];
  for (const [category, v] of Object.entries(s.byCategory)) {
    const n = verdicts.reduce((a, k) => a + v[k], 0);
    lines.push(`| ${category} | ${n} | ${verdicts.map((k) => v[k]).join(" | ")} |`);
  }
  lines.push(`| **all** | **${s.cases}** | ${verdicts.map((k) => `**${s.byVerdict[k]}**`).join(" | ")} |`, "");
  lines.push("| call | resolved | rejected (Error) |", "|---|---:|---:|");
  for (const [call, c] of Object.entries(s.byCall)) lines.push(`| ${call} | ${c.resolved} | ${c.rejected} |`);
  return lines.join("\n");
}
