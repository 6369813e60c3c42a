/**
 * `apreqel portfolio MODEL --count K -o DIR`: K mixes spread along the model's front (its
 * extremes included, identical mixes merged: lib/method/spread.ts), each assembled into DIR from
 * the cached uniform files, measured (latency ± sd with llama-bench's rules; perplexity, and KLD
 * when asked, on the evaluation text) and written with writePortfolio(). One process; the uniform
 * files, profile, capture and every measurement are cached as for `quantize`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { buildInfo } from "../ops/build-info.js";
import { spreadNames, spreadOnFront, type SpreadSelection } from "../method/spread.js";
import { assembleFrontMix, modelFront, type FrontQuantizeOptions, type ModelFront } from "../pipeline/front.js";
import { describeBuild, describeHardware, fingerprint } from "../pipeline/hardware.js";
import { measureAccuracy, measureLatencies, measureMemory } from "../pipeline/measure-file.js";
import type { Session } from "../pipeline/session.js";
import { MANIFEST_FILE, type DeviceDescription, type Selection } from "./manifest.js";
import { writePortfolio, type ChosenMix, type WritePortfolioResult } from "./write.js";

export interface BuildPortfolioOptions extends Omit<FrontQuantizeOptions, "output" | "weights" | "weighting" | "limits" | "measureResult"> {
  /** the portfolio folder (created; an existing portfolio.json in it is replaced) */
  readonly dir: string;
  /** how many variants (default {@link DEFAULT_COUNT}) */
  readonly count?: number;
}

export const DEFAULT_COUNT = 5;

export interface BuildPortfolioResult extends WritePortfolioResult {
  readonly model: ModelFront;
}

/** What picked the mix, in the manifest's vocabulary. */
function selection(s: SpreadSelection): Selection {
  return s;
}

/** A variant's file in the portfolio folder: `<model>-<name>.gguf`. */
export function variantFile(dir: string, model: string, name: string): string {
  return path.join(path.resolve(dir), `${path.basename(model, ".gguf")}-${name}.gguf`);
}

/**
 * Every file `buildPortfolio` may write for `count` variants: the manifest and each possible
 * variant's file (the CLI claims them all before any work).
 *
 * @example
 * portfolioFiles("out", "m.gguf", 1) // ["/abs/out/portfolio.json", "/abs/out/m-memory.gguf", …, "/abs/out/m-front-1.gguf"]
 */
export function portfolioFiles(dir: string, model: string, count: number): string[] {
  return [path.join(path.resolve(dir), MANIFEST_FILE), ...spreadNames(count).map((name) => variantFile(dir, model, name))];
}

export async function buildPortfolio(s: Session, o: BuildPortfolioOptions): Promise<BuildPortfolioResult> {
  const count = o.count ?? DEFAULT_COUNT;
  if (!Number.isSafeInteger(count) || count < 1) throw new InputError(`--count must be a whole number ≥ 1 (got ${count})`);
  const dir = path.resolve(o.dir);
  // a bad folder fails now, not after minutes of profiling
  await fs.mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`-o ${dir}: cannot create the portfolio folder: ${e.message}`);
  });
  const m = await modelFront(s, o);
  const mixes = spreadOnFront(m.front, count);
  const info = buildInfo();
  const hardware = describeHardware(info);
  const build = describeBuild(info);
  const device: DeviceDescription = { fingerprint: fingerprint({ hardware, build }), hardware, build };
  const files = mixes.map((mix) => ({ mix, file: variantFile(dir, s.model, mix.name) }));
  for (const { mix, file } of files) await assembleFrontMix(s, m, mix.choice, file, o);
  // all variants' latencies in one interleaved run, so a drift of the machine hits them alike
  const latencies = await measureLatencies(s, files.map(({ mix, file }) => ({ file, label: mix.name })), o.latency);
  const chosen: ChosenMix[] = [];
  for (const [i, { mix, file }] of files.entries()) {
    const memory = await measureMemory(file);
    const latency = latencies[i]!;
    const accuracy = await measureAccuracy(s, file, mix.name, o.accuracy);
    const now = new Date().toISOString();
    const prefill = latency.promptMsPerToken;
    chosen.push({
      name: mix.name,
      file,
      weightBytes: memory.memoryBytes,
      distribution: mix.choice.distribution as Record<string, number>,
      latency: [
        {
          device,
          settings: { nGen: o.latency.nGen, nPrompt: o.latency.nPrompt, reps: o.latency.reps, threads: o.latency.threads ?? 0, gpuLayers: o.latency.gpuLayers ?? 0 },
          measuredAt: now,
          // the protocol's median as the manifest's mean; the sd over rounds as measured
          decode: { mean: latency.latencyMsPerToken, sd: latency.latencyMsPerTokenSd },
          // prefill has a median and an interval, no sd: half the interval's width stands in for it
          prefill: prefill ? { mean: prefill.median, sd: (prefill.high - prefill.low) / 2 } : null,
        },
      ],
      accuracy: {
        perplexity: { value: accuracy.perplexity, stderr: accuracy.perplexityStderr },
        ...(accuracy.kld ? { kld: accuracy.kld } : {}),
        text: { source: o.accuracy.evalText.source.kind === "builtin" ? "built-in" : o.accuracy.evalText.source.path, sha256: o.accuracy.evalText.sha256 },
        settings: { nCtx: o.accuracy.nCtx, chunks: o.accuracy.chunks ?? null, evalTokens: accuracy.evalTokens },
        device,
        measuredAt: now,
      },
      chosenBy: mix.selections.map(selection),
    });
  }
  const written = await writePortfolio({ dir, model: { name: path.basename(s.model), sha256: s.sha256 }, mixes: chosen });
  return { ...written, model: m };
}
