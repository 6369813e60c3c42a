// A simulated day on a portfolio (issue 17's demo): the memory other apps leave for the model
// falls as they start, the SoC heats up (throttle), the battery drains off the charger, the latency budget
// changes with the work; every hour the picker chooses, keeping the running variant unless a
// better one wins by the hysteresis margin. Prints which variant runs when and what each
// switch costs in accuracy (KLD or perplexity) and latency.
//
//   npx vite-node scripts/portfolio-demo.ts DIR [--device FINGERPRINT]
//
// DIR is a portfolio folder (portfolio.json + its GGUFs). Building one of debian-prose-11m
// (`apreqel portfolio MODEL --count 5 -o DIR`) waits for the front optimizer; until then any
// manifest written by writePortfolio() works. The day's shape is scaled to the manifest's own
// figures (memory from its smallest and largest variant, budgets from its latencies), so
// nothing here is tuned to one model.
import { parseArgs } from "node:util";
import { formatBytes, formatNumber } from "../lib/core/format.js";
import { choose, NoVariantFitsError, type DeviceState } from "../lib/portfolio/choose.js";
import { latencyOn, type Variant } from "../lib/portfolio/manifest.js";
import { readPortfolio } from "../lib/portfolio/write.js";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { device: { type: "string" } } });
if (positionals.length !== 1) {
  console.error("usage: npx vite-node scripts/portfolio-demo.ts DIR [--device FINGERPRINT]");
  process.exit(2);
}
const { manifest } = await readPortfolio(positionals[0]!);
const device = values.device ?? manifest.variants[0]!.latency[0]!.device.fingerprint;
const need = (v: Variant) => v.weightBytes * 1.1; // the picker's default 10% headroom
const smallest = Math.min(...manifest.variants.map(need));
const largest = Math.max(...manifest.variants.map(need));
const decode = (v: Variant) => (latencyOn(v, device) ?? v.latency[0]!).decode.mean;
const fastest = Math.min(...manifest.variants.map(decode));
const slowest = Math.max(...manifest.variants.map(decode));
const accuracy = (v: Variant) => v.accuracy.kld?.mean ?? v.accuracy.perplexity.value;
const metric = manifest.variants.every((v) => v.accuracy.kld !== undefined) ? "KLD" : "perplexity";

/**
 * The state at `hour` (0–23), as the picker sees it with `running` loaded: the memory left for
 * the model is shared between the running variant (resident, counted as free again when the
 * picker considers a switch) and what is still free.
 */
function stateAt(hour: number, running: Variant | undefined): Omit<DeviceState, "current"> & { forModel: number } {
  // memory left for the model: plenty (3× the largest) overnight, down to just above the smallest at 18:00
  const busy = hour < 8 ? 0 : hour <= 18 ? (hour - 8) / 10 : Math.max(0, 1 - (hour - 18) / 4);
  const forModel = 3 * largest - busy * (3 * largest - 1.05 * smallest);
  // the OS reports what the running variant does not use (never below 0: a variant that no longer fits still holds its memory)
  const ramFreeBytes = Math.max(0, forModel - (running?.weightBytes ?? 0));
  // heat: throttle rises to 1.6 around 14:00
  const throttle = 1 + 0.6 * Math.max(0, 1 - Math.abs(hour - 14) / 5);
  // battery: off the charger 08:00–20:00, 7% an hour
  const charging = hour < 8 || hour >= 20;
  const level = charging ? 1 : Math.max(0.05, 1 - 0.07 * (hour - 8));
  // budget: interactive work 09:00–17:00 wants the middle of the portfolio's latency range
  const latencyBudgetMs = hour >= 9 && hour <= 17 ? (fastest + slowest) / 2 : undefined;
  return { forModel, ramFreeBytes, throttle, battery: { level, charging }, device, ...(latencyBudgetMs !== undefined ? { latencyBudgetMs } : {}) };
}

console.log(`| hour | RAM for the model | throttle | battery | budget | variant | switch | Δ ${metric} | Δ ms/token |`);
console.log("|---:|---:|---:|---:|---:|---|---|---:|---:|");
let current: Variant | undefined;
for (let hour = 0; hour < 24; hour++) {
  const { forModel, ...s } = stateAt(hour, current);
  let cells: string[];
  try {
    const c = choose(manifest, { ...s, ...(current ? { current: { name: current.name, resident: true } } : {}) });
    const v = c.variant;
    const switched = current !== undefined && v.name !== current.name;
    const dAcc = current ? accuracy(v) - accuracy(current) : 0;
    const dLat = current ? (decode(v) - decode(current)) * (s.throttle ?? 1) : 0;
    cells = [v.name, switched ? `from ${current!.name}` : c.kept ? "kept (margin)" : "", switched ? formatNumber(dAcc, 3) : "", switched ? formatNumber(dLat, 3) : ""];
    current = v;
  } catch (e) {
    if (!(e instanceof NoVariantFitsError)) throw e;
    cells = ["(none fits)", e.message, "", ""];
  }
  const battery = `${Math.round(s.battery!.level * 100)}%${s.battery!.charging ? " ⚡" : ""}`;
  const budget = s.latencyBudgetMs === undefined ? "" : `${formatNumber(s.latencyBudgetMs, 3)} ms`;
  console.log(`| ${hour}:00 | ${formatBytes(forModel)} | ${formatNumber(s.throttle!, 2)} | ${battery} | ${budget} | ${cells.join(" | ")} |`);
}
