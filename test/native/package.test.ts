/**
 * The package as a user meets it: `npm pack` of this tree, installed into a fresh app with npm
 * (offline-friendly: --prefer-offline takes everything from npm's cache, which the repo's own
 * `npm install` filled), then the installed `apreqel` command run from that app.
 *
 *  - no prebuild, install scripts skipped: `apreqel build` builds from source there, then quantize;
 *  - no prebuild, install scripts run: the install hook builds from source;
 *  - a matching prebuild and no compiler on PATH: installs (with and without scripts) and quantizes.
 *
 * Each source build compiles llama.cpp again in the app. With ccache on PATH, llama.cpp's CMake
 * uses it by itself; CCACHE_BASEDIR is set to a folder above both this tree and the apps so the
 * objects are shared (the relative paths inside the package are the same). The build times are
 * printed. Set APREQEL_SKIP_PACKAGE_TEST=1 to skip the file.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";

// the build script's own check of the system tools (a plain .mjs without types)
const { missingSystemTools } = (await import(pathToFileURL(path.join(packageRoot, "scripts", "build-deps.mjs")).href)) as {
  missingSystemTools: () => string[];
};

const skipAll = process.env.APREQEL_SKIP_PACKAGE_TEST === "1" ? "APREQEL_SKIP_PACKAGE_TEST=1" : !probe("npm") ? "npm is not on PATH" : null;
const toolProblems = skipAll ? [] : missingSystemTools();
const skipBuild = skipAll ?? (toolProblems.length ? `cannot build from source here: ${toolProblems.join("; ")}` : null);
const builtAddon = path.join(packageRoot, "build", "Release", "apreqel.node");
const skipPrebuild = skipAll ?? (existsSync(builtAddon) ? null : "no built addon in build/Release to ship as the prebuild");
for (const reason of new Set([skipAll, skipBuild, skipPrebuild].filter(Boolean))) console.warn(`package.test: skipping some tests: ${reason}`);

const BUILD_TIMEOUT = 30 * 60_000;

function probe(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

let work = "";
let tgz = "";

/** The environment of a user's shell: no npm_* variables from the npm running these tests, no addon overrides. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("npm_") || k.startsWith("APREQEL_") || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return { ...env, ...ccacheEnv(), ...extra };
}

/** A ccache base folder above this tree and the apps, else above the apps alone (see the header). */
function ccacheEnv(): NodeJS.ProcessEnv {
  if (!probe("ccache")) return {};
  const inside = (dir: string, base: string) => !path.relative(base, dir).startsWith("..");
  const given = process.env.CCACHE_BASEDIR;
  if (given && inside(work, given) && inside(packageRoot, given)) return { CCACHE_BASEDIR: given, CCACHE_NOHASHDIR: "1" };
  let common = work;
  while (!inside(packageRoot, common)) common = path.dirname(common);
  return { CCACHE_BASEDIR: common === path.parse(common).root ? work : common, CCACHE_NOHASHDIR: "1" };
}

interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking this worker (vitest's RPC times out on a blocked event loop). */
function run(cmd: string, args: readonly string[], cwd: string, env = userEnv(), timeout = BUILD_TIMEOUT): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function ok(r: Ran, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status ?? r.signal}:\n${`${r.stdout}\n${r.stderr}`.slice(-4000)}`);
  return `${r.stdout}\n${r.stderr}`;
}

/** A fresh app folder (its own package.json, so npm installs there and Node resolves from there). */
function app(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `app-${name}`, version: "1.0.0", private: true }));
  return dir;
}

async function install(dir: string, tarball: string, scripts: boolean, env = userEnv()): Promise<string> {
  const started = Date.now();
  const out = ok(await run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--foreground-scripts", ...(scripts ? [] : ["--ignore-scripts"])], dir, env), "npm install");
  console.log(`package.test: npm install ${scripts ? "with" : "without"} scripts in ${path.basename(dir)}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return out;
}

/** Runs the installed `apreqel` through the bin link npm made. */
function apreqel(dir: string, args: readonly string[], env = userEnv()): Promise<Ran> {
  return run(path.join(dir, "node_modules", ".bin", "apreqel"), args, dir, env);
}

/** A tiny model, then the whole method on it with small settings; returns the mixed model's path. */
async function quantizeFixture(dir: string, env = userEnv()): Promise<string> {
  const model = path.join(dir, "tiny-f16.gguf");
  ok(await apreqel(dir, ["fixture", "-o", model, "--shape", "tiny"], env), "apreqel fixture");
  const out = path.join(dir, "tiny-mixed.gguf");
  const started = Date.now();
  ok(
    await apreqel(dir, ["quantize", model, "-o", out, "--types", "q8_0,q4_K", "--cache-dir", path.join(dir, "cache"), "--threads", "2",
      "--ctx", "128", "--chunks", "2", "--n-gen", "4", "--n-prompt", "16", "--reps", "1"], env),
    "apreqel quantize",
  );
  console.log(`package.test: quantize of the fixture in ${path.basename(dir)}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const info = ok(await apreqel(dir, ["inspect", out], env), "apreqel inspect");
  expect(info).toMatch(/q4_K|q8_0/);
  return out;
}

/** Repacks the extracted package with or without a prebuild for this platform. */
async function variant(name: string, prebuild: string | null): Promise<string> {
  const dir = path.join(work, `pkg-${name}`);
  mkdirSync(dir);
  ok(await run("tar", ["-xzf", tgz, "-C", dir], work), "tar -x");
  const prebuilds = path.join(dir, "package", "prebuilds");
  rmSync(prebuilds, { recursive: true, force: true });
  if (prebuild) {
    const to = path.join(prebuilds, `${process.platform}-${process.arch}`);
    mkdirSync(to, { recursive: true });
    copyFileSync(prebuild, path.join(to, "apreqel.node"));
  }
  const out = path.join(work, `apreqel-${name}.tgz`);
  ok(await run("tar", ["-czf", out, "-C", dir, "package"], work), "tar -c");
  return out;
}

describe.skipIf(skipAll)("the packed package installed into a fresh app", () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(process.env.APREQEL_PACKAGE_TEST_DIR ?? os.tmpdir(), "apreqel-package-"));
    // npm pack runs `prepare` (tsc → dist/), as publishing would
    const out = ok(await run("npm", ["pack", "--pack-destination", work], packageRoot, userEnv(), 10 * 60_000), "npm pack");
    const name = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!name) throw new Error(`npm pack wrote no tarball:\n${out.slice(-2000)}`);
    tgz = path.join(work, name);
  }, 10 * 60_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds the runtime and the build recipe, not the llama.cpp source or build outputs", async () => {
    const list = ok(await run("tar", ["-tzf", tgz], work), "tar -t").split("\n").filter(Boolean);
    for (const f of ["package/LICENSE", "package/bin/apreqel.js", "package/dist/cli/main.js", "package/scripts/build-deps.mjs",
      "package/scripts/build-native.mjs", "package/vendor/llama.cpp.pin.json", "package/CMakeLists.txt"]) {
      expect(list).toContain(f);
    }
    // of llama.cpp only the tokenizer `apreqel fixture` and `demo` use (without it they need a source build), with its licence
    const vocab = "package/vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf";
    const shipped = [vocab, "package/vendor/llama.cpp/LICENSE"];
    expect(list.filter((f) => /^package\/(node_modules|build|build-cmake|vendor\/llama\.cpp|\.cache)\//.test(f) && !shipped.includes(f))).toEqual([]);
    if (existsSync(path.join(packageRoot, "vendor", "llama.cpp", "models"))) expect(list).toContain(vocab);
    const pkg = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain("node-llama-cpp");
    expect(Object.keys(pkg.dependencies)).not.toContain("cmake-js");
  });

  it.skipIf(skipBuild)("no prebuild, no install scripts: `apreqel build` builds from source, then quantizes", async () => {
    const dir = app("source-build");
    await install(dir, await variant("no-prebuild", null), false);
    // slim: the build-only packages were not installed
    for (const p of ["cmake-js", "node-addon-api", "node-llama-cpp", "@node-llama-cpp"]) expect(existsSync(path.join(dir, "node_modules", p))).toBe(false);
    const before = await apreqel(dir, ["fixture", "-o", path.join(dir, "x.gguf")]);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toContain("npx apreqel build");

    const started = Date.now();
    const built = ok(await apreqel(dir, ["build", "--jobs", String(os.availableParallelism())]), "apreqel build");
    console.log(`package.test: apreqel build in the app: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    expect(built).toContain("fetching"); // the build tools came at their pins, not from the app's dependencies
    expect(existsSync(path.join(dir, "node_modules", "apreqel", "build", "Release", "apreqel.node"))).toBe(true);
    await quantizeFixture(dir);
  }, BUILD_TIMEOUT);

  it.skipIf(skipBuild)("no prebuild, install scripts run: the install hook builds from source", async () => {
    const dir = app("install-build");
    const started = Date.now();
    await install(dir, await variant("no-prebuild-2", null), true);
    console.log(`package.test: npm install building from source: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const pkg = path.join(dir, "node_modules", "apreqel");
    expect(existsSync(path.join(pkg, "build", "Release", "apreqel.node"))).toBe(true);
    // issue 26: the build cleaned up after itself (it left 291 MB), keeping the vocabulary `fixture` uses
    for (const gone of ["build-cmake", path.join("vendor", "llama.cpp", ".git"), path.join(".cache", "build-deps")]) expect(existsSync(path.join(pkg, gone)), gone).toBe(false);
    const size = Number(ok(await run("du", ["-sb", path.join(dir, "node_modules")], dir), "du").split(/\s+/)[0]);
    console.log(`package.test: node_modules after a source build: ${(size / 2 ** 20).toFixed(1)} MiB`);
    expect(size).toBeLessThan(50 * 2 ** 20);
    ok(await apreqel(dir, ["fixture", "-o", path.join(dir, "m.gguf")]), "apreqel fixture");
  }, BUILD_TIMEOUT);

  it.skipIf(skipPrebuild)("a matching prebuild and no compiler on PATH: installs with and without scripts, and quantizes", async () => {
    // PATH holds node, npm and sh only: no cc, c++, cmake, make, ninja or git
    const bin = path.join(work, "bin-no-compiler");
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, "node"));
    const npmOnPath = (await run("sh", ["-c", "command -v npm"], work)).stdout.trim();
    const npmJs = realpathSync(npmOnPath); // npm's bin link → npm-cli.js, which runs with the node on PATH
    symlinkSync(npmJs, path.join(bin, "npm"));
    symlinkSync("/bin/sh", path.join(bin, "sh"));
    const env = userEnv({ PATH: bin });
    for (const tool of ["cc", "c++", "g++", "cmake", "git"]) expect((await run("sh", ["-c", `command -v ${tool}`], work, env)).status).not.toBe(0);

    const tarball = await variant("prebuild", builtAddon);
    const withScripts = app("prebuild-scripts");
    expect(await install(withScripts, tarball, true, env)).toMatch(/using prebuilt prebuilds\/[a-z0-9]+-[a-z0-9]+\/apreqel\.node/);
    expect(existsSync(path.join(withScripts, "node_modules", "apreqel", "build"))).toBe(false);
    await quantizeFixture(withScripts, env);

    const noScripts = app("prebuild-no-scripts");
    await install(noScripts, tarball, false, env);
    ok(await apreqel(noScripts, ["fixture", "-o", path.join(noScripts, "m.gguf")], env), "apreqel fixture");
  }, BUILD_TIMEOUT);
});
