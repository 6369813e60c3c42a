/** The `apreqel` command line: one file per command, each parsing its options into the library's and printing what the library returns. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { AbortError, InputError, OptionError } from "../core/errors.js";
import { printable } from "../core/format.js";
import { packageRoot, packageVersion } from "../core/package.js";
import { MethodInputError } from "../method/errors.js";
import type { CommandContext } from "./args.js";
import * as build from "./build.js";
import * as fixture from "./fixture.js";
import * as cache from "./cache.js";
import * as demo from "./demo.js";
import * as evalCommand from "./eval.js";
import * as profile from "./profile.js";
import * as quantize from "./quantize.js";
import * as score from "./score.js";
import * as sweep from "./sweep.js";
import * as inspect from "./inspect.js";
import * as plan from "./plan.js";
import * as imatrix from "./imatrix.js";
import * as pick from "./pick.js";
import * as portfolio from "./portfolio.js";
import * as worker from "./worker.js";

interface Command {
  readonly usage: string;
  run(argv: readonly string[], context: CommandContext): Promise<number>;
}

const commands: Readonly<Record<string, Command>> = { quantize, demo, profile, score, plan, sweep, eval: evalCommand, inspect, cache, fixture, build, pick, imatrix, portfolio, worker };

const help = `usage: apreqel <command> [options]
commands:
  quantize MODEL.gguf  the whole method: a mixed-precision GGUF for your priorities
  demo                 the whole pipeline on a generated model, in a few minutes
  profile MODEL.gguf   measure the uniform set (memory, latency, perplexity)
  score MODEL.gguf     layer contributions from the calibration prompts
  imatrix MODEL.gguf   llama-imatrix's statistics from one pass over the calibration text
  sweep MODEL.gguf     the paper's 28 weightings → 28 models, measured, hypervolume, report
  eval MODEL.gguf...   measure any GGUFs
  plan                 best split and per-layer types from a profile and layer scores
  inspect MODEL.gguf   per-layer tensor types and bits per weight
  cache list|clear     what the cache holds; remove it
  fixture -o OUT.gguf  a random-weight model of a realistic shape
  build                compile the native addon from source
  pick DIR             the portfolio variant to run on this machine now, and why
  portfolio MODEL.gguf K mixes along the Pareto front, measured, for \`pick\`; \`portfolio profile DIR\`
  worker --redis URL   take a fleet's jobs (uniform files, probes, latency) from Redis
Run \`apreqel <command> --help\` for a command's options; \`apreqel --version\` for the versions.`;

/** `apreqel --version`: ours and the llama.cpp we build on (read from the pin; needs no addon). */
export function versionText(root = packageRoot): string {
  let llama = "llama.cpp pin unreadable";
  try {
    const pin = JSON.parse(readFileSync(path.join(root, "vendor", "llama.cpp.pin.json"), "utf8")) as { llamaCppTag?: string; llamaCppCommit?: string; nodeLlamaCpp?: string };
    llama = `llama.cpp ${pin.llamaCppTag} (${String(pin.llamaCppCommit).slice(0, 12)}, from node-llama-cpp ${pin.nodeLlamaCpp}'s bundle)`;
  } catch (e) {
    llama = `llama.cpp pin unreadable: ${(e as Error).message}`;
  }
  return `apreqel ${packageVersion(root)}\n${llama}`;
}

export async function main(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v") {
    console.log(versionText());
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h") {
    console.log(help);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`apreqel: unknown command "${name}"\n${help}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // Mistakes in what the user gave (options, files, method inputs): one line, exit 2.
    // messages quote file contents (metadata, tensor names): no terminal escapes get through
    if (e instanceof OptionError) {
      console.error(`apreqel ${name}: ${printable(message)} (see apreqel ${name} --help)`);
      return 2;
    }
    console.error(`apreqel ${name}: ${printable(message)}`);
    if (e instanceof InputError || e instanceof MethodInputError) return 2;
    // runJob turns an aborted native call into our AbortError; Node's own (fs, timers) come as its DOMException
    return e instanceof AbortError || context.signal?.aborted === true ? 130 : 1;
  }
}

/**
 * Turns SIGINT/SIGTERM into an AbortSignal so a running command stops its native work, removes
 * its temp files and exits 130; a second signal exits at once.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // process.exit() would wait in libuv's thread-pool shutdown for the native job still running;
      // the signal's default action ends the process now. Output locks and temp files stay
      // behind, and the next run takes them over or sweeps them (their pid is gone).
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
      return;
    }
    process.stderr.write(`\napreqel: ${sig}: stopping (cleaning up temp files; ${sig} again to quit at once)\n`);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return controller.signal;
}
