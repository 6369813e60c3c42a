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
  if (existsSync(sourceBuild) && prebuilds.every((p) => statSync(p).mtimeMs < statSync(sourceBuild).mtimeMs)) {
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
  try {
    const bindings = require("bindings") as (opts: { bindings: string; module_root: string }) => unknown;
    return bindings({ bindings: "apreqel.node", module_root: root });
  } catch (e) {
    const msg = (e as Error).message;
    failures.push(msg.startsWith("Could not locate the bindings file") ? "no source build in build/Release" : msg.split("\n")[0]!);
  }
  throw new Error(
    `apreqel: no native addon for ${process.platform}-${process.arch} could be loaded ` +
      `(${failures.join("; ")}). Build it with \`npx apreqel build\` ` +
      "(needs a C++17 compiler, cmake and git; add --cuda for NVIDIA GPUs).",
  );
}
