/** llama.cpp's own tools built from the same vendored tree (`apreqel build --tools`), as references. */
import { existsSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";
import { runProcess } from "./run.js";

export function llamaTool(name: "llama-perplexity" | "llama-bench" | "llama-quantize" | "llama-imatrix"): string | null {
  const file = path.join(packageRoot, "build-cmake", "bin", name);
  return existsSync(file) ? file : null;
}

export const TOOLS_MISSING = "llama.cpp tools not built (run `node scripts/build-native.mjs --tools`)";

/** Runs llama-perplexity and returns its final estimate. */
export async function toolPerplexity(model: string, textFile: string, nCtx: number, chunks: number, threads = 2): Promise<{ ppl: number; stderr: number }> {
  const tool = llamaTool("llama-perplexity");
  if (!tool) throw new Error(TOOLS_MISSING);
  const r = await runProcess(tool, ["-m", model, "-f", textFile, "-c", String(nCtx), "--chunks", String(chunks), "-t", String(threads)]);
  if (r.status !== 0) throw new Error(`llama-perplexity exited with ${r.status ?? r.signal}: ${(r.stderr ?? "").slice(-1500)}`);
  // the final estimate is logged on stderr
  return parseFinalEstimate(`${r.stdout}\n${r.stderr}`);
}

export function parseFinalEstimate(text: string): { ppl: number; stderr: number } {
  const m = /Final estimate: PPL = ([0-9.]+) \+\/- ([0-9.]+)/.exec(text);
  if (!m) throw new Error(`no final estimate in llama-perplexity's output:\n${text.slice(-2000)}`);
  return { ppl: Number(m[1]), stderr: Number(m[2]) };
}
