/**
 * Random-weight models of realistic shape for tests, benchmarks and the demo: llama
 * architecture, grouped-query attention, a real tokenizer from one of llama.cpp's vocab-only
 * GGUFs. Latency and memory behave as in a trained model of that shape; perplexity does not.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { invalidOption } from "../core/errors.js";
import { requireInputFile, requireOutputPath, writeAtomically } from "../core/files.js";
import { binding } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { packageRoot } from "../core/package.js";
import { requireInt, requireOptions, validateJobOptions } from "../core/validate.js";

export interface ModelShape {
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly nCtx: number;
}

/** Shapes used across tests and benchmarks. Row lengths are multiples of 256 so K-quants apply. */
export const FIXTURE_SHAPES = {
  /** small enough for CI: 4 blocks, n_embd 256 */
  tiny: { nEmbd: 256, nFf: 768, nLayer: 4, nHead: 4, nHeadKv: 2, nCtx: 512 },
  /** Llama-3.2-1B's block shape (16 blocks, n_embd 2048, n_ff 8192, 32/8 heads) */
  "llama-3.2-1b": { nEmbd: 2048, nFf: 8192, nLayer: 16, nHead: 32, nHeadKv: 8, nCtx: 2048 },
  /** Qwen3-0.6B-like block shape (28 blocks, n_embd 1024, n_ff 3072, 16/8 heads) */
  "qwen3-0.6b": { nEmbd: 1024, nFf: 3072, nLayer: 28, nHead: 16, nHeadKv: 8, nCtx: 2048 },
} as const satisfies Record<string, ModelShape>;

/** llama.cpp's SentencePiece (llama) vocab-only GGUF in the vendored tree. */
export function defaultVocabPath(): string {
  return path.join(packageRoot, "vendor", "llama.cpp", "models", "ggml-vocab-llama-spm.gguf");
}

/** Architectures the generator can lay out (llama.cpp's tensor names and metadata for each). */
export const FIXTURE_ARCHITECTURES = ["llama", "qwen2", "qwen3", "phi3", "gemma3"] as const;
export type FixtureArchitecture = (typeof FIXTURE_ARCHITECTURES)[number];

export interface RandomModelOptions extends Partial<ModelShape>, JobOptions {
  readonly output: string;
  /** default "llama" */
  readonly arch?: FixtureArchitecture;
  readonly vocab?: string;
  readonly seed?: number;
  readonly type?: "f16" | "f32";
}

export async function writeRandomModel(options: RandomModelOptions): Promise<string> {
  requireOptions(options, "writeRandomModel");
  validateJobOptions(options);
  const seed = requireInt(options.seed ?? 1, "seed", 0);
  const vocabFile = options.vocab ?? defaultVocabPath();
  if (options.vocab === undefined && !existsSync(vocabFile)) {
    throw new Error(`the default tokenizer ${vocabFile} is missing: run \`npx apreqel build\` (it prepares vendor/llama.cpp) or pass vocab`);
  }
  const vocab = await requireInputFile(vocabFile, "vocab");
  const output = await requireOutputPath(options.output, "output", [vocab]);
  const shape: ModelShape = { ...FIXTURE_SHAPES.tiny, ...pick(options) };
  for (const [k, v] of Object.entries(shape)) requireInt(v, k, 1);
  if (options.type !== undefined && options.type !== "f16" && options.type !== "f32") throw invalidOption("type", '"f16" or "f32"', options.type);
  const arch = options.arch ?? "llama";
  if (!(FIXTURE_ARCHITECTURES as readonly string[]).includes(arch)) throw invalidOption("arch", FIXTURE_ARCHITECTURES.join(" | "), options.arch);
  await writeAtomically(output, (temp) =>
    runJob(options, (job) =>
      binding().writeRandomModel({ vocab, output: temp, ...shape, seed, type: options.type ?? "f16", arch, ...job }),
    ),
  );
  return output;
}

function pick(o: Partial<ModelShape>): Partial<ModelShape> {
  const out: Partial<Record<keyof ModelShape, number>> = {};
  for (const k of ["nEmbd", "nFf", "nLayer", "nHead", "nHeadKv", "nCtx"] as const) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
