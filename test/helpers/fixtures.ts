/**
 * Fixture models for native tests, generated on demand (deterministic for a given shape and
 * seed) and cached under the OS temp dir so test files share them within and across runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultVocabPath, writeRandomModel, type FixtureArchitecture, type ModelShape } from "../../lib/ops/fixtures.js";

const cacheDir = path.join(os.tmpdir(), `apreqel-test-fixtures-${process.getuid?.() ?? 0}`);

/** tiny: 4 blocks, n_embd 256 (K-quant friendly), F16, llama-spm vocab. */
export async function fixtureModel(
  shape: Partial<ModelShape> = {},
  seed = 1,
  type: "f16" | "f32" = "f16",
  arch: FixtureArchitecture = "llama",
): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const key = Object.entries(shape).map(([k, v]) => `${k}${v}`).join("-") || "tiny";
  const file = path.join(cacheDir, `random-${arch === "llama" ? "" : `${arch}-`}${key}-s${seed}-${type}.gguf`);
  // llama.cpp's phi3 vocabulary handling expects phi-3's own special tokens
  const vocab = arch === "phi3" ? { vocab: path.join(path.dirname(defaultVocabPath()), "ggml-vocab-phi-3.gguf") } : {};
  if (!existsSync(file)) await writeRandomModel({ output: file, seed, type, arch, ...vocab, ...shape });
  return file;
}

/** A larger model (about 160M parameters) whose quantization takes seconds on 2 cores. */
export function slowModel(): Promise<string> {
  return fixtureModel({ nEmbd: 1024, nFf: 2816, nLayer: 8, nHead: 16, nHeadKv: 4 });
}
