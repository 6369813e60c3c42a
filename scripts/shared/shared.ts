/** The shared models and data beside the checkout (../shared); tests skip with this reason when absent. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";

export const sharedDir = path.resolve(packageRoot, "..", "shared");

export function sharedFile(relative: string): string | null {
  const file = path.join(sharedDir, relative);
  return existsSync(file) ? file : null;
}

export function skipReason(relative: string): string {
  return `../shared/${relative} is not present beside the checkout`;
}

/** The first `bytes` of a text file (whole lines). */
export function head(file: string, bytes: number): string {
  const text = readFileSync(file, "utf8");
  if (text.length <= bytes) return text;
  return text.slice(0, text.lastIndexOf("\n", bytes) + 1);
}
