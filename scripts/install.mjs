#!/usr/bin/env node
// npm's install hook. A matching prebuilt binary (prebuilds/<platform>-<arch>/) that loads in a
// child process means nothing to build; otherwise build from source (scripts/build-native.mjs).
// APREQEL_BUILD_FROM_SOURCE=1 skips the prebuild check. Note: npm 11 skips this hook for
// dependencies unless the user allows it, so the package must also work from prebuilds alone.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function loads(file) {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(file)}).ggmlTypes()`], { encoding: "utf8" });
  return r.status === 0;
}

if (process.env.APREQEL_BUILD_FROM_SOURCE !== "1") {
  const dir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
  const prebuilt = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".node")).map((f) => path.join(dir, f)) : [];
  const working = prebuilt.find(loads);
  if (working) {
    console.log(`apreqel: using prebuilt ${path.relative(root, working)}`);
    process.exit(0);
  }
  if (prebuilt.length > 0) console.log("apreqel: the prebuilt binary does not load here; building from source");
}
const r = spawnSync(process.execPath, [path.join(root, "scripts/build-native.mjs")], { stdio: "inherit" });
process.exit(r.status ?? 1);
