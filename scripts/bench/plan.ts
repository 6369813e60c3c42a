// Benchmark of the distribution search (issue 3): plan() for L = 72 layers and
// M = 5 types (1,282,975 candidates), the 28-weighting sweep, and a
// straightforward implementation that materialises every candidate, for
// comparison. Each measurement runs in its own child process so peak RSS is
// its own (children get --expose-gc to measure the heap from a collected start).
//
//   npx vite-node scripts/bench/plan.ts
//
// Prints a markdown table (paste into docs/benchmarks.md).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { median } from "../../lib/method/latency-protocol.js";
import {
  PAPER_WEIGHTINGS,
  countDistributions,
  forEachDistribution,
  plan,
  planSweep,
  type EstimatorName,
  type GgmlType,
  type LayerName,
  type Profile,
  type ScoresFile,
  type Weights,
} from "../../lib/method/index.js";

const TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"];
const WEIGHTS: Weights = { memory: 0.1, latency: 0.8, accuracy: 0.1 };
const BPW: Record<string, number> = { q8_0: 8.5, q6_K: 6.5625, q5_K: 5.5, q4_K: 4.5, q3_K: 3.4375 };
// Uniform metrics shaped like a 7B model's (numbers are illustrative; the search cost does not depend on them).
const METRICS: Record<string, { latencyMsPerToken: number; perplexity: number }> = {
  q8_0: { latencyMsPerToken: 40, perplexity: 5.8 },
  q6_K: { latencyMsPerToken: 33, perplexity: 5.81 },
  q5_K: { latencyMsPerToken: 29, perplexity: 5.85 },
  q4_K: { latencyMsPerToken: 25, perplexity: 5.95 },
  q3_K: { latencyMsPerToken: 22, perplexity: 6.4 },
};

function layers(L: number): LayerName[] {
  return Array.from({ length: L }, (_, i) => `blk.${i >> 1}.${i & 1 ? "ffn" : "attn"}` as LayerName);
}

// Ranking: a fixed pseudo-random permutation, so the weighted estimator's tables are not trivially sorted.
function ranking(L: number): LayerName[] {
  const out = layers(L);
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as LayerName, out[i] as LayerName];
  }
  return out;
}

// Scores whose order is ranking(L) (scores L..1) and whose mean 1 − cos varies, for the sensitivity estimator.
function scores(L: number): ScoresFile {
  const order = new Map(ranking(L).map((name, i) => [name, i]));
  return {
    gamma: 0.9,
    layers: layers(L).map((name) => {
      const score = L - order.get(name)!;
      return { name, reward: score, penalty: 0, score, meanOneMinusCos: 0.01 + score / L };
    }),
  };
}

// Attention ≈ 1/3 of a block's weights, FFN ≈ 2/3 (7B-like: 4·4096² vs 3·4096·11008 parameters).
function profile(L: number): Profile {
  const types: Record<string, object> = {};
  for (const type of TYPES) {
    const layerBytes: Record<string, number> = {};
    for (const [i, name] of layers(L).entries()) {
      const params = i & 1 ? 3 * 4096 * 11008 : 4 * 4096 * 4096;
      layerBytes[name] = Math.round((params * (BPW[type] as number)) / 8);
    }
    const fixed = 2 * 32000 * 4096 * 2;
    const sum = Object.values(layerBytes).reduce((a, b) => a + b, 0);
    types[type] = { memoryBytes: fixed + sum, ...METRICS[type], layerBytes, fixedBytes: fixed };
  }
  return { types } as Profile;
}

// The straightforward version: every candidate becomes an object with its
// counts and estimates, then TOPSIS runs over the materialised matrix.
function naivePlan(p: Profile, L: number, w: Weights): { counts: number[]; score: number } {
  const c = TYPES.map((t) => p.types[t] as { memoryBytes: number; latencyMsPerToken: number; perplexity: number });
  const candidates: { counts: number[]; x: number[] }[] = [];
  forEachDistribution(L, TYPES.length, (z) => {
    const counts = Array.from(z);
    const x = [0, 0, 0];
    counts.forEach((n, j) => {
      const m = c[j]!;
      x[0]! += (n / L) * m.memoryBytes;
      x[1]! += (n / L) * m.latencyMsPerToken;
      x[2]! += (n / L) * m.perplexity;
    });
    candidates.push({ counts, x });
  });
  const weights = [w.memory, w.latency, w.accuracy];
  const norms = [0, 1, 2].map((k) => Math.sqrt(candidates.reduce((s, cand) => s + cand.x[k]! ** 2, 0)));
  const v = candidates.map((cand) => cand.x.map((x, k) => (weights[k]! * x) / norms[k]!));
  const ideal = [0, 1, 2].map((k) => v.reduce((m, r) => Math.min(m, r[k]!), Infinity));
  const anti = [0, 1, 2].map((k) => v.reduce((m, r) => Math.max(m, r[k]!), -Infinity));
  const scores = v.map((r) => {
    const dIdeal = Math.hypot(...r.map((x, k) => x - ideal[k]!));
    const dAnti = Math.hypot(...r.map((x, k) => x - anti[k]!));
    return dAnti / (dIdeal + dAnti);
  });
  const best = scores.reduce((b, s, i) => (s > scores[b]! ? i : b), 0);
  return { counts: candidates[best]!.counts, score: scores[best]! };
}

interface Measured {
  runsMs: number[];
  heapDeltaMiB: number;
  peakRssMiB: number;
  startRssMiB: number;
  result: string;
}


function child(variant: string, L: number, runs: number): Measured {
  const gc = (globalThis as { gc?: () => void }).gc;
  const p = profile(L);
  const r = ranking(L);
  const all = PAPER_WEIGHTINGS.map((x) => x.weights);
  const estimator: EstimatorName = variant.endsWith("weighted") ? "weighted" : variant.endsWith("sensitivity") ? "sensitivity" : "linear";
  const once = (): string => {
    switch (variant) {
      case "plan-linear":
      case "plan-weighted": {
        const out = plan({ profile: p, ranking: r, weights: WEIGHTS, estimator });
        return JSON.stringify(out.distribution);
      }
      case "plan-sensitivity": {
        const out = plan({ profile: p, scores: scores(L), weights: WEIGHTS, estimator });
        return JSON.stringify(out.distribution);
      }
      case "sweep-linear":
      case "sweep-weighted":
        return `${planSweep({ profile: p, ranking: r, weightings: all, estimator }).length} plans`;
      case "plan-28x-linear":
        return `${all.map((weights) => plan({ profile: p, ranking: r, weights, estimator })).length} plans`;
      case "naive":
        return JSON.stringify(naivePlan(p, L, WEIGHTS).counts);
      default:
        throw new Error(`unknown variant ${variant}`);
    }
  };
  gc?.();
  const startRss = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const runsMs: number[] = [];
  let result = "";
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = once();
    runsMs.push(performance.now() - t);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  return {
    runsMs,
    heapDeltaMiB: (heapPeak - heapBefore) / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    startRssMiB: startRss / 2 ** 20,
    result,
  };
}

function spawn(variant: string, L: number, runs: number): Measured {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync("npx", ["vite-node", script, "--", "--child", variant, String(L), String(runs)], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "--expose-gc --max-old-space-size=8192" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = out.trim().split("\n").pop() as string;
  return JSON.parse(line) as Measured;
}

const argv = process.argv.slice(2).filter((a) => a !== "--");
if (argv[0] === "--child") {
  console.log(JSON.stringify(child(argv[1] as string, Number(argv[2]), Number(argv[3]))));
} else {
  const L = 72;
  const rows: string[] = [];
  const row = (what: string, variant: string, l: number, runs: number): void => {
    const m = spawn(variant, l, runs);
    const f = (x: number) => x.toFixed(1);
    rows.push(
      `| ${what} | ${countDistributions(l, 5).toLocaleString("en-US")} | ${f(m.runsMs[0]!)} | ${f(median(m.runsMs))} | ${runs} | ${f(m.heapDeltaMiB)} | ${f(m.peakRssMiB - m.startRssMiB)} | ${m.result} |`,
    );
    console.error(rows.at(-1));
  };
  row("plan(), linear estimator", "plan-linear", L, 15);
  row("plan(), weighted estimator", "plan-weighted", L, 15);
  row("plan(), sensitivity estimator", "plan-sensitivity", L, 15);
  row("planSweep(), 28 weightings, linear", "sweep-linear", L, 5);
  row("planSweep(), 28 weightings, weighted", "sweep-weighted", L, 5);
  row("28 × plan(), linear", "plan-28x-linear", L, 3);
  row("naive: materialise candidates + TOPSIS", "naive", L, 3);
  for (const l of [24, 48, 96, 128]) row(`plan(), linear, L = ${l} (memory flatness)`, "plan-linear", l, 5);
  row("naive, L = 48", "naive", 48, 3);
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| what | candidates | first run ms | median ms | runs | heap peak Δ MiB | peak RSS Δ MiB | chosen |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) console.log(r);
}
