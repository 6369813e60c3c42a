/**
 * Fixture models for native tests, generated on demand (deterministic for a given shape and
 * seed) and cached under the OS temp dir so test files share them within and across runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeRandomModel, type ModelShape } from "../../lib/fixtures.js";

const cacheDir = path.join(os.tmpdir(), `apreqel-test-fixtures-${process.getuid?.() ?? 0}`);

/** tiny: 4 blocks, n_embd 256 (K-quant friendly), F16, llama-spm vocab. */
export async function fixtureModel(shape: Partial<ModelShape> = {}, seed = 1, type: "f16" | "f32" = "f16"): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const key = Object.entries(shape).map(([k, v]) => `${k}${v}`).join("-") || "tiny";
  const file = path.join(cacheDir, `random-${key}-s${seed}-${type}.gguf`);
  if (!existsSync(file)) await writeRandomModel({ output: file, seed, type, ...shape });
  return file;
}

/** A larger model (about 160M parameters) whose quantization takes seconds on 2 cores. */
export function slowModel(): Promise<string> {
  return fixtureModel({ nEmbd: 1024, nFf: 2816, nLayer: 8, nHead: 16, nHeadKv: 4 });
}
