// Benchmark of the front optimizer (issue 15): paretoFront() over a cost table
// of 450 units × 8 types (a 64-block model at tensor granularity: 7 tensors per
// block, plus token embeddings and output), then chooseOnFront() for the 28
// paper weightings. Each grid runs in its own child process so peak RSS is its
// own (children get --expose-gc to measure the heap from a collected start).
//
//   npx vite-node scripts/bench/front.ts
//
// Prints a markdown table (paste into docs/benchmarks.md). The costs are
// synthetic but shaped like a measured table (bytes exact from bits per
// weight, Δ falling with bits per weight and varying by unit, latency ∝ bytes
// with a per-type compute factor); the cost of the search does not depend on
// the values, only on units × types × grid cells. The gap column is
// certified: max over front points of KLD − the LP lower bound at its size.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { median } from "../../lib/method/latency-protocol.js";
import {
  PAPER_WEIGHTINGS,
  chooseOnFront,
  kldLowerBound,
  paretoFront,
  parseCostTable,
  type CostTable,
  type GgmlType,
} from "../../lib/method/index.js";
import { prng } from "../shared/prng.js";

const TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "iq4_xs", "q3_K", "iq3_s", "q2_K"];
const BPW: Record<string, number> = { q8_0: 8.5, q6_K: 6.5625, q5_K: 5.5, q4_K: 4.5, iq4_xs: 4.25, q3_K: 3.4375, iq3_s: 3.4375, q2_K: 2.625 };
// ms per GB read, per type: the i-quants decode slower on CPU (illustrative).
const COMPUTE: Record<string, number> = { q8_0: 1, q6_K: 1.15, q5_K: 1.12, q4_K: 1.05, iq4_xs: 1.3, q3_K: 1.2, iq3_s: 1.6, q2_K: 1.25 };

// Qwen2.5-32B-like shapes: hidden 5120, 1024-wide K/V, FFN 27648, vocabulary 152064.
export function table(blocks: number): CostTable {
  const random = prng(15);
  const h = 5120;
  const kinds: [string, number][] = [
    ["attn_q", h * h], ["attn_k", h * 1024], ["attn_v", h * 1024], ["attn_output", h * h],
    ["ffn_gate", h * 27648], ["ffn_up", h * 27648], ["ffn_down", h * 27648],
  ];
  const units: { name: string; params: number; kind: string; block: number }[] = [{ name: "token_embd", params: 152064 * h, kind: "token_embd", block: -1 }];
  for (let b = 0; b < blocks; b++) for (const [kind, params] of kinds) units.push({ name: `blk.${b}.${kind}`, params, kind, block: b });
  units.push({ name: "output", params: 152064 * h, kind: "output", block: -1 });
  return {
    types: TYPES,
    units: units.map((u) => {
      // Sensitivity per weight: the first and last blocks, attn_v and ffn_down and the output more sensitive.
      const edge = u.block === 0 || u.block === blocks - 1 ? 3 : 1;
      const kind = u.kind === "attn_v" || u.kind === "ffn_down" ? 2 : u.kind === "output" ? 4 : u.kind === "token_embd" ? 0.3 : 1;
      const s = edge * kind * (0.5 + random()) * 1e-12;
      return {
        name: u.name,
        tensors: [`${u.name}.weight`],
        params: u.params,
        costs: Object.fromEntries(
          TYPES.map((t) => {
            const bytes = (u.params * (BPW[t] as number)) / 8;
            const noise = 0.8 + 0.4 * random();
            return [
              t,
              {
                bytes,
                kld: t === "q8_0" ? 0 : s * u.params * 2 ** (-1.6 * (BPW[t] as number) + 12) * noise,
                latencyMs: u.kind === "token_embd" ? 0.001 : (bytes / 1e9) * 10 * (COMPUTE[t] as number) * (0.95 + 0.1 * random()),
              },
            ];
          }),
        ),
      };
    }),
    fixed: { bytes: 2_000_000, latencyMs: 5, kld: 0.002 },
  };
}

interface Measured {
  runsMs: number[];
  cpuMs: number[];
  chooseMs: number;
  heapDeltaMiB: number;
  peakRssMiB: number;
  startRssMiB: number;
  points: number;
  origins: Record<string, number>;
  toleranceRelative: number;
  boundRelative: number;
  gapMedianRelative: number;
  excessMaxRelative: number;
}


function child(memory: number, latency: number, runs: number): Measured {
  const gc = (globalThis as { gc?: () => void }).gc;
  const t = table(64);
  gc?.();
  const startRss = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const runsMs: number[] = [];
  const cpuMs: number[] = [];
  let front = paretoFront(parseCostTable(t), { grid: { memory, latency } });
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    front = paretoFront(parseCostTable(t), { grid: { memory, latency } });
    const used = process.cpuUsage(cpu);
    runsMs.push(performance.now() - start);
    cpuMs.push((used.user + used.system) / 1000);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const chooseStart = performance.now();
  for (const w of PAPER_WEIGHTINGS) chooseOnFront(front, { weights: w.weights });
  const chooseMs = performance.now() - chooseStart;
  const sizes = front.points.map((p) => p.estimate.sizeBytes);
  const range = Math.max(...sizes) - Math.min(...sizes);
  // Certified gap of each DP point (hull points have none): its KLD minus the LP lower bound at its
  // size, relative to its KLD. It includes the integrality gap (whole units), so it overstates the DP's own error.
  const gaps = front.points.filter((p) => p.origin === "dp").map((p) => (p.estimate.kld - kldLowerBound(front, p.estimate.sizeBytes)) / p.estimate.kld);
  // Excess over the reference front (a 16× finer grid): at each reference point's size, the best KLD this
  // front offers within that size, relative to the reference's. A lower bound on the true excess.
  const reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as [number, number][];
  const bySize = front.points.map((p) => [p.estimate.sizeBytes, p.estimate.kld] as const).sort((a, b) => a[0] - b[0]);
  let excessMaxRelative = 0;
  let at = 0;
  let best = Infinity;
  for (const [size, kld] of [...reference].sort((a, b) => a[0] - b[0])) {
    while (at < bySize.length && (bySize[at] as readonly [number, number])[0] <= size) best = Math.min(best, (bySize[at++] as readonly [number, number])[1]);
    excessMaxRelative = Math.max(excessMaxRelative, (best - kld) / kld);
  }
  const origins: Record<string, number> = {};
  for (const p of front.points) origins[p.origin] = (origins[p.origin] ?? 0) + 1;
  return {
    runsMs,
    cpuMs,
    chooseMs,
    heapDeltaMiB: (heapPeak - heapBefore) / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    startRssMiB: startRss / 2 ** 20,
    points: front.points.length,
    origins,
    toleranceRelative: front.tolerance.sizeBytes / range,
    boundRelative: front.toleranceBound.sizeBytes / range,
    gapMedianRelative: median(gaps),
    excessMaxRelative,
  };
}

// The first call in a fresh process: includes JIT warm-up, what a CLI call pays.
function firstRun(memory: number, latency: number): [number, number] {
  const t = table(64);
  const start = performance.now();
  const cpu = process.cpuUsage();
  paretoFront(parseCostTable(t), { grid: { memory, latency } });
  const used = process.cpuUsage(cpu);
  return [performance.now() - start, (used.user + used.system) / 1000];
}

function spawn(args: string[]): string {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync("npx", ["vite-node", script, "--", ...args], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "--expose-gc" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").pop() as string;
}

const REFERENCE = `${os.tmpdir()}/apreqel-bench-front-reference.json`;
const argv = process.argv.slice(2).filter((a) => a !== "--");
if (argv[0] === "--import") {
  // imported by another script
} else if (argv[0] === "--child") {
  console.log(JSON.stringify(child(Number(argv[1]), Number(argv[2]), Number(argv[3]))));
} else if (argv[0] === "--first") {
  console.log(JSON.stringify(firstRun(Number(argv[1]), Number(argv[2]))));
} else {
  const reference = paretoFront(parseCostTable(table(64)), { grid: { memory: 65536, latency: 1 } });
  writeFileSync(REFERENCE, JSON.stringify(reference.points.map((p) => [p.estimate.sizeBytes, p.estimate.kld])));
  const rows: string[] = [];
  const grids: [number, number][] = [[4096, 4], [4096, 1], [16384, 1], [1024, 16]];
  for (const [memory, latency] of grids) {
    const [first, firstCpu] = JSON.parse(spawn(["--first", String(memory), String(latency)])) as [number, number];
    const m = JSON.parse(spawn(["--child", String(memory), String(latency), "5"])) as Measured;
    const f = (x: number) => x.toFixed(1);
    rows.push(
      `| ${memory} × ${latency} | ${f(first)} / ${f(firstCpu)} | ${f(median(m.runsMs))} / ${f(median(m.cpuMs))} | ${f(m.heapDeltaMiB)} | ${f(m.peakRssMiB - m.startRssMiB)} | ${m.points} (${Object.entries(m.origins).map(([k, v]) => `${k} ${v}`).join(", ")}) | ${(100 * m.toleranceRelative).toFixed(3)}% (bound ${(100 * m.boundRelative).toFixed(1)}%) | ${(100 * m.gapMedianRelative).toFixed(2)}% | ${(100 * m.excessMaxRelative).toFixed(2)}% | ${f(m.chooseMs)} |`,
    );
    console.error(rows.at(-1));
  }
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, ${new Date().toISOString().slice(0, 10)}, 450 units × 8 types, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log("| grid (size × latency cells) | first run ms wall / CPU | median ms wall / CPU (5 runs) | heap peak Δ MiB | peak RSS Δ MiB | front points (origin) | certified ε size / front size range (a-priori N·g) | median certified KLD gap of DP points (KLD − LP bound) / KLD | max KLD excess over the 65536 × 1 grid | 28 × chooseOnFront ms |");
  console.log("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
  for (const r of rows) console.log(r);
}
