// The fuzzer's child process: runs every public call that reads a GGUF on one case file and prints
// one line, `FUZZ-RESULT {json}`: for each call whether it resolved or rejected (error name and
// message), and the process's peak RSS. A crash (signal, abort, non-zero exit) prints no such line.
//   node <bundled run-case.mjs> <case.gguf> <work dir>
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { quantize } from "../../lib/ops/quantize.js";
import { type CallOutcome, type CaseResult, RESULT_MARK } from "./protocol.js";

const TEXT =
  "The river remembers the morning light, and the old mill turns slowly while the village wakes. " +
  "Children run along the bank, a dog barks at the geese, and the baker opens the shutters of the shop. ";

/**
 * This process's peak resident memory. Linux's getrusage maxrss carries over the parent's high-water
 * mark through fork + exec (so every child would report the fuzzer's own size); VmHWM belongs to
 * the process's own address space, created at exec.
 */
function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const [file, work] = process.argv.slice(2);
  if (!file || !work) throw new Error("usage: run-case <case.gguf> <work dir>");
  const calls: Record<string, CallOutcome> = {};
  const attempt = async (name: string, call: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await call();
      calls[name] = { ok: true, ms: performance.now() - t0 };
    } catch (e) {
      const error = e instanceof Error;
      calls[name] = { ok: false, error, name: error ? e.name : typeof e, message: error ? e.message : String(e), ms: performance.now() - t0 };
    }
  };
  let tensors: string[] = [];
  await attempt("inspect", async () => {
    tensors = (await inspect(file)).tensors.map((t) => t.name);
  });
  const quantized = path.join(work, "quantized.gguf");
  await attempt("quantize", () => quantize({ input: file, output: quantized, type: "q8_0", allowRequantize: true, threads: 1 }));
  const assembled = path.join(work, "assembled.gguf");
  await attempt("assemble", () =>
    assemble({ base: file, sources: { a: file }, assignment: Object.fromEntries(tensors.map((t) => [t, "a"])), output: assembled }),
  );
  await attempt("captureSimilarity", () => captureSimilarity({ model: file, texts: [TEXT], nCtx: 32, nBatch: 32, threads: 1 }));
  await attempt("perplexity", () => perplexity({ model: file, text: TEXT.repeat(2), nCtx: 16, nBatch: 16, chunks: 2, threads: 1 }));
  rmSync(quantized, { force: true });
  rmSync(assembled, { force: true });
  const result: CaseResult = { calls, maxRssKb: peakRssKb() };
  process.stdout.write(RESULT_MARK + JSON.stringify(result) + "\n");
}

await main();
