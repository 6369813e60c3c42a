import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { machineVerdict } from "../../lib/method/latency-protocol.js";
import { readMachineState } from "../../lib/pipeline/machine-state.js";

const roots: string[] = [];
function fakeRoot(load: string | null, governors: readonly (string | null)[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "apreqel-machine-"));
  roots.push(root);
  if (load !== null) {
    mkdirSync(path.join(root, "proc"));
    writeFileSync(path.join(root, "proc", "loadavg"), load);
  }
  governors.forEach((g, i) => {
    const dir = path.join(root, "sys", "devices", "system", "cpu", `cpu${i}`, "cpufreq");
    mkdirSync(dir, { recursive: true });
    if (g !== null) writeFileSync(path.join(dir, "scaling_governor"), `${g}\n`);
  });
  mkdirSync(path.join(root, "sys", "devices", "system", "cpu", "cpufreq"), { recursive: true }); // not a CPU
  return root;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe("readMachineState on fake /proc and /sys trees", () => {
  it("reads the 1-minute load, the CPU count and the distinct governors", () => {
    const root = fakeRoot("0.52 0.31 0.20 1/123 4567\n", ["performance", "powersave", "performance", "performance"]);
    expect(readMachineState(root)).toEqual({ load1: 0.52, cpus: 4, governors: ["performance", "powersave"] });
  });

  it("reads absent cpufreq (a VM) as no governors and absent /proc as unknown load", () => {
    expect(readMachineState(fakeRoot(null, [null, null]))).toEqual({ load1: null, cpus: 2, governors: [] });
  });

  it("flags a simulated load: busy at the start, named in the reasons", () => {
    const start = readMachineState(fakeRoot("5.00 4.00 3.00 6/200 999\n", ["schedutil", "schedutil"]));
    const end = readMachineState(fakeRoot("6.10 4.50 3.10 7/200 999\n", ["schedutil", "schedutil"]));
    const v = machineVerdict(start, end, 2);
    expect(v.busy).toBe(true);
    expect(v.reasons).toEqual([
      "load average 5.00 on 2 CPUs at the start",
      "load average 6.10 on 2 CPUs at the end (2 of it ours)",
      "CPU frequency governor schedutil (the clock follows the load)",
    ]);
  });

  it("calls the same tree idle when the load is low", () => {
    const root = fakeRoot("0.05 0.04 0.01 1/100 1\n", ["performance", "performance"]);
    expect(machineVerdict(readMachineState(root), readMachineState(root), 2).busy).toBe(false);
  });
});
