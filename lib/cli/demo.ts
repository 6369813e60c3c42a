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
import * as quantize from "./quantize.js";

export const usage = `usage: apreqel demo [--dir DIR] [--priority memory|latency|accuracy|balanced]
  Generates a random-weight llama model (8 blocks, n_embd 512) in DIR (default: a temp folder)
  and runs \`apreqel quantize\` on it with the built-in calibration and evaluation texts (the
  default method: the front of measured Δ KLD per tensor, with one probe chunk to keep it short).`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values } = parse(argv, { dir: { type: "string" }, priority: { type: "string" }, json: { type: "boolean" } }, false);
  const dir = values.dir ? path.resolve(values.dir) : await fs.mkdtemp(path.join(os.tmpdir(), "apreqel-demo-"));
  await fs.mkdir(dir, { recursive: true });
  const model = path.join(dir, "demo-llama-f16.gguf");
  if (!values.json) console.error(`apreqel demo: generating ${model} (random weights, llama architecture, 8 blocks)`);
  await fs.access(model).catch(() => writeRandomModel({ output: model, nEmbd: 512, nFf: 1536, nLayer: 8, nHead: 8, nHeadKv: 4, nCtx: 1024, type: "f16" }));
  return quantize.run(
    [
    model,
    "--priority",
    values.priority ?? "balanced",
    "--report",
    path.join(dir, "report.html"),
    "--cache-dir",
    path.join(dir, "cache"),
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
}
