/**
 * scripts/build-cleanup.mjs (issue 26): after a source build inside an app's node_modules only the
 * addon and the files the package ships stay; a clone, a tools build and APREQEL_KEEP_BUILD=1 keep all.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";
import { tempDir } from "../helpers/tmp.js";

type Cleaned = { removed: string[]; bytes: number } | { skipped: string };
const cleanup = (await import(pathToFileURL(path.join(packageRoot, "scripts", "build-cleanup.mjs")).href)) as {
  cleanAfterBuild(root: string, o?: { buildDirs?: string[]; tools?: boolean; env?: NodeJS.ProcessEnv }): Cleaned;
  installedAsDependency(root: string): boolean;
};

const dir = tempDir("apreqel-build-cleanup-");

/** A package after a source build: the addon, the build tree, llama.cpp's clone, the fetched tools. */
function builtPackage(under: string): string {
  const pkg = path.join(dir, `${Math.random().toString(36).slice(2)}`, under);
  const file = (rel: string, bytes: number) => {
    mkdirSync(path.dirname(path.join(pkg, rel)), { recursive: true });
    writeFileSync(path.join(pkg, rel), Buffer.alloc(bytes));
  };
  writeFileSync(path.join((mkdirSync(pkg, { recursive: true }), pkg), "package.json"), JSON.stringify({ name: "apreqel", files: ["dist/", "vendor/patches/", "vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf"] }));
  file("build/Release/apreqel.node", 1000);
  file("dist/index.js", 10);
  file("vendor/patches/0001.patch", 10);
  file("build-cmake/bin/llama-quantize", 5000);
  file("build-cmake/CMakeCache.txt", 100);
  file(".cache/build-deps/node_modules/cmake-js/package.json", 300);
  file("vendor/llama.cpp/.git/objects/pack/p.pack", 20000);
  file("vendor/llama.cpp/src/llama.cpp", 700);
  file("vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf", 50);
  file("vendor/llama.cpp/models/ggml-vocab-phi-3.gguf", 60);
  file("vendor/llama.cpp/LICENSE", 40);
  return pkg;
}

function files(root: string, rel = ""): string[] {
  const here = path.join(root, rel);
  return readdirSync(here, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(root, path.join(rel, e.name)) : [path.join(rel, e.name)])).sort();
}

describe("cleanAfterBuild", () => {
  it("in node_modules: keeps the addon and the shipped files, removes the rest and says how much", () => {
    const pkg = builtPackage(path.join("app", "node_modules", "apreqel"));
    const r = cleanup.cleanAfterBuild(pkg, { buildDirs: [path.join(pkg, "build-cmake")], env: {} });
    expect(files(pkg)).toEqual(["build/Release/apreqel.node", "dist/index.js", "package.json", "vendor/llama.cpp/LICENSE", "vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf", "vendor/patches/0001.patch"]);
    expect(r).toEqual({
      removed: ["build-cmake", ".cache/build-deps", "vendor/llama.cpp/.git", "vendor/llama.cpp/models/ggml-vocab-phi-3.gguf", "vendor/llama.cpp/src"],
      bytes: 5000 + 100 + 300 + 20000 + 60 + 700,
    });
  });

  it("keeps everything in a clone, after a tools build, and with APREQEL_KEEP_BUILD=1", () => {
    const clone = builtPackage("apreqel");
    expect(cleanup.cleanAfterBuild(clone, { env: {} })).toEqual({ skipped: "a clone of the repository (not under node_modules)" });
    const tools = builtPackage(path.join("app", "node_modules", "apreqel"));
    expect(cleanup.cleanAfterBuild(tools, { tools: true, env: {} })).toMatchObject({ skipped: expect.stringMatching(/tools/) });
    const kept = builtPackage(path.join("app", "node_modules", "apreqel"));
    expect(cleanup.cleanAfterBuild(kept, { env: { APREQEL_KEEP_BUILD: "1" } })).toEqual({ skipped: "APREQEL_KEEP_BUILD=1" });
    for (const p of [clone, tools, kept]) expect(existsSync(path.join(p, "vendor", "llama.cpp", ".git"))).toBe(true);
  });

  it("a package is a dependency when its path goes through node_modules", () => {
    expect(cleanup.installedAsDependency("/srv/app/node_modules/apreqel")).toBe(true);
    expect(cleanup.installedAsDependency("/home/me/apreqel")).toBe(false);
  });
});
