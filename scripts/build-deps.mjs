// What building the addon from source needs besides a compiler, and where to find it.
//
// The build-only packages (cmake-js, node-addon-api, and node-llama-cpp, which we use only for the
// llama.cpp git bundle it ships) are devDependencies: a clone gets them from `npm install`, while an
// installed apreqel does not carry them (they are ~700 MB with node-llama-cpp's prebuilt binaries).
// They are looked up the way Node would resolve them from the package root (so a copy npm hoisted
// into the app's node_modules is found), and any that is missing is fetched at the pinned version
// into .cache/build-deps/ with the user's own npm (from its cache when offline): cmake-js and
// node-addon-api with `npm install`, node-llama-cpp with `npm pack` (its tarball alone; none of
// its platform binaries).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The first `node_modules/<name>` Node's resolution would find from `fromDir`, or null. */
export function findPackageDir(name, fromDir) {
  const require = createRequire(path.join(fromDir, "package.json"));
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return null;
}

function readJson(file) {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** The versions this package builds with: devDependencies for the tools, the vendor pin for node-llama-cpp. */
export function pinnedVersions(root) {
  const pkg = readJson(path.join(root, "package.json"));
  const pin = readJson(path.join(root, "vendor", "llama.cpp.pin.json"));
  const dev = { ...pkg.dependencies, ...pkg.devDependencies };
  return { "cmake-js": dev["cmake-js"], "node-addon-api": dev["node-addon-api"], "node-llama-cpp": pin.nodeLlamaCpp };
}

export class BuildDepsError extends Error {}

/** npm as the user runs it: the one running this install hook, else the one on PATH. */
function npm(args, cwd) {
  const [cmd, pre] = process.env.npm_execpath && /\.c?js$/.test(process.env.npm_execpath)
    ? [process.execPath, [process.env.npm_execpath]]
    : [process.platform === "win32" ? "npm.cmd" : "npm", []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: "utf8", shell: process.platform === "win32" });
  if (r.error) throw new BuildDepsError(`could not run npm (${r.error.message})`);
  if (r.status !== 0) throw new BuildDepsError(`\`npm ${args.join(" ")}\` failed:\n${(r.stderr || r.stdout).trim().split("\n").slice(-6).join("\n")}`);
  return r.stdout;
}

const installHint = (versions) =>
  "Possible solutions: let npm reach its registry (or fill its cache) and run `npx apreqel build` again; " +
  `or install the build packages beside apreqel: \`npm install --no-save cmake-js@${versions["cmake-js"]} ` +
  `node-addon-api@${versions["node-addon-api"]} node-llama-cpp@${versions["node-llama-cpp"]}\`.`;

/**
 * Finds (or fetches) the build tools: returns the cmake-js CLI and node-addon-api's folder (the
 * llama.cpp bundle is llamaBundle's, needed only when vendor/llama.cpp is not checked out yet).
 * Throws BuildDepsError saying what is missing and how to get it.
 */
export function resolveBuildDeps(root, { fetch = true, log = (m) => console.log(m) } = {}) {
  const versions = pinnedVersions(root);
  const cacheDir = path.join(root, ".cache", "build-deps");
  const where = (name) => findPackageDir(name, root) ?? (existsSync(path.join(cacheDir, "node_modules", name, "package.json")) ? path.join(cacheDir, "node_modules", name) : null);

  let cmakeJs = where("cmake-js");
  let addonApi = where("node-addon-api");
  if ((!cmakeJs || !addonApi) && fetch) {
    const want = [!cmakeJs && `cmake-js@${versions["cmake-js"]}`, !addonApi && `node-addon-api@${versions["node-addon-api"]}`].filter(Boolean);
    log(`apreqel build: fetching ${want.join(" ")} (build-only; not installed with apreqel)`);
    mkdirSync(cacheDir, { recursive: true });
    try {
      npm(["install", "--prefix", cacheDir, "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", ...want], cacheDir);
    } catch (e) {
      throw new BuildDepsError(`${want.join(" and ")} ${want.length > 1 ? "are" : "is"} not installed and could not be fetched: ${e.message}\n${installHint(versions)}`);
    }
    cmakeJs ??= where("cmake-js");
    addonApi ??= where("node-addon-api");
  }
  const missing = [!cmakeJs && "cmake-js", !addonApi && "node-addon-api"].filter(Boolean);
  if (missing.length) throw new BuildDepsError(`${missing.join(" and ")} not found. ${installHint(versions)}`);

  return { cmakeJs: path.join(cmakeJs, "bin", "cmake-js"), addonApi };
}

/** The pinned node-llama-cpp's llama/gitRelease.bundle: from an installed copy, else from its tarball. */
export function llamaBundle(root, version, { fetch = true, log = (m) => console.log(m), cacheDir = path.join(root, ".cache", "build-deps"), versions = pinnedVersions(root) } = {}) {
  const installed = findPackageDir("node-llama-cpp", root);
  if (installed) {
    const v = readJson(path.join(installed, "package.json")).version;
    if (v === version) {
      const bundle = path.join(installed, "llama", "gitRelease.bundle");
      if (!existsSync(bundle)) throw new BuildDepsError(`${bundle} is missing from node-llama-cpp ${v}`);
      return bundle;
    }
    log(`apreqel build: node-llama-cpp ${v} is installed but llama.cpp is pinned to node-llama-cpp ${version}'s bundle; using the pinned one`);
  }
  const extracted = path.join(cacheDir, `node-llama-cpp-${version}`, "gitRelease.bundle");
  if (existsSync(extracted)) return extracted;
  if (!fetch) throw new BuildDepsError(`node-llama-cpp ${version} (the llama.cpp source bundle) not found. ${installHint(versions)}`);
  log(`apreqel build: fetching the llama.cpp source from node-llama-cpp@${version}'s tarball (npm pack; its binaries are not downloaded)`);
  const tmp = path.join(cacheDir, `tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    npm(["pack", `node-llama-cpp@${version}`, "--prefer-offline", "--pack-destination", tmp], tmp);
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tgz) throw new BuildDepsError(`npm pack node-llama-cpp@${version} wrote no tarball`);
    execFileSync("tar", ["-xzf", tgz, "package/llama/gitRelease.bundle"], { cwd: tmp, stdio: ["ignore", "ignore", "pipe"] });
    mkdirSync(path.dirname(extracted), { recursive: true });
    renameSync(path.join(tmp, "package", "llama", "gitRelease.bundle"), extracted);
  } catch (e) {
    throw new BuildDepsError(`could not get node-llama-cpp ${version}'s llama.cpp bundle: ${e.message}\n${installHint(versions)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return extracted;
}

/** Is `cmd` runnable (on PATH)? Returns its first output line, or null. */
function probe(cmd, args = ["--version"]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return (r.stdout || r.stderr).split("\n")[0].trim();
}

/**
 * The system tools a source build needs, checked before anything runs so a missing one is named
 * as such (not reported as a compiler error). Returns a list of problems (empty when all is there).
 */
export function missingSystemTools({ needGit = true, env = process.env } = {}) {
  const problems = [];
  const cmake = probe(env.CMAKE ?? "cmake");
  if (!cmake) problems.push("cmake (≥ 3.18) is not on PATH");
  else {
    const m = /(\d+)\.(\d+)/.exec(cmake);
    if (m && (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 18))) problems.push(`${cmake} is too old: ≥ 3.18 is needed`);
  }
  if (process.platform !== "win32") {
    const cxx = env.CXX ? probe(env.CXX) : ["c++", "g++", "clang++"].map((c) => probe(c)).find(Boolean);
    if (!cxx) problems.push(env.CXX ? `the C++ compiler CXX=${env.CXX} does not run` : "no C++17 compiler on PATH (c++, g++ or clang++; or set CXX)");
    const cc = env.CC ? probe(env.CC) : ["cc", "gcc", "clang"].map((c) => probe(c)).find(Boolean);
    if (!cc) problems.push(env.CC ? `the C compiler CC=${env.CC} does not run` : "no C compiler on PATH (cc, gcc or clang; or set CC)");
    if (!probe("ninja") && !probe("make")) problems.push("neither ninja nor make is on PATH");
  }
  if (needGit && !probe("git")) problems.push("git is not on PATH (it unpacks the llama.cpp source)");
  return problems;
}
