// After a source build inside an app's node_modules, keeps the addon and drops what only the build
// needed: the cmake build tree, llama.cpp's cloned source (except the files the package ships under
// vendor/llama.cpp/, e.g. the vocabulary the fixtures use) and the build tools fetched into
// .cache/build-deps. Issue 26: a Jetson-style install (no prebuild) left node_modules at 316 MB,
// 291 MB of it this build's leftovers, against 33 MB with the prebuild.
//
// Not in a clone of the repository (a developer rebuilds), not when the llama.cpp tools were asked
// for (they live in the build tree), not with APREQEL_KEEP_BUILD=1 (a rebuild then starts from them).
// A later `apreqel build` clones and fetches again.
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

/** Files of vendor/llama.cpp/ that package.json's "files" ships (they must survive the cleanup). */
export function shippedVendorFiles(root) {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  // npm ships a LICENSE beside shipped files on its own: llama.cpp's, for the vocabulary
  return [...(pkg.files ?? []).filter((f) => f.startsWith("vendor/llama.cpp/")), "vendor/llama.cpp/LICENSE"].map((f) => path.normalize(f));
}

/** Whether `root` is a package installed as a dependency (a path through node_modules). */
export function installedAsDependency(root) {
  return path.resolve(root).split(path.sep).includes("node_modules");
}

/** Bytes of the files under `p` (0 when absent; links not followed). */
export function treeBytes(p) {
  let st;
  try {
    st = lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return 0;
  }
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    if (e.isSymbolicLink()) continue;
    total += treeBytes(path.join(p, e.name));
  }
  return total;
}

/**
 * Removes the build's leftovers under `root` and returns what it removed ({ removed: [relative
 * paths], bytes }), or { skipped: reason } when it keeps everything.
 */
export function cleanAfterBuild(root, { buildDirs, tools = false, env = process.env } = {}) {
  if (env.APREQEL_KEEP_BUILD === "1") return { skipped: "APREQEL_KEEP_BUILD=1" };
  if (!installedAsDependency(root)) return { skipped: "a clone of the repository (not under node_modules)" };
  if (tools) return { skipped: "the llama.cpp tools were built (they live in the build tree)" };
  const removed = [];
  let bytes = 0;
  const drop = (p) => {
    if (!lstatSync(p, { throwIfNoEntry: false })) return;
    bytes += treeBytes(p);
    rmSync(p, { recursive: true, force: true });
    removed.push(path.relative(root, p));
  };
  for (const dir of buildDirs ?? [path.join(root, "build-cmake")]) drop(dir);
  drop(path.join(root, ".cache", "build-deps"));
  const llama = path.join(root, "vendor", "llama.cpp");
  const keep = new Set(shippedVendorFiles(root).map((f) => path.join(root, f)));
  // everything under vendor/llama.cpp except the shipped files and the folders that hold them
  const prune = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (keep.has(p)) continue;
      if (e.isDirectory() && [...keep].some((k) => k.startsWith(p + path.sep))) prune(p);
      else drop(p);
    }
  };
  prune(llama);
  return { removed, bytes };
}
