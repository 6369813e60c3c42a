#!/usr/bin/env node
// Builds apreqel.node from source: prepares vendor/llama.cpp (scripts/vendor.mjs), runs cmake-js
// on CMakeLists.txt into build-cmake/, copies the addon to build/Release/apreqel.node (where
// `bindings` looks) and checks that it loads in a child process before declaring success.
//
//   node scripts/build-native.mjs [--cuda] [--tools | --no-tools] [--jobs N] [--out FILE] [--prebuild]
//                                 [--build-dir DIR] [--arch arm64]
//   --arch arm64 on an x86-64 Linux host cross-compiles (scripts/toolchains/aarch64-linux-gnu.cmake); the
//   result is load-checked under qemu-user when APREQEL_QEMU_NODE names an aarch64 node (see release-prebuilds.mjs).
//   env: APREQEL_CUDA=1, APREQEL_TOOLS=1, APREQEL_CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90 ..."
//
// --prebuild packs the result with prebuildify (through binding.gyp, which calls this script).
// The build-only packages (cmake-js, node-addon-api, the llama.cpp bundle) are found through Node's
// module resolution or fetched at their pins (scripts/build-deps.mjs); missing system tools are
// named before anything runs, so a failure says whether a tool is missing or the compiler failed.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cleanAfterBuild } from "./build-cleanup.mjs";
import { BuildDepsError, findPackageDir, missingSystemTools, resolveBuildDeps } from "./build-deps.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

if (flag("--prebuild")) {
  // prebuildify → node-gyp rebuild → binding.gyp action → this script with --out.
  const env = { ...process.env };
  const prebuildify = findPackageDir("prebuildify", root);
  if (!prebuildify) {
    console.error("apreqel build: --prebuild needs prebuildify (a devDependency): run `npm install` in a clone of apreqel");
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [path.join(prebuildify, "bin.js"), "--napi", "--strip"], {
    cwd: root, stdio: "inherit", env,
  });
  process.exit(r.status ?? 1);
}

const cuda = flag("--cuda") || process.env.APREQEL_CUDA === "1";
const arch = value("--arch") ?? process.arch;
const cross = arch !== process.arch;
if (cross && !(process.platform === "linux" && arch === "arm64")) {
  console.error(`apreqel build: cross-compiling is set up for linux-arm64 only, not ${process.platform}-${arch}`);
  process.exit(2);
}
const buildDirFor = (isCuda) => path.resolve(root, value("--build-dir") ?? (isCuda ? "build-cmake-cuda" : cross ? `build-cmake-${arch}` : "build-cmake"));
// --tools is sticky: a plain rebuild keeps the tools a previous build made (Ninja would otherwise
// delete them as dead outputs); --no-tools drops them.
const previouslyTools = () => {
  try {
    return readFileSync(path.join(buildDirFor(cuda), "CMakeCache.txt"), "utf8").includes("APREQEL_TOOLS:BOOL=ON");
  } catch {
    return false; // no previous build
  }
};
const tools = !flag("--no-tools") && (flag("--tools") || process.env.APREQEL_TOOLS === "1" || previouslyTools());
const jobs = Number(value("--jobs") ?? process.env.APREQEL_JOBS ?? os.availableParallelism());
const out = path.resolve(root, value("--out") ?? "build/Release/apreqel.node");
const buildDir = buildDirFor(cuda);

const started = Date.now();
const fail = (message, code = 1) => {
  console.error(`apreqel build: ${message}`);
  process.exit(code);
};
const crossPrefix = process.env.APREQEL_CROSS_PREFIX ?? "aarch64-linux-gnu-";
const problems = missingSystemTools({
  needGit: !existsSync(path.join(root, "vendor", "llama.cpp", ".git")),
  env: cross ? { ...process.env, CC: `${crossPrefix}gcc`, CXX: `${crossPrefix}g++` } : process.env,
});
if (problems.length) {
  fail(`cannot build from source: ${problems.join("; ")}.\n` +
    "Install them (Debian/Ubuntu: `apt-get install g++ cmake ninja-build git`; macOS: Xcode command line tools and `brew install cmake`), " +
    "or use a platform with a prebuilt binary.", 3);
}
let deps;
try {
  deps = resolveBuildDeps(root);
} catch (e) {
  if (e instanceof BuildDepsError) fail(e.message, 4);
  throw e;
}
const vendored = spawnSync(process.execPath, [path.join(root, "scripts/vendor.mjs")], { stdio: "inherit" });
if (vendored.status !== 0) fail("preparing vendor/llama.cpp failed (see above)", vendored.status ?? 1);

const cmakeArgs = [`--CDAPREQEL_CUDA=${cuda ? "ON" : "OFF"}`, `--CDAPREQEL_TOOLS=${tools ? "ON" : "OFF"}`,
  // cmake-js finds node-addon-api only beside the project; ours may be in .cache/build-deps
  `--CDAPREQEL_NODE_ADDON_API_DIR=${deps.addonApi}`];
if (cross) cmakeArgs.push(`--CDCMAKE_TOOLCHAIN_FILE=${path.join(root, "scripts", "toolchains", "aarch64-linux-gnu.cmake")}`);
for (const a of (process.env.APREQEL_CMAKE_ARGS ?? "").split(/\s+/).filter(Boolean)) {
  if (!a.startsWith("-D")) {
    console.error(`apreqel build: APREQEL_CMAKE_ARGS accepts only -DNAME=VALUE entries, got "${a}"`);
    process.exit(2);
  }
  cmakeArgs.push(`--CD${a.slice(2)}`);
}
const cmakeJs = deps.cmakeJs;
// configure every time (cheap when nothing changed): `cmake-js compile` skips configuring an existing
// build dir, which would silently ignore changed options such as --tools
const cmakeJsRun = (verb, extra) =>
  spawnSync(process.execPath, [cmakeJs, verb, "--out", buildDir, "--parallel", String(jobs), ...extra], { cwd: root, stdio: "inherit" });
let r = cmakeJsRun("configure", cmakeArgs);
if (r.status !== 0) {
  fail(`configuring the build failed (cmake-js exit ${r.status ?? r.signal}; see cmake's messages above)` +
    (cuda ? ". CUDA builds need nvcc on PATH (or CUDACXX) and the CUDA toolkit" : ""), r.status ?? 1);
}
r = cmakeJsRun("build", cmakeArgs);
if (r.status !== 0) {
  fail(`compiling failed (exit ${r.status ?? r.signal}): see the first compiler error above. ` +
    "The tools were found; a compiler that is too old for C++17 or a full disk are the usual causes.", r.status ?? 1);
}

const built = path.join(buildDir, "Release", "apreqel.node");
if (!existsSync(built)) {
  console.error(`apreqel build: cmake-js finished but ${built} is missing`);
  process.exit(1);
}
mkdirSync(path.dirname(out), { recursive: true });
// copy + rename: a process that has the old binary loaded keeps its (unchanged) file
copyFileSync(built, `${out}.tmp-${process.pid}`);
renameSync(`${out}.tmp-${process.pid}`, out);

// Trust a fresh binary only once it loads and answers in a separate process (an aarch64 one under
// qemu-user when cross-compiled and APREQEL_QEMU_NODE names an aarch64 node; otherwise said so).
const probeCode = `const a=require(${JSON.stringify(out)}); if(!a.ggmlTypes().length) process.exit(3)`;
let checked = "loads";
let check;
if (!cross) {
  check = spawnSync(process.execPath, ["-e", probeCode], { encoding: "utf8" });
} else if (process.env.APREQEL_QEMU_NODE) {
  check = spawnSync("qemu-aarch64", ["-L", process.env.APREQEL_QEMU_SYSROOT ?? "/", process.env.APREQEL_QEMU_NODE, "-e", probeCode],
    { encoding: "utf8", timeout: 10 * 60_000 });
  checked = "loads under qemu-aarch64";
} else {
  checked = "not load-checked: set APREQEL_QEMU_NODE to an aarch64 node to check it under qemu-user";
}
if (check && check.status !== 0) {
  console.error(`apreqel build: ${out} was built but does not load:\n${check.stderr || check.error?.message || `exit ${check.status}, signal ${check.signal}`}`);
  process.exit(1);
}
console.log(`apreqel build: ${path.relative(root, out)} (${process.platform}-${arch}, ${cuda ? "CUDA" : "CPU"}${tools ? " + llama.cpp tools" : ""}; ${checked}) built in ${((Date.now() - started) / 1000).toFixed(0)} s`);

// installed as a dependency: keep the addon, drop the build tree, llama.cpp's source and the fetched
// build tools (scripts/build-cleanup.mjs; APREQEL_KEEP_BUILD=1 keeps them for a rebuild)
const cleaned = cleanAfterBuild(root, { buildDirs: [buildDir], tools });
if (cleaned.removed?.length) {
  console.log(`apreqel build: removed what only the build needed (${(cleaned.bytes / 2 ** 20).toFixed(0)} MiB: ${cleaned.removed.join(", ")}); APREQEL_KEEP_BUILD=1 keeps it`);
}
