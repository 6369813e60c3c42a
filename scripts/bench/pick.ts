// Benchmark of the runtime picker (issue 17): choose() over portfolios of K variants, with a
// latency budget, throttle, battery and a current variant (every rule on). One process,
// interleaved sizes, median of 15 batches per size; each batch times 2,000 calls.
//
//   npx vite-node scripts/bench/pick.ts
//
// Prints a markdown table (paste into docs/benchmarks.md).
import os from "node:os";
import { median } from "../../lib/method/latency-protocol.js";
import { choose, type DeviceState } from "../../lib/portfolio/choose.js";
import type { PortfolioManifest, Variant } from "../../lib/portfolio/manifest.js";

const SIZES = [5, 16, 64, 256];
const BATCHES = 15;
const CALLS = 2000;
const FP = "00000000000000aa";
const device = {
  fingerprint: FP,
  hardware: { cpu: "bench", cores: 1, memoryBytes: 1, platform: "linux", arch: "x64", gpus: [] },
  build: { cuda: false, apreqelVersion: "0", llamaCppCommit: "0" },
};

// A front: size grows, latency grows with size, KLD falls.
function portfolio(k: number): PortfolioManifest {
  const variants: Variant[] = Array.from({ length: k }, (_, i) => {
    const mb = 100 + (400 * i) / Math.max(1, k - 1);
    return {
      name: `v${i}`,
      file: `v${i}.gguf`,
      sha256: i.toString(16).padStart(64, "0"),
      bytes: Math.round(mb * 1e6),
      weightBytes: Math.round(mb * 1e6),
      latency: [{ device, settings: {}, measuredAt: "2026-12-01T00:00:00Z", decode: { mean: mb / 10, sd: 0.1 }, prefill: null }],
      accuracy: {
        perplexity: { value: 10 + 2000 / mb, stderr: 0.1 },
        kld: { mean: 20 / mb, stderr: 0.001, sameTopPercent: 90 },
        text: { source: "bench", sha256: "0".repeat(64) },
        settings: {},
        device,
        measuredAt: "2026-12-01T00:00:00Z",
      },
      chosenBy: [{ by: "extreme", criterion: "accuracy" }],
    };
  });
  return { format: "apreqel-portfolio", version: 1, model: { name: "bench", sha256: "0".repeat(64) }, createdAt: "2026-12-01T00:00:00Z", variants };
}

const state: DeviceState = {
  ramFreeBytes: 450e6,
  latencyBudgetMs: 45,
  throttle: 1.2,
  battery: { level: 0.5, charging: false },
  device: FP,
  current: { name: "v1", resident: true },
};

const manifests = new Map(SIZES.map((k) => [k, portfolio(k)]));
const samples = new Map<number, number[]>(SIZES.map((k) => [k, []]));
let sink = 0;
for (const k of SIZES) for (let i = 0; i < 200; i++) sink += choose(manifests.get(k)!, state).candidates.length; // warm-up
for (let b = 0; b < BATCHES; b++) {
  for (const k of SIZES) {
    const m = manifests.get(k)!;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink += choose(m, state).candidates.length;
    samples.get(k)!.push(Number(process.hrtime.bigint() - t0) / 1e3 / CALLS);
  }
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!;
console.log(`${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${BATCHES} batches × ${CALLS} calls, interleaved (checksum ${sink})\n`);
console.log("| variants K | µs per choose() (median) | batch spread (min–max) | µs per variant |");
console.log("|---:|---:|---:|---:|");
for (const k of SIZES) {
  const s = samples.get(k)!;
  console.log(`| ${k} | ${median(s).toFixed(2)} | ${q(s, 0).toFixed(2)}–${q(s, 1).toFixed(2)} | ${(median(s) / k).toFixed(3)} |`);
}
