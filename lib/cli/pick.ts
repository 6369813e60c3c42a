/** `apreqel pick DIR`: the portfolio variant to run on this machine now, and why. */
import path from "node:path";
import { buildInfo } from "../ops/build-info.js";
import { describeBuild, describeHardware, fingerprint } from "../pipeline/hardware.js";
import { choose, type Choice, type PickPolicy } from "../portfolio/choose.js";
import { readPortfolio } from "../portfolio/write.js";
import { verifiedVariantFile } from "../portfolio/verify.js";
import { readLiveState, toDeviceState, type GpuDeviceInfo, type Known, type LiveState } from "../portfolio/state.js";
import { OptionError, invalidOption } from "../core/errors.js";
import { parse } from "./args.js";
import { formatBytes, formatNumber } from "../core/format.js";
import { parseMilliseconds, parseSize } from "../core/units.js";
import { WEIGHT_OPTIONS, parseConstraints, parsePositiveNumber, resolveWeights } from "./options.js";

export const usage = `usage: apreqel pick DIR [options] [--json]
  Prints the file of the portfolio variant (DIR/portfolio.json) to run on this machine now, and why,
  from its live state: free memory (within cgroup limits), GPU memory, temperature, battery.
  --max-memory SIZE     never a variant whose weights (+ --context) exceed SIZE, e.g. 2GB
  --max-latency TIME    never a variant slower per token now (throttle included), e.g. 40ms
  --max-kld N           never a variant with a larger KL divergence from the source model
  --max-perplexity N    never a variant with a higher perplexity
  --budget TIME         soft latency budget per token, e.g. 40ms: variants slower now (throttle
                        included) are dropped; if none meets it, the fastest that fits is chosen
                        and the output says the budget is not met (--max-latency is the hard one)
  --throttle F          assume the device runs F times slower than measured (1 = as measured,
                        1.5 = 50% slower) instead of the thermal reading, e.g. for the hot case
  --weights M,L,A       memory, latency, accuracy weights (default 1/3 each; a criterion's weight
  --priority P          goes to accuracy while its resource is plentiful); or a --priority preset
  --headroom H          memory kept free beyond a variant's need: a share (10%, the default) or a size
  --context SIZE        memory the runtime adds to any variant (KV cache, buffers), e.g. 256MiB
  --gpu                 the weights will be offloaded to the GPU: check its free memory
  --current NAME        the variant running now: kept unless the best beats it by the margin
  --json                the choice, every variant's figures and the state read, as JSON`;

/** What the command reads from the machine (replaced in tests). */
export interface PickEnvironment {
  readState(devices: readonly GpuDeviceInfo[] | undefined): Promise<LiveState>;
  /** the addon's build info, or why the addon could not be loaded */
  backend(): { readonly info: PickBackend } | { readonly error: string };
}

/** The part of the addon's `buildInfo()` pick uses. */
export interface PickBackend {
  readonly cuda: boolean;
  readonly devices: readonly (GpuDeviceInfo & { readonly description: string })[];
}

const LIVE: PickEnvironment = {
  readState: (devices) => readLiveState(devices === undefined ? {} : { devices }),
  backend() {
    try {
      return { info: buildInfo() };
    } catch (e) {
      return { error: (e as Error).message.split("\n")[0]! };
    }
  },
};

export function run(argv: readonly string[]): Promise<number> {
  return pick(argv, LIVE);
}

export async function pick(argv: readonly string[], env: PickEnvironment): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...WEIGHT_OPTIONS,
    "max-memory": { type: "string" },
    "max-latency": { type: "string" },
    "max-kld": { type: "string" },
    "max-perplexity": { type: "string" },
    budget: { type: "string" },
    throttle: { type: "string" },
    headroom: { type: "string" },
    context: { type: "string" },
    gpu: { type: "boolean" },
    current: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new OptionError("DIR", "expected exactly one portfolio folder (or its portfolio.json)");
  const weights = values.weights === undefined && values.priority === undefined ? undefined : resolveWeights(values).weights;
  const policy: PickPolicy = {
    ...(weights !== undefined ? { weights } : {}),
    limits: {
      ...parseConstraints(values),
      ...(values["max-kld"] !== undefined ? { maxKld: parsePositiveNumber(values["max-kld"], "--max-kld") } : {}),
    },
    ...(values.headroom !== undefined ? { headroom: parseHeadroom(values.headroom) } : {}),
    ...(values.context !== undefined ? { contextBytes: parseSize(values.context, "--context") } : {}),
    ...(values.gpu ? { offload: true } : {}),
  };
  const given: GivenState = {
    ...(values.budget !== undefined ? { latencyBudgetMs: parseMilliseconds(values.budget, "--budget") } : {}),
    ...(values.throttle !== undefined ? { throttle: parsePositiveNumber(values.throttle, "--throttle") } : {}),
  };
  const { manifest, dir, path: manifestFile } = await readPortfolio(positionals[0]!, { verifyFiles: true });
  const backend = env.backend();
  const live = await env.readState("info" in backend ? backend.info.devices : undefined);
  const device = "info" in backend ? fingerprint({ hardware: describeHardware(backend.info), build: describeBuild(backend.info) }) : undefined;
  const state = {
    ...toDeviceState(live, {
      ...(device !== undefined ? { device } : {}),
      ...(values.current !== undefined ? { current: { name: values.current, resident: true } } : {}),
    }),
    ...given,
  };
  const choice = choose(manifest, state, policy);
  // the variant recommended is the one the manifest describes: size, SHA-256 (verified-once mark), inside the folder
  const file = await verifiedVariantFile(dir, choice.variant, manifestFile);
  if (values.json) {
    console.log(JSON.stringify(pickJson(choice, file, live, "error" in backend ? backend.error : undefined, given), null, 2));
    return 0;
  }
  console.log(file);
  console.log(`  ${choice.reason}`);
  console.log(`  state: ${describeState(live)}`);
  const givenText = describeGiven(given);
  if (givenText !== undefined) console.log(`  given: ${givenText}`);
  if (choice.latencySource.endsWith("not this device)")) {
    console.log(`  note: latencies were measured on ${choice.latencySource}; \`apreqel portfolio profile\` measures this device`);
  }
  if ("error" in backend) console.log(`  note: the addon did not load (${backend.error}): GPU memory unknown`);
  return 0;
}

/** The part of the state given on the command line rather than read from the machine. */
export interface GivenState {
  /** --budget */
  readonly latencyBudgetMs?: number;
  /** --throttle: replaces the thermal reading */
  readonly throttle?: number;
}

/**
 * The `given:` line, or undefined when nothing was given.
 *
 * @example
 * describeGiven({ latencyBudgetMs: 40, throttle: 1.5 }) // "latency budget 40 ms/token (--budget); throttle 1.5 (--throttle, instead of the thermal reading)"
 */
export function describeGiven(given: GivenState): string | undefined {
  const parts = [
    ...(given.latencyBudgetMs !== undefined ? [`latency budget ${formatNumber(given.latencyBudgetMs)} ms/token (--budget)`] : []),
    ...(given.throttle !== undefined ? [`throttle ${formatNumber(given.throttle)} (--throttle, instead of the thermal reading)`] : []),
  ];
  return parts.length === 0 ? undefined : parts.join("; ");
}

/** The `--json` output: the chosen file first, then the choice and the state it was made from. */
export function pickJson(choice: Choice, file: string, live: LiveState, addonError?: string, given: GivenState = {}): Record<string, unknown> {
  return {
    file,
    variant: choice.variant.name,
    reason: choice.reason,
    kept: choice.kept,
    budgetMet: choice.budgetMet,
    weights: choice.weights,
    accuracyMetric: choice.accuracyMetric,
    latencySource: choice.latencySource,
    candidates: choice.candidates,
    state: live,
    ...(Object.keys(given).length > 0 ? { given } : {}),
    ...(addonError !== undefined ? { addonError } : {}),
  };
}

/**
 * One line per source, unknown ones with why.
 *
 * @example
 * describeState(live) // "RAM 3.07 GB free (/proc/meminfo MemAvailable); GPU unknown (no GPU device …); throttle 1 (…); battery unknown (…)"
 */
export function describeState(live: LiveState): string {
  const part = <T>(name: string, k: Known<T>, show: (v: T) => string) => (k.known ? `${show(k.value)} (${k.source})` : `${name} unknown (${k.reason})`);
  return [
    part("RAM", live.memory, (m) => `RAM ${formatBytes(m.freeBytes)} free`),
    part("GPU", live.gpu, (g) => `GPU ${formatBytes(g.freeBytes)} free${g.unified ? " (shared with RAM)" : ""}`),
    part("throttle", live.thermal, (t) => `throttle ${formatNumber(t.throttle, 3)}, hottest ${t.hottest.name} ${formatNumber(t.hottest.tempC, 3)} °C`),
    part("battery", live.battery, (b) => `battery ${Math.round(b.level * 100)}%${b.charging ? " on power" : " discharging"}`),
  ].join("; ");
}

/**
 * `--headroom 10%` (a share of each variant's need) or `--headroom 512MiB` (a fixed amount).
 *
 * @example
 * parseHeadroom("15%")    // { fraction: 0.15, bytes: 0 }
 * parseHeadroom("256MiB") // { fraction: 0, bytes: 268435456 }
 */
export function parseHeadroom(text: string): { fraction: number; bytes: number } {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) return { fraction: Number(pct[1]) / 100, bytes: 0 };
  if (/^\s*[\d.]+\s*[a-zA-Z]+\s*$/.test(text)) return { fraction: 0, bytes: parseSize(text, "--headroom") };
  throw invalidOption("--headroom", "a share like 10% or a size like 512MiB", text);
}
