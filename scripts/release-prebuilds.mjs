#!/usr/bin/env node
// Builds the prebuilt binary that `npm install apreqel` uses on one platform, into
// prebuilds/<platform>-<arch>/apreqel.node (ignored by git; `npm pack` ships the folder):
//
//   node scripts/release-prebuilds.mjs                 # this machine's platform (linux-x64 here)
//   node scripts/release-prebuilds.mjs --arch arm64    # linux-arm64, cross-compiled on x86-64 Linux
//   APREQEL_QEMU_NODE=/path/to/aarch64/node ...        # and load-checked under qemu-user
//
// CPU only, no llama.cpp tools, in its own build folder (build-release-<platform>-<arch>), stripped,
// then loaded in a child process (qemu-aarch64 for a cross build) before it is kept. The release
// recipe (README, "Releasing"): run this on each platform (.github/workflows/prebuild.yml does it on
// hosted runners), gather every prebuilds/ folder into one tree, then `npm pack` / `npm publish`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, renameSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const arch = value("--arch") ?? process.arch;
const target = `${process.platform}-${arch}`;
const out = path.join(root, "prebuilds", target, "apreqel.node");
const cross = arch !== process.arch;

const build = spawnSync(process.execPath, [
  path.join(root, "scripts", "build-native.mjs"), "--no-tools", "--build-dir", `build-release-${target}`, "--out", out,
  ...(cross ? ["--arch", arch] : []), ...(value("--jobs") ? ["--jobs", value("--jobs")] : []),
], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

// strip debug symbols (the addon's exports are Node-API's; nothing else needs them)
if (process.platform === "linux") {
  const strip = cross ? `${process.env.APREQEL_CROSS_PREFIX ?? "aarch64-linux-gnu-"}strip` : "strip";
  const tmp = `${out}.tmp-${process.pid}`;
  const r = spawnSync(strip, ["--strip-unneeded", "-o", tmp, out], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`apreqel release: ${strip} failed${r.error ? ` (${r.error.message})` : ""}`);
    process.exit(1);
  }
  renameSync(tmp, out);
}

// the stripped file must still load
const probe = `const a=require(${JSON.stringify(out)}); if(!a.ggmlTypes().length) process.exit(3)`;
let how = "loads";
let check = null;
if (!cross) check = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
else if (process.env.APREQEL_QEMU_NODE) {
  check = spawnSync("qemu-aarch64", ["-L", process.env.APREQEL_QEMU_SYSROOT ?? "/", process.env.APREQEL_QEMU_NODE, "-e", probe],
    { encoding: "utf8", timeout: 10 * 60_000 });
  how = "loads under qemu-aarch64";
} else how = "NOT load-checked (set APREQEL_QEMU_NODE to an aarch64 node)";
if (check && check.status !== 0) {
  console.error(`apreqel release: the stripped ${out} does not load:\n${check.stderr || check.error?.message || `exit ${check.status}`}`);
  process.exit(1);
}
const sha = createHash("sha256").update(readFileSync(out)).digest("hex");
console.log(`apreqel release: prebuilds/${target}/apreqel.node, ${(statSync(out).size / 2 ** 20).toFixed(1)} MiB, sha256 ${sha}; ${how}`);
