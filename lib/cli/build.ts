/** `apreqel build`: compile the native addon from source (when no prebuilt binary fits). */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { packageRoot } from "../core/package.js";
import { parse } from "./args.js";

export const usage = `usage: apreqel build [--cuda] [--tools] [--jobs N]
  Builds the native addon from the pinned llama.cpp (needs a C++17 compiler, cmake ≥ 3.18, ninja or make,
  and git; a missing one is named before anything runs). cmake-js, node-addon-api and the llama.cpp source
  (node-llama-cpp's bundle) are used where Node finds them, else fetched at their pinned versions with npm.
  --cuda    build the CUDA backend (Jetson Orin defaults: CMAKE_CUDA_ARCHITECTURES=87,
            GGML_CUDA_NO_VMM=ON; override with APREQEL_CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90")
  --tools   also build llama-quantize, llama-perplexity and llama-bench (benchmarks)
  --jobs N  parallel compile jobs (default: all cores)`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { cuda: { type: "boolean" }, tools: { type: "boolean" }, jobs: { type: "string" } }, false);
  const args = [path.join(packageRoot, "scripts", "build-native.mjs")];
  if (values.cuda) args.push("--cuda");
  if (values.tools) args.push("--tools");
  if (values.jobs !== undefined) args.push("--jobs", values.jobs);
  const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: packageRoot });
  return r.status ?? 1;
}
