/**
 * Runs a child process inside a memory cgroup, so that a test or benchmark can show a job
 * finishing with less memory than the model it streams (issue 6, item 6). The limit counts
 * everything the kernel charges to the group: anonymous memory and the page cache of the files
 * read and written. Works with cgroup v1 (memory controller) and v2; needs permission to create
 * a group (root here and in CI), and says why not when it cannot.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../../lib/core/package.js";

export interface MemoryCgroup {
  readonly dir: string;
  readonly limitBytes: number;
  /** the group's peak charge (anonymous + page cache) since it was made; undefined where the kernel does not say */
  peakBytes(): number | undefined;
  /** times the group hit its limit and had to reclaim */
  limitHits(): number | undefined;
  /** how many processes the kernel killed for running out of memory in the group */
  oomKills(): number | undefined;
  /** spawns `command args` inside the group; resolves with its exit and output */
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ChildExit>;
  remove(): void;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const V1 = "/sys/fs/cgroup/memory";
const V2 = "/sys/fs/cgroup";

/** Makes a memory cgroup of `limitBytes`, or returns why it cannot. */
export function memoryCgroup(name: string, limitBytes: number): MemoryCgroup | { readonly reason: string } {
  let group: MemoryCgroup | undefined;
  try {
    if (existsSync(path.join(V1, "memory.limit_in_bytes"))) group = v1(name, limitBytes);
    else if (existsSync(path.join(V2, "cgroup.controllers"))) group = v2(name, limitBytes);
    else return { reason: "no cgroup memory controller is mounted under /sys/fs/cgroup" };
    // a group can exist and still refuse processes (a container's delegated hierarchy)
    execFileSync("sh", ["-c", `echo $$ > "${path.join(group.dir, "cgroup.procs")}"`], { stdio: "pipe" });
    return group;
  } catch (e) {
    group?.remove();
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    return { reason: `cannot make a memory cgroup here (${stderr || (e as Error).message})` };
  }
}

/**
 * Why a memory limit cannot show streaming in `dir`, or undefined when it can: on tmpfs the
 * files themselves are memory, which the kernel cannot reclaim without swap.
 */
export function pageCacheReason(dir: string): string | undefined {
  const TMPFS_MAGIC = 0x01021994;
  return statfsSync(dir).type === TMPFS_MAGIC ? `${dir} is on tmpfs, where file pages are memory that cannot be reclaimed` : undefined;
}

function v1(name: string, limit: number): MemoryCgroup {
  const dir = path.join(V1, `${name}-${process.pid}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "memory.limit_in_bytes"), String(limit));
  // without swap, memsw equals the limit; where swap accounting is off the file is absent
  if (existsSync(path.join(dir, "memory.memsw.limit_in_bytes"))) writeFileSync(path.join(dir, "memory.memsw.limit_in_bytes"), String(limit));
  return group(dir, limit, {
    peak: () => Number(readFileSync(path.join(dir, "memory.max_usage_in_bytes"), "utf8")),
    hits: () => Number(readFileSync(path.join(dir, "memory.failcnt"), "utf8")),
    ooms: () => statField(path.join(dir, "memory.oom_control"), "oom_kill"),
  });
}

function v2(name: string, limit: number): MemoryCgroup {
  const controllers = readFileSync(path.join(V2, "cgroup.subtree_control"), "utf8");
  if (!controllers.split(/\s+/).includes("memory")) writeFileSync(path.join(V2, "cgroup.subtree_control"), "+memory");
  const dir = path.join(V2, `${name}-${process.pid}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "memory.max"), String(limit));
  if (existsSync(path.join(dir, "memory.swap.max"))) writeFileSync(path.join(dir, "memory.swap.max"), "0");
  return group(dir, limit, {
    peak: () => (existsSync(path.join(dir, "memory.peak")) ? Number(readFileSync(path.join(dir, "memory.peak"), "utf8")) : undefined),
    hits: () => statField(path.join(dir, "memory.events"), "max"),
    ooms: () => statField(path.join(dir, "memory.events"), "oom_kill"),
  });
}

function statField(file: string, key: string): number | undefined {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(`${key} `));
  return line ? Number(line.split(" ")[1]) : undefined;
}

function group(
  dir: string,
  limitBytes: number,
  read: { peak(): number | undefined; hits(): number | undefined; ooms(): number | undefined },
): MemoryCgroup {
  return {
    dir,
    limitBytes,
    peakBytes: read.peak,
    limitHits: read.hits,
    oomKills: read.ooms,
    run(command, args, env = {}) {
      // the shell moves itself into the group and then becomes the command, so nothing the
      // command allocates is charged elsewhere
      const procs = path.join(dir, "cgroup.procs");
      const child = spawn("sh", ["-c", `echo $$ > "${procs}" && exec "$0" "$@"`, command, ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
      return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
    },
    remove() {
      // a group can be removed once its processes have exited; the page cache charged to it
      // moves to the parent
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    },
  };
}

/**
 * Bundles the streaming-job child into `outDir` (so it starts in plain node, without a TypeScript
 * loader's own memory) and returns how to run it: the script, and the env naming the addon.
 */
export async function streamingJobRunner(outDir: string): Promise<{ readonly script: string; readonly env: NodeJS.ProcessEnv }> {
  const { build } = await import("esbuild");
  const script = path.join(outDir, "streaming-job.mjs");
  const here = path.dirname(fileURLToPath(import.meta.url));
  await build({ entryPoints: [path.join(here, "streaming-job.ts")], bundle: true, platform: "node", format: "esm", target: "node20", outfile: script, logLevel: "error" });
  const addon = process.env.APREQEL_ADDON ?? path.join(packageRoot, "build", "Release", "apreqel.node");
  return { script, env: { APREQEL_ADDON: addon } };
}

/** Drops a file's pages from the page cache, so a job in a cgroup must read (and be charged for) it again. */
export function evictFromPageCache(file: string): void {
  execFileSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}
