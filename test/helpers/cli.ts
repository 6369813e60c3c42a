import { spawn } from "node:child_process";
import path from "node:path";
import { vi } from "vitest";
import { main } from "../../lib/cli/main.js";
import { packageRoot } from "../../lib/native/loader.js";

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

/** Starts the CLI in a child process (from source, through vite-node). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const viteNode = path.join(packageRoot, "node_modules", "vite-node", "vite-node.mjs");
  return spawn(process.execPath, [viteNode, path.join(packageRoot, "test", "helpers", "run-cli.ts"), ...args], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
