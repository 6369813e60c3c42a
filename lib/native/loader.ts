/**
 * Finds the native addon: a prebuilt binary shipped in prebuilds/<platform>-<arch>/ first
 * (what `npm install apreqel` uses, since npm may skip our install script), then a source build
 * in build/Release (through `bindings`). A source build newer than the prebuilds goes first: it is
 * what the user built on purpose (`apreqel build --cuda`, say). When none loads, one error says what to do.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { packageRoot } from "../core/package.js";

const require = createRequire(import.meta.url);

/** Prebuilt binaries for this platform, in the order they are tried. */
export function prebuildCandidates(root = packageRoot, platform = process.platform, arch = process.arch): string[] {
  const dir = path.join(root, "prebuilds", `${platform}-${arch}`);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".node") && (f.includes("napi") || f.startsWith("apreqel")))
    .sort()
    .map((f) => path.join(dir, f));
}

/** What a source build is made from: a change to any of these needs a rebuild. */
function buildSources(root: string): string[] {
  const list = (dir: string, ok: (f: string) => boolean) =>
    existsSync(path.join(root, dir)) ? readdirSync(path.join(root, dir)).filter(ok).map((f) => path.join(root, dir, f)) : [];
  return [
    ...list("native", (f) => /\.(cpp|h)$/.test(f)),
    ...list(path.join("vendor", "patches"), (f) => f.endsWith(".patch")),
    ...[path.join(root, "CMakeLists.txt"), path.join(root, "vendor", "llama.cpp.pin.json")].filter((f) => existsSync(f)),
  ];
}

/**
 * The newest of the addon's sources changed after the source build `built` was made, or undefined.
 * A build older than its sources (a checkout or pull without a rebuild) may read its arguments in
 * another layout than the JS passes them: the numbers it returns would be wrong without an error
 * (a probe's results array read with another stride gave nulls in every cached probe), so it is not
 * loaded. npm sets every file of an installed package to one old time, so this only ever fires in a
 * clone.
 *
 * @example
 * staleBy("/repo", "/repo/build/Release/apreqel.node") // "native/probe.cpp" after editing it
 */
export function staleBy(root: string, built: string): string | undefined {
  const builtAt = statSync(built).mtimeMs;
  let newest: { file: string; at: number } | undefined;
  for (const file of buildSources(root)) {
    const at = statSync(file).mtimeMs;
    if (at > builtAt && (newest === undefined || at > newest.at)) newest = { file, at };
  }
  return newest && path.relative(root, newest.file);
}

export function loadAddon(root = packageRoot): unknown {
  const failures: string[] = [];
  const override = process.env.APREQEL_ADDON;
  if (override) {
    try {
      return require(path.resolve(override));
    } catch (e) {
      failures.push(`APREQEL_ADDON=${override}: ${(e as Error).message}`);
    }
  }
  const sourceBuild = path.join(root, "build", "Release", "apreqel.node");
  const prebuilds = prebuildCandidates(root);
  const stale = existsSync(sourceBuild) ? staleBy(root, sourceBuild) : undefined;
  if (stale !== undefined) {
    failures.push(`build/Release/apreqel.node is older than ${stale}: rebuild it (\`npm run build\`), or set APREQEL_ADDON to its path to load it as it is`);
  } else if (existsSync(sourceBuild) && prebuilds.every((p) => statSync(p).mtimeMs < statSync(sourceBuild).mtimeMs)) {
    try {
      return require(sourceBuild);
    } catch (e) {
      failures.push(`build/Release/apreqel.node: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  for (const file of prebuilds) {
    try {
      return require(file);
    } catch (e) {
      failures.push(`${path.relative(root, file)}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  // (bindings would find the stale build again)
  if (stale !== undefined) throw noAddon(failures);
  try {
    const bindings = require("bindings") as (opts: { bindings: string; module_root: string }) => unknown;
    return bindings({ bindings: "apreqel.node", module_root: root });
  } catch (e) {
    const msg = (e as Error).message;
    failures.push(msg.startsWith("Could not locate the bindings file") ? "no source build in build/Release" : msg.split("\n")[0]!);
  }
  throw noAddon(failures);
}

function noAddon(failures: readonly string[]): Error {
  return new Error(
    `apreqel: no native addon for ${process.platform}-${process.arch} could be loaded ` +
      `(${failures.join("; ")}). Build it with \`npx apreqel build\` ` +
      "(needs a C++17 compiler, cmake and git; add --cuda for NVIDIA GPUs).",
  );
}
