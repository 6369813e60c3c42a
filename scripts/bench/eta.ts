// Issue 26: how right the whole run's ETA is. Runs `apreqel quantize MODEL ARGS…` (the compiled
// CLI: `npm run build:ts` first) with plain progress lines, times each line, and prints the ETA's
// error at the first step, the middle of the run and the last step; `--write` puts the table in
// docs/benchmarks.md (section "eta"). Timings are only meaningful on a quiet machine.
//   npx vite-node scripts/bench/eta.ts -- ../shared/models/debian-prose-11m/debian-prose-llama-11M-F16.gguf --ctx 256 [--write]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";
import { formatDuration } from "../../lib/cli/progress.js";
import { etaReadings, etaSummary } from "./eta-lines.js";
import { machine, writeSection } from "./report.js";

const argv = process.argv.slice(2).filter((a) => a !== "--" && a !== "--write");
const write = process.argv.includes("--write");
if (argv.length === 0) throw new Error("usage: eta.ts MODEL [quantize options] [--write]");
const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-eta-"));
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
rmSync(dir, { recursive: true, force: true });
if (code !== 0) throw new Error(`quantize exited with ${code}:\n${lines.slice(-20).map((l) => l.text).join("\n")}`);
const summary = etaSummary(etaReadings(lines, end), 0, end);
const rows = summary.map(
  (s) => `| ${s.at} | ${s.reading.index}: ${s.reading.step} | ${formatDuration(s.reading.atMs)} | ${formatDuration(s.reading.etaMs)} | ${formatDuration(s.reading.leftMs)} | ${Number.isNaN(s.error) ? "—" : `${(100 * s.error).toFixed(0)}%`} |`,
);
const table = [
  `\`apreqel ${args.slice(0, -4).join(" ")}\`, cold cache; ${machine()}; the run took ${formatDuration(end)}, load average ${os.loadavg()[0]!.toFixed(2)} at the end.`,
  "",
  "| when | step | at | ETA shown | really left | error |",
  "|---|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log(table);
if (write) writeSection("eta", `### The whole run's ETA (issue 26)\n\n${table}`);
