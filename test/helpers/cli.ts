import { spawn } from "node:child_process";
import path from "node:path";
import { vi } from "vitest";
import { main } from "../../lib/cli/main.js";
import { packageRoot } from "../../lib/core/package.js";

/** Runs the CLI in this process, capturing what it prints. */
export async function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void (stdout += a.join(" ") + "\n"));
  const err = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void (stderr += a.join(" ") + "\n"));
  const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    log.mockRestore();
    err.mockRestore();
    write.mockRestore();
  }
}

/**
 * Compiles lib/ to dist/ (what bin/apreqel.js runs), so a child process runs the current source
 * exactly as a user would (vite-node is no stand-in here: its server exits on SIGTERM itself).
 * Asynchronous: a blocked test worker misses vitest's own messages on a busy machine.
 */
export async function buildDist(): Promise<void> {
  const child = spawn(process.execPath, [path.join(packageRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: packageRoot,
    stdio: "inherit",
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", resolve);
  });
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${code}`);
}

/** Starts `bin/apreqel.js ARGS` in a child process (call buildDist() first). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), ...args], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
