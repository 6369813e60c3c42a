#!/usr/bin/env node
// Turns the pinned node-llama-cpp's llama.cpp git bundle (found or fetched by build-deps.mjs) into vendor/llama.cpp/ and applies
// vendor/patches/*.patch in order. Idempotent: a patch already applied is skipped; a patch that
// neither applies nor is already applied stops with a message (never skipped silently).
// Writes vendor/llama.cpp/APREQEL_VENDOR.json recording what was used.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BuildDepsError, llamaBundle } from "./build-deps.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const vendorDir = path.join(root, "vendor");
const llamaDir = path.join(vendorDir, "llama.cpp");
const patchDir = path.join(vendorDir, "patches");
const pin = JSON.parse(readFileSync(path.join(vendorDir, "llama.cpp.pin.json"), "utf8"));

function fail(message) {
  console.error(`apreqel vendor: ${message}`);
  process.exit(1);
}

function git(args, opts = {}) {
  return execFileSync("git", args, { cwd: llamaDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts }).trim();
}

function locateBundle() {
  try {
    return llamaBundle(root, pin.nodeLlamaCpp);
  } catch (e) {
    if (e instanceof BuildDepsError) fail(e.message);
    throw e;
  }
}

function cloneIfNeeded() {
  if (existsSync(path.join(llamaDir, ".git"))) return false;
  const bundle = locateBundle(); // only now: an existing checkout needs no bundle (nor a fetch)
  if (existsSync(llamaDir)) rmSync(llamaDir, { recursive: true, force: true });
  execFileSync("git", ["clone", "--quiet", "--no-checkout", bundle, llamaDir], { stdio: "inherit" });
  execFileSync("git", ["-c", "advice.detachedHead=false", "checkout", "--quiet", pin.llamaCppCommit], { cwd: llamaDir, stdio: "inherit" });
  return true;
}

function applyPatches() {
  const patches = readdirSync(patchDir).filter((f) => f.endsWith(".patch")).sort();
  const applied = [];
  for (const name of patches) {
    const file = path.join(patchDir, name);
    const check = (extra) => {
      try {
        git(["apply", "--check", ...extra, file]);
        return true;
      } catch {
        return false;
      }
    };
    if (check(["--reverse"])) {
      applied.push({ patch: name, status: "already applied" });
      continue;
    }
    if (!check([])) {
      let detail = "";
      try {
        git(["apply", "--check", "--verbose", file]);
      } catch (e) {
        detail = String(e.stderr || e.message).trim().split("\n").slice(-4).join("\n");
      }
      fail(`patch ${name} does not apply to llama.cpp ${pin.llamaCppCommit}.\n${detail}\n` +
        "Update the patch for the pinned llama.cpp, or delete vendor/llama.cpp/ if it holds local edits.");
    }
    git(["apply", file]);
    applied.push({ patch: name, status: "applied" });
  }
  return applied;
}

const cloned = cloneIfNeeded();
const head = git(["rev-parse", "HEAD"]);
if (head !== pin.llamaCppCommit) {
  fail(`vendor/llama.cpp is at ${head}, expected ${pin.llamaCppCommit}; delete vendor/llama.cpp/ and run again`);
}
const applied = applyPatches();
const record = {
  nodeLlamaCpp: pin.nodeLlamaCpp,
  llamaCppTag: pin.llamaCppTag,
  llamaCppCommit: head,
  patches: applied.map((p) => p.patch),
};
const recordPath = path.join(llamaDir, "APREQEL_VENDOR.json");
const text = JSON.stringify(record, null, 2) + "\n";
if (!existsSync(recordPath) || readFileSync(recordPath, "utf8") !== text) writeFileSync(recordPath, text);
for (const p of applied) console.log(`apreqel vendor: ${p.patch}: ${p.status}`);
console.log(`apreqel vendor: llama.cpp ${pin.llamaCppTag} (${head.slice(0, 12)}) ready${cloned ? " (cloned)" : ""}`);
