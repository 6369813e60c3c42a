// The import graph of lib/ (docs/architecture.md draws it): each folder imports only the folders
// below it, lib/method only itself, and no file reaches itself through its imports.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";

const lib = path.join(packageRoot, "lib");

/** Folder → the lib/ folders its files may import (besides their own). "." is lib/index.ts. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: ["method"],
  method: [],
  native: ["core"],
  gguf: ["method"],
  cache: ["core"],
  ops: ["core", "native", "gguf", "method"],
  report: ["core", "method", "gguf", "pipeline"],
  pipeline: ["core", "method", "gguf", "ops", "cache"],
  portfolio: ["core", "method", "cache", "ops", "pipeline"],
  fleet: ["core", "method", "gguf", "cache", "ops", "pipeline", "portfolio"],
  cli: ["core", "method", "gguf", "ops", "cache", "report", "pipeline", "native", "portfolio", "fleet"],
  ".": ["core", "method", "gguf", "ops", "cache", "report", "pipeline", "portfolio", "fleet"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

/** Relative imports of a source file (static, type-only, re-exports and dynamic), as lib-relative .ts paths. */
function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1]!);
  return specs.map((s) => path.relative(lib, path.resolve(path.dirname(file), s)).replace(/\.js$/, ".ts"));
}

const folderOf = (rel: string): string => (rel.includes("/") ? rel.split("/")[0]! : ".");

const graph = new Map(
  sources(lib).map((file) => [path.relative(lib, file), importsOf(file, readFileSync(file, "utf8"))] as const),
);

/** Every cycle's first closing path found by depth-first search, as "a → b → a". */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" → "));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("lib/ import graph", () => {
  it("reads every kind of relative import", () => {
    const text = 'import a from "./a.js";\nimport type { B } from "../core/b.js";\nexport * from "./c.js";\nconst d = import("./d.js");\nimport "./e.js";';
    expect(importsOf(path.join(lib, "ops", "x.ts"), text)).toEqual(["ops/a.ts", "core/b.ts", "ops/c.ts", "ops/d.ts", "ops/e.ts"]);
  });

  it("finds a cycle in a hand-made graph and none in a tree", () => {
    expect(findCycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]))).toEqual(["a → b → c → a"]);
    expect(findCycles(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]))).toEqual([]);
  });

  it("knows every folder of lib/", () => {
    expect([...new Set([...graph.keys()].map(folderOf))].filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it("has no upward arrow: each folder imports only the folders below it", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports.filter((to) => folderOf(to) !== folderOf(file) && !ALLOWED[folderOf(file)]!.includes(folderOf(to))).map((to) => `${file} → ${to}`),
    );
    expect(upward).toEqual([]);
  });

  it("keeps lib/method pure: it imports nothing outside lib/method, not even node: modules", () => {
    const outside = [...graph.keys()]
      .filter((file) => folderOf(file) === "method")
      .flatMap((file) => {
        const text = readFileSync(path.join(lib, file), "utf8");
        const packages = [...text.matchAll(/\bfrom\s*["']([^."'][^"']*)["']/g)].map((m) => m[1]!);
        return [...graph.get(file)!.filter((to) => folderOf(to) !== "method"), ...packages].map((to) => `${file} → ${to}`);
      });
    expect(outside).toEqual([]);
  });

  it("lets only lib/ops and lib/native import the raw binding", () => {
    const importers = [...graph].filter(([file, imports]) => imports.includes("native/binding.ts") && !/^(ops|native)\//.test(file));
    expect(importers.map(([file]) => file)).toEqual([]);
  });

  it("has no cycle", () => {
    expect(findCycles(graph)).toEqual([]);
  });
});

// Beside lib/: tests and scripts. scripts/shared is what both use; the benchmarks, the fuzzer and the
// evaluation import lib/ and scripts/shared, never test/ (a benchmark must not depend on the suite's
// helpers); tests may import scripts (they test the fuzzer, the API report, the benchmarks' parsers).
// So the arrows between the two trees all point one way: no test ↔ scripts cycle.
describe("scripts/ and test/ import graph", () => {
  const tree = (root: string) =>
    sources(path.join(packageRoot, root)).map((file) => {
      const text = readFileSync(file, "utf8");
      const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1]!);
      return { file: path.relative(packageRoot, file), imports: specs.map((s) => path.relative(packageRoot, path.resolve(path.dirname(file), s))) };
    });

  it("scripts import nothing from test/", () => {
    const up = tree("scripts").flatMap(({ file, imports }) => imports.filter((to) => to.startsWith("test/")).map((to) => `${file} → ${to}`));
    expect(up).toEqual([]);
  });

  it("scripts/shared imports only lib/ and itself", () => {
    const out = tree(path.join("scripts", "shared")).flatMap(({ file, imports }) => imports.filter((to) => !to.startsWith("lib/") && !to.startsWith("scripts/shared/")).map((to) => `${file} → ${to}`));
    expect(out).toEqual([]);
  });

  it("lib imports neither scripts nor test", () => {
    const out = [...graph].flatMap(([file, imports]) => imports.filter((to) => to.startsWith("../")).map((to) => `lib/${file} → ${to}`));
    expect(out).toEqual([]);
  });
});
