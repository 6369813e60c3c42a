/** scripts/build-deps.mjs: build tools found the way Node resolves them (hoisted copies too), and a missing tool named as such. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";
import { tempDir } from "../helpers/tmp.js";

const deps = (await import(pathToFileURL(path.join(packageRoot, "scripts", "build-deps.mjs")).href)) as {
  findPackageDir(name: string, fromDir: string): string | null;
  missingSystemTools(o?: { needGit?: boolean; env?: NodeJS.ProcessEnv }): string[];
  llamaBundle(root: string, version: string, o?: { fetch?: boolean; log?: (m: string) => void }): string;
  BuildDepsError: new (m: string) => Error;
};

const dir = tempDir("apreqel-build-deps-");

/** app/node_modules/{apreqel, cmake-js}: npm hoisted cmake-js beside apreqel, as in issue 13. */
function hoistedApp(): string {
  const app = path.join(dir, `app-${Math.random().toString(36).slice(2)}`);
  const pkg = path.join(app, "node_modules", "apreqel");
  mkdirSync(path.join(pkg, "vendor"), { recursive: true });
  writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "apreqel", devDependencies: { "cmake-js": "7.3.1", "node-addon-api": "8.5.0" } }));
  writeFileSync(path.join(pkg, "vendor", "llama.cpp.pin.json"), JSON.stringify({ nodeLlamaCpp: "3.22.1" }));
  mkdirSync(path.join(app, "node_modules", "cmake-js"), { recursive: true });
  writeFileSync(path.join(app, "node_modules", "cmake-js", "package.json"), JSON.stringify({ name: "cmake-js", version: "7.3.1" }));
  return pkg;
}

describe("build dependencies", () => {
  it("finds a package npm hoisted into the app's node_modules, and says null for one that is nowhere", () => {
    const pkg = hoistedApp();
    expect(deps.findPackageDir("cmake-js", pkg)).toBe(path.join(path.dirname(pkg), "cmake-js"));
    expect(deps.findPackageDir("no-such-package-apreqel", pkg)).toBeNull();
  });

  it("without fetching, a missing llama.cpp bundle is reported with what to install", () => {
    const pkg = hoistedApp();
    let message = "";
    try {
      deps.llamaBundle(pkg, "3.22.1", { fetch: false, log: () => undefined });
    } catch (e) {
      expect(e).toBeInstanceOf(deps.BuildDepsError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^node-llama-cpp 3\.22\.1 \(the llama\.cpp source bundle\) not found\. Possible solutions: .*npm install --no-save cmake-js@7\.3\.1 node-addon-api@8\.5\.0 node-llama-cpp@3\.22\.1/);
  });

  it("names a compiler that does not run as a missing tool, not a compile error", () => {
    const problems = deps.missingSystemTools({ needGit: false, env: { ...process.env, CXX: path.join(dir, "no-such-g++"), CC: path.join(dir, "no-such-gcc") } });
    expect(problems).toContain(`the C++ compiler CXX=${path.join(dir, "no-such-g++")} does not run`);
    expect(problems).toContain(`the C compiler CC=${path.join(dir, "no-such-gcc")} does not run`);
  });
});
