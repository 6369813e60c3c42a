/**
 * Re-profiling a portfolio on another device (the library half of `apreqel portfolio profile
 * DIR`): every variant is benchmarked here, with llama-bench's rules (ops/bench), and this
 * device's entry (hardware + build fingerprint) is added to each variant's latency list, or
 * replaces the one a previous run left. The manifest is rewritten atomically once every variant
 * is measured: an interrupted run changes nothing.
 */
import path from "node:path";
import { invalidOption } from "../core/errors.js";
import type { JobOptions } from "../core/job-options.js";
import { bench } from "../ops/bench.js";
import { buildInfo } from "../ops/build-info.js";
import { describeBuild, describeHardware, fingerprint } from "../pipeline/hardware.js";
import type { DeviceDescription, LatencyMeasurement, PortfolioManifest } from "./manifest.js";
import { addDeviceLatencies, readPortfolio, saveManifest } from "./write.js";
import { DEFAULT_LATENCY_PROTOCOL } from "../core/defaults.js";

export interface ProfilePortfolioOptions extends JobOptions {
  /** generated tokens per repetition (default 128) */
  readonly nGen?: number;
  /** prompt tokens per repetition (default 512; 0 skips prefill) */
  readonly nPrompt?: number;
  /** repetitions (default 6, the latency protocol's rounds: core/defaults.ts) */
  readonly reps?: number;
  readonly threads?: number;
  readonly gpuLayers?: number;
  /** called after each variant, with its name and the measurement */
  readonly onVariant?: (name: string, m: LatencyMeasurement) => void;
}

/**
 * Benchmarks every variant of the portfolio in `dir` on this device and writes the measurements
 * into its manifest. Returns the updated manifest and this device's description.
 *
 * @example
 * const { device } = await profilePortfolio("out", { reps: 5 }) // on the Jetson
 * device.hardware.cpu // "ARMv8 Processor rev 1 (v8l)"
 */
export async function profilePortfolio(dir: string, o: ProfilePortfolioOptions = {}): Promise<{ manifest: PortfolioManifest; device: DeviceDescription }> {
  if (o.nGen !== undefined && !(Number.isSafeInteger(o.nGen) && o.nGen >= 1)) {
    throw invalidOption("nGen", "a whole number ≥ 1 (decode latency is what the picker uses)", o.nGen);
  }
  const { manifest, dir: root, path: file } = await readPortfolio(dir, { verifyFiles: true });
  const { byName, device } = await measureVariants(manifest.variants.map((v) => ({ name: v.name, file: path.join(root, v.file) })), o);
  const updated = addDeviceLatencies(manifest, byName);
  await saveManifest(file, updated);
  return { manifest: updated, device };
}

/**
 * Benchmarks variant files on this device (the measuring half of {@link profilePortfolio}; a fleet
 * worker of a device class runs it on the variants in its store).
 */
export async function measureVariants(
  variants: readonly { readonly name: string; readonly file: string }[],
  o: ProfilePortfolioOptions = {},
): Promise<{ byName: Record<string, LatencyMeasurement>; device: DeviceDescription }> {
  const info = buildInfo();
  const hardware = describeHardware(info);
  const build = describeBuild(info);
  const device: DeviceDescription = { fingerprint: fingerprint({ hardware, build }), hardware, build };
  const settings = { nGen: o.nGen ?? DEFAULT_LATENCY_PROTOCOL.nGen, nPrompt: o.nPrompt ?? DEFAULT_LATENCY_PROTOCOL.nPrompt, reps: o.reps ?? DEFAULT_LATENCY_PROTOCOL.reps, threads: o.threads ?? 0, gpuLayers: o.gpuLayers ?? 0 };
  const byName: Record<string, LatencyMeasurement> = {};
  for (const v of variants) {
    const r = await bench({
      model: v.file,
      ...settings,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    });
    const m: LatencyMeasurement = {
      device,
      settings,
      measuredAt: new Date().toISOString(),
      decode: { mean: r.tg!.msPerToken.mean, sd: r.tg!.msPerToken.sd },
      prefill: r.pp ? { mean: r.pp.msPerToken.mean, sd: r.pp.msPerToken.sd } : null,
    };
    byName[v.name] = m;
    o.onVariant?.(v.name, m);
  }
  return { byName, device };
}
