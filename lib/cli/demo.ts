/**
 * `apreqel demo`: the whole pipeline on a generated model of realistic shape and the built-in
 * texts, so a new user sees it work before bringing a model. Small settings keep it to a few
 * minutes on 2 cores; the weights are random, so the perplexities are only placeholders.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeRandomModel } from "../ops/fixtures.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes } from "../core/format.js";
import * as quantize from "./quantize.js";

export const usage = `usage: apreqel demo [--dir DIR] [--priority memory|latency|accuracy|balanced]
  Generates a random-weight llama model (8 blocks, n_embd 512) in DIR (default: a temp folder)
  and runs \`apreqel quantize\` on it with the built-in calibration and evaluation texts (the
  default method: the front of measured Δ KLD per tensor, with one probe chunk to keep it short).
  At the end it prints where the mix and the report are. In a temp folder the cache (the uniform
  files, most of the space) is removed; with --dir it is kept for the next run.`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values } = parse(argv, { dir: { type: "string" }, priority: { type: "string" }, json: { type: "boolean" } }, false);
  const dir = values.dir ? path.resolve(values.dir) : await fs.mkdtemp(path.join(os.tmpdir(), "apreqel-demo-"));
  await fs.mkdir(dir, { recursive: true });
  const model = path.join(dir, "demo-llama-f16.gguf");
  const report = path.join(dir, "report.html");
  const cache = path.join(dir, "cache");
  const output = path.join(dir, "demo-llama-apreqel.gguf");
  if (!values.json) console.error(`apreqel demo: generating ${model} (random weights, llama architecture, 8 blocks)`);
  await fs.access(model).catch(() => writeRandomModel({ output: model, nEmbd: 512, nFf: 1536, nLayer: 8, nHead: 8, nHeadKv: 4, nCtx: 1024, type: "f16" }));
  const code = await quantize.run(
    [
    model,
    "-o",
    output,
    "--priority",
    values.priority ?? "balanced",
    "--report",
    report,
    "--cache-dir",
    cache,
    "--ctx",
    "256",
    "--n-gen",
    "32",
    "--n-prompt",
    "128",
    "--reps",
    "3",
    // one 256-token chunk per probe (the default is 8): 290 probes of this model in minutes, not tens
    "--probe-chunks",
    "1",
    ...(values.json ? ["--json"] : []),
    ],
    context,
  );
  // issue 26: the demo left 592 MB in a temp folder and never said where its report was
  const temporary = values.dir === undefined;
  const cacheBytes = await folderBytes(cache);
  if (temporary) await fs.rm(cache, { recursive: true, force: true });
  if (!values.json) {
    const lines = [
      `apreqel demo: the mix: ${output}`,
      `apreqel demo: the report: ${report}`,
      temporary
        ? `apreqel demo: removed the demo's cache (${formatBytes(cacheBytes)}); ${dir} holds the rest (${formatBytes(await folderBytes(dir))}): rm -r ${dir} removes it`
        : `apreqel demo: ${dir} holds it all (${formatBytes(await folderBytes(dir))}, the cache ${formatBytes(cacheBytes)}, kept for the next run): rm -r ${dir} removes it`,
    ];
    for (const line of lines) console.error(line);
  }
  return code;
}

/** Bytes of the files under `dir` (0 when it is absent). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const st = await fs.stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).catch(() => null);
    total += st?.size ?? 0;
  }
  return total;
}
