/**
 * Reads the machine's state for the latency protocol's busy flag (lib/method/latency-protocol.ts):
 * the 1-minute load average (/proc/loadavg) and the CPUs' frequency governors
 * (/sys/devices/system/cpu/cpu<N>/cpufreq/scaling_governor). `root` is injectable so tests read
 * fake trees; a file that is absent (macOS, many VMs without cpufreq) reads as unknown, never as
 * an error: the flag is advice, the measurement goes on.
 */
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { MachineReading } from "../method/latency-protocol.js";

/**
 * @example
 * readMachineState() // { load1: 0.42, cpus: 2, governors: ["performance"] }
 * readMachineState("/tmp/fake-root") // reads /tmp/fake-root/proc/loadavg, …
 */
export function readMachineState(root = "/"): MachineReading {
  return { load1: readLoad1(root), cpus: countCpus(root), governors: readGovernors(root) };
}

function readLoad1(root: string): number | null {
  const text = readOptional(path.join(root, "proc", "loadavg"));
  if (text === null) return root === "/" && process.platform !== "linux" ? (os.loadavg()[0] ?? null) : null;
  const first = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(first) && first >= 0 ? first : null;
}

function cpuDirs(root: string): string[] {
  try {
    return readdirSync(path.join(root, "sys", "devices", "system", "cpu")).filter((d) => /^cpu\d+$/.test(d));
  } catch {
    return []; // no sysfs: not Linux, or a container without it
  }
}

function countCpus(root: string): number {
  const dirs = cpuDirs(root);
  return dirs.length > 0 ? dirs.length : root === "/" ? os.availableParallelism() : 1;
}

function readGovernors(root: string): string[] {
  const out = new Set<string>();
  for (const d of cpuDirs(root)) {
    const g = readOptional(path.join(root, "sys", "devices", "system", "cpu", d, "cpufreq", "scaling_governor"));
    if (g !== null && g.trim() !== "") out.add(g.trim());
  }
  return [...out].sort();
}

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR" || (e as NodeJS.ErrnoException).code === "EACCES") return null;
    throw e;
  }
}
