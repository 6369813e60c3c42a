/** Where the package lives and which version it is. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: this file is lib/core/package.ts or dist/core/package.js. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** apreqel's version, from package.json ("unknown" when it names none). */
export function packageVersion(root = packageRoot): string {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}
