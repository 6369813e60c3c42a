/**
 * Runs a command in a child process without blocking the test worker. A spawnSync/execFileSync of
 * llama.cpp's tools holds the worker's event loop for as long as the tool runs: on a busy machine
 * that is over a minute, and vitest's worker then misses its own RPC deadline ("Timeout calling
 * onTaskUpdate", issue 26). Every test that runs a tool goes through here.
 */
import { spawn, type SpawnOptions } from "node:child_process";

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runProcess(cmd: string, args: readonly string[], options: Omit<SpawnOptions, "stdio"> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => void (stdout += String(d)));
    child.stderr!.on("data", (d: Buffer) => void (stderr += String(d)));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** runProcess, throwing with the end of stderr unless the command exits 0. */
export async function runOk(cmd: string, args: readonly string[], options: Omit<SpawnOptions, "stdio"> = {}): Promise<RunResult> {
  const r = await runProcess(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}: ${r.stderr.slice(-1500)}`);
  return r;
}
