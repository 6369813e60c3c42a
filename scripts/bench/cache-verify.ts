// Cost of the cache's content verification (issue 22): target ≤ 5% of a warm
// `quantize --no-measure` on a cached 1B-shaped uniform set. NEEDS A QUIET MACHINE: its timings
// mean nothing while anything else runs.
//
//   npx vite-node scripts/bench/cache-verify.ts [--shape llama-3.2-1b] [--rounds 5] [--types q8_0,q4_K] [--dir DIR] [--write]
//
// One cold run fills the cache (uniform files, calibration pass, probes, profile), then `rounds`
// interleaved rounds of:
//   warm      a warm `quantize --no-measure` (every entry found; files verified by their marks)
//   verify    the verification alone, in process: Cache.get of every entry (marks intact: a stat per file)
//   stale     verify after removing every verified.json (each file hashed again: what a copied or
//             fleet-shared cache costs once)
// Prints the medians and verify / warm (the target's ratio) as a markdown table.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cache } from "../../lib/cache/cache.js";
import { cacheKey, type CacheKeyInputs } from "../../lib/cache/key.js";
import { packageRoot } from "../../lib/core/package.js";
import { median } from "../../lib/method/latency-protocol.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../../lib/ops/fixtures.js";
import { machine, writeSection } from "./report.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
const shapeName = arg("shape", "llama-3.2-1b") as keyof typeof FIXTURE_SHAPES;
if (!(shapeName in FIXTURE_SHAPES)) throw new Error(`--shape: one of ${Object.keys(FIXTURE_SHAPES).join(", ")}`);
const rounds = Number(arg("rounds", "5"));
const types = arg("types", "q8_0,q4_K");
const dir = path.resolve(arg("dir", path.join(os.tmpdir(), `apreqel-bench-cache-verify-${shapeName}`)));
mkdirSync(dir, { recursive: true });

const model = path.join(dir, `${shapeName}.gguf`);
if (!existsSync(model)) await writeRandomModel({ output: model, ...FIXTURE_SHAPES[shapeName], seed: 1 });
const cacheDir = path.join(dir, "cache");
const args = ["quantize", model, "-o", path.join(dir, "mix.gguf"), "--force", "--no-measure", "--types", types, "--cache-dir", cacheDir, "--ctx", "128", "--chunks", "2", "--probe-chunks", "2", "--n-gen", "16", "--n-prompt", "64", "--reps", "1"];

async function cli(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`apreqel ${args.join(" ")} exited ${code}:\n${stderr}`);
  return (performance.now() - started) / 1000;
}

function entryKeys(): CacheKeyInputs[] {
  return readdirSync(path.join(cacheDir, "entries")).map((id) => (JSON.parse(readFileSync(path.join(cacheDir, "entries", id, "manifest.json"), "utf8")) as { inputs: CacheKeyInputs }).inputs);
}

async function verifyAll(): Promise<number> {
  const cache = await Cache.open({ dir: cacheDir }); // (opening is not verification: not timed)
  const started = performance.now();
  for (const inputs of entryKeys()) if ((await cache.get(cacheKey(inputs))) === undefined) throw new Error(`entry ${cacheKey(inputs).id} did not verify`);
  return (performance.now() - started) / 1000;
}

const loadAtStart = os.loadavg();
console.log(`cold run (fills ${cacheDir}) …`);
const cold = await cli();
const bytes = readdirSync(path.join(cacheDir, "entries")).reduce(
  (s, id) => s + (JSON.parse(readFileSync(path.join(cacheDir, "entries", id, "manifest.json"), "utf8")) as { totalBytes: number }).totalBytes,
  0,
);
const warm: number[] = [];
const verify: number[] = [];
const stale: number[] = [];
for (let r = 0; r < rounds; r++) {
  warm.push(await cli());
  verify.push(await verifyAll());
  for (const id of readdirSync(path.join(cacheDir, "entries"))) rmSync(path.join(cacheDir, "entries", id, "verified.json"), { force: true });
  stale.push(await verifyAll()); // (rewrites the marks: the next round's warm run is warm again)
}
const m = { warm: median(warm), verify: median(verify), stale: median(stale) };
// each median with the range of its rounds: the spread is the noise a difference must beat
const cell = (xs: readonly number[], digits: number) => `${median(xs).toFixed(digits)} s (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const text = [
  `\`npx vite-node scripts/bench/cache-verify.ts --shape ${shapeName} --rounds ${rounds} --types ${types}\` on ${machine()}; load average ${loadAtStart.map((x) => x.toFixed(2)).join(" / ")} at the start, ${os.loadavg().map((x) => x.toFixed(2)).join(" / ")} at the end (1/5/15 min; nothing else ran).`,
  `${shapeName} shape (random weights, F16), types ${types}: ${entryKeys().length} cache entries, ${(bytes / 2 ** 30).toFixed(2)} GiB cached; the cold run that filled them took ${cold.toFixed(1)} s. Medians over ${rounds} interleaved rounds (range in brackets):`,
  "",
  "| warm quantize --no-measure | verification (marks intact) | verification (marks stale: every file hashed) | verification / warm run |",
  "|---|---|---|---|",
  `| ${cell(warm, 2)} | ${cell(verify, 3)} | ${cell(stale, 2)} | **${((100 * m.verify) / m.warm).toFixed(2)}%** (target ≤ 5%) |`,
].join("\n");
console.log(`\n${text}`);
if (process.argv.includes("--write")) writeSection("cache-verify", `## Cost of verifying the cache (issue 22)\n\n${text}`);
