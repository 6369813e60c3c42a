// Issue 26: how right the whole run's ETA is. Runs `apreqel quantize MODEL ARGS…` (the compiled
// CLI: `npm run build:ts` first) with plain progress lines, times each line, and prints the ETA's
// error at the first step, the middle of the run and the last step; `--write` puts the table in
// docs/benchmarks.md (section "eta"). It also prints how long each step took, grouped (issue 25: a
// whole default quantize of the 1B fixture, by step). Timings are only meaningful on a quiet machine.
//   npx vite-node scripts/bench/eta.ts -- ../shared/models/debian-prose-11m/debian-prose-llama-11M-F16.gguf --ctx 256 [--write]
//   npx vite-node scripts/bench/eta.ts -- MODEL --section quantize-1b --keep DIR --write
// --section NAME: the docs section to write (default eta); --keep DIR: the cache, the output and the
// progress lines (lines.json) stay in DIR (a later warm run, e.g. scripts/bench/cache-verify.ts, reuses them).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";
import { formatDuration } from "../../lib/cli/progress.js";
import { etaReadings, etaSummary, stepGroup, stepTimes } from "./eta-lines.js";
import { machine, writeSection } from "./report.js";

const raw = process.argv.slice(2).filter((a) => a !== "--" && a !== "--write");
const write = process.argv.includes("--write");
const own = (flag: string): string | undefined => {
  const i = raw.indexOf(flag);
  if (i < 0) return undefined;
  const value = raw[i + 1];
  if (value === undefined) throw new Error(`${flag} needs a value`);
  raw.splice(i, 2);
  return value;
};
const section = own("--section") ?? "eta";
const keep = own("--keep");
const argv = raw;
if (argv.length === 0) throw new Error("usage: eta.ts MODEL [quantize options] [--section NAME] [--keep DIR] [--write]");
const dir = keep !== undefined ? path.resolve(keep) : mkdtempSync(path.join(os.tmpdir(), "apreqel-eta-"));
mkdirSync(dir, { recursive: true });
const loadAtStart = os.loadavg();
const args = ["quantize", ...argv, "-o", path.join(dir, "out.gguf"), "--cache-dir", path.join(dir, "cache")];
const lines: { atMs: number; text: string }[] = [];
const start = performance.now();
const child = spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
let buffer = "";
child.stderr.on("data", (d: Buffer) => {
  buffer += String(d);
  let nl: number;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    lines.push({ atMs: performance.now() - start, text: buffer.slice(0, nl) });
    buffer = buffer.slice(nl + 1);
  }
});
const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
const end = performance.now() - start;
const loadAtEnd = os.loadavg();
if (keep === undefined) rmSync(dir, { recursive: true, force: true });
else writeFileSync(path.join(dir, "lines.json"), JSON.stringify({ endMs: end, lines }));
if (code !== 0) throw new Error(`quantize exited with ${code}:\n${lines.slice(-20).map((l) => l.text).join("\n")}`);
const summary = etaSummary(etaReadings(lines, end), 0, end);
const rows = summary.map(
  (s) => `| ${s.at} | ${s.reading.index}: ${s.reading.step} | ${formatDuration(s.reading.atMs)} | ${formatDuration(s.reading.etaMs)} | ${formatDuration(s.reading.leftMs)} | ${Number.isNaN(s.error) ? "—" : `${(100 * s.error).toFixed(0)}%`} |`,
);
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
const times = stepTimes(lines, end);
const groups = new Map<string, { ms: number; steps: number }>();
for (const t of times) {
  const g = groups.get(stepGroup(t.step)) ?? { ms: 0, steps: 0 };
  groups.set(stepGroup(t.step), { ms: g.ms + t.ms, steps: g.steps + 1 });
}
const table = [
  `\`apreqel ${args.slice(0, -4).join(" ")}\`, cold cache; ${machine()}; the run took **${formatDuration(end)}**; load average (1/5/15 min) ${load(loadAtStart)} at the start, ${load(loadAtEnd)} at the end.`,
  "",
  "| by step | steps | time | share |",
  "|---|---:|---:|---:|",
  ...[...groups].sort((a, b) => b[1].ms - a[1].ms).map(([g, v]) => `| ${g} | ${v.steps} | ${formatDuration(v.ms)} | ${((100 * v.ms) / end).toFixed(1)}% |`),
  `| before the first step (loading, counting the work) | | ${formatDuration(end - times.reduce((a, t) => a + t.ms, 0))} | |`,
  "",
  "<details><summary>Every step</summary>",
  "",
  "| step | time |",
  "|---|---:|",
  ...times.map((t) => `| ${t.index}: ${t.step} | ${formatDuration(t.ms)} |`),
  "",
  "</details>",
  "",
  "The whole run's ETA (issue 26):",
  "",
  "| when | step | at | ETA shown | really left | error |",
  "|---|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log(table);
if (write) writeSection(section, `### ${section === "eta" ? "The whole run's ETA (issue 26)" : `A whole default quantize, by step (${section})`}\n\n${table}`);
