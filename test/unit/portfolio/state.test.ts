import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readBattery, readGpu, readLiveState, readMemory, readThermal, toDeviceState } from "../../../lib/portfolio/state.js";
import { tempDir } from "../../helpers/tmp.js";

const base = tempDir("apreqel-sysfs-");
let n = 0;

/** A fake root: { "proc/meminfo": "...", ... } written under a fresh folder. */
function tree(files: Record<string, string>): string {
  const root = path.join(base, `root${n++}`);
  mkdirSync(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), `${text}\n`);
  }
  return root;
}

const MEMINFO = "MemTotal:       8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    3000000 kB\nBuffers:          1000 kB";

function zone(i: number, type: string, milliC: number, trips: [string, number][] = []): Record<string, string> {
  const z = `sys/class/thermal/thermal_zone${i}`;
  const out: Record<string, string> = { [`${z}/type`]: type, [`${z}/temp`]: String(milliC) };
  trips.forEach(([kind, t], j) => {
    out[`${z}/trip_point_${j}_type`] = kind;
    out[`${z}/trip_point_${j}_temp`] = String(t);
  });
  return out;
}

describe("readMemory", () => {
  it("reads MemAvailable", async () => {
    expect(await readMemory(tree({ "proc/meminfo": MEMINFO }))).toEqual({
      known: true,
      value: { freeBytes: 3000000 * 1024, availableBytes: 3000000 * 1024 },
      source: "/proc/meminfo MemAvailable",
    });
  });

  it("caps by a cgroup v2 limit, at the process's level or above, minus reclaimable file cache", async () => {
    const root = tree({
      "proc/meminfo": MEMINFO,
      "proc/self/cgroup": "0::/app.slice/web.service",
      "sys/fs/cgroup/app.slice/memory.max": String(2 * 2 ** 30),
      "sys/fs/cgroup/app.slice/memory.current": String(2 ** 30),
      "sys/fs/cgroup/app.slice/memory.stat": "anon 100\ninactive_file 268435456\nactive_file 5",
      "sys/fs/cgroup/app.slice/web.service/memory.max": "max",
      "sys/fs/cgroup/app.slice/web.service/memory.current": "12345",
    });
    // 2 GiB − (1 GiB − 256 MiB) = 1.25 GiB, below MemAvailable's 2.86 GiB
    const m = await readMemory(root);
    expect(m).toEqual({
      known: true,
      value: { freeBytes: 1.25 * 2 ** 30, availableBytes: 3000000 * 1024, cgroupRemainingBytes: 1.25 * 2 ** 30 },
      source: "/proc/meminfo MemAvailable, cgroup v2 limit at /sys/fs/cgroup/app.slice",
    });
  });

  it("reads a cgroup v1 limit, ignores v1's 'unlimited', and uses the mount's root inside a namespace", async () => {
    const limited = tree({
      "proc/meminfo": MEMINFO,
      "proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc",
      // namespaced: /docker/abc does not exist under the mount; its root is the container's level
      "sys/fs/cgroup/memory/memory.limit_in_bytes": String(512 * 2 ** 20),
      "sys/fs/cgroup/memory/memory.usage_in_bytes": String(300 * 2 ** 20),
      "sys/fs/cgroup/memory/memory.stat": "cache 5\ntotal_inactive_file 104857600",
    });
    const m = await readMemory(limited);
    expect(m.known && m.value.freeBytes).toBe(312 * 2 ** 20);
    expect(m.known && m.source).toBe("/proc/meminfo MemAvailable, cgroup v1 limit at /sys/fs/cgroup/memory");
    const unlimited = tree({
      "proc/meminfo": MEMINFO,
      "proc/self/cgroup": "4:memory:/",
      "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
      "sys/fs/cgroup/memory/memory.usage_in_bytes": "8030584832",
    });
    expect(await readMemory(unlimited)).toEqual({ known: true, value: { freeBytes: 3072000000, availableBytes: 3072000000 }, source: "/proc/meminfo MemAvailable" });
  });

  it("reports unknown without meminfo under a fake root, and falls back to os.freemem at /", async () => {
    expect(await readMemory(tree({}))).toEqual({ known: false, reason: expect.stringMatching(/^no MemAvailable in .*proc\/meminfo$/) });
    const live = await readMemory("/", () => 42);
    expect(live.known).toBe(true); // this machine: /proc/meminfo, or os.freemem elsewhere
  });
});

describe("readThermal", () => {
  it("reads zones and trip points, and is 1 below the passive trip", async () => {
    const root = tree({ ...zone(0, "x86_pkg_temp", 55000, [["passive", 90000], ["critical", 100000]]), ...zone(1, "acpitz", 40000) });
    const t = await readThermal(root);
    expect(t).toEqual({
      known: true,
      value: {
        zones: [
          { name: "x86_pkg_temp", tempC: 55, passiveC: 90, criticalC: 100 },
          { name: "acpitz", tempC: 40 },
        ],
        hottest: { name: "x86_pkg_temp", tempC: 55, passiveC: 90, criticalC: 100 },
        throttle: 1,
        throttleSource: "temperature",
      },
      source: `${path.join(root, "sys/class/thermal")} trip points`,
    });
  });

  it("estimates the throttle linearly from the passive to the critical trip (Jetson Orin zone names)", async () => {
    // tj-thermal at 95 °C, passive 90, critical 100: halfway → 1.5
    const root = tree({
      ...zone(0, "cpu-thermal", 80000, [["passive", 95500], ["critical", 104500]]),
      ...zone(1, "gpu-thermal", 78000),
      ...zone(8, "tj-thermal", 95000, [["passive", 90000], ["critical", 100000], ["hot", 85000]]),
    });
    const t = await readThermal(root);
    expect(t.known && t.value.throttle).toBe(1.5);
    expect(t.known && t.value.hottest.name).toBe("tj-thermal");
    expect(t.known && t.value.zones.map((z) => z.name)).toEqual(["cpu-thermal", "gpu-thermal", "tj-thermal"]);
  });

  it("skips Jetson's PMIC-Die (a constant 100 °C) and uses 20 °C past passive when there is no critical trip", async () => {
    const root = tree({ ...zone(0, "CPU-therm", 60000, [["passive", 50000]]), ...zone(1, "PMIC-Die", 100000, [["passive", 90000]]) });
    const t = await readThermal(root);
    expect(t.known && t.value.throttle).toBe(1.5);
    expect(t.known && t.value.zones.map((z) => z.name)).toEqual(["CPU-therm"]);
  });

  it("measures the throttle from the cpufreq cap while cpufreq cooling is active", async () => {
    const cpu = "sys/devices/system/cpu/cpufreq";
    const root = tree({
      ...zone(0, "cpu-thermal", 97000, [["passive", 95000], ["critical", 105000]]),
      "sys/class/thermal/cooling_device0/type": "cpufreq-cpu0",
      "sys/class/thermal/cooling_device0/cur_state": "3",
      [`${cpu}/policy0/cpuinfo_max_freq`]: "2000000",
      [`${cpu}/policy0/scaling_max_freq`]: "1000000",
      [`${cpu}/policy4/cpuinfo_max_freq`]: "2000000",
      [`${cpu}/policy4/scaling_max_freq`]: "1500000",
    });
    const t = await readThermal(root);
    // (2 + 2) / (1 + 1.5) GHz
    expect(t.known && [t.value.throttle, t.value.throttleSource]).toEqual([1.6, "cpufreq"]);
  });

  it("reports unknown without thermal zones", async () => {
    expect(await readThermal(tree({}))).toEqual({ known: false, reason: expect.stringMatching(/^no .*sys\/class\/thermal$/) });
    expect(await readThermal(tree({ "sys/class/thermal/cooling_device0/type": "fan" }))).toMatchObject({ known: false, reason: expect.stringContaining("no readable thermal zone") });
  });
});

describe("readBattery", () => {
  it("reads capacity and status; 'Not charging' and an online supply count as external power", async () => {
    const discharging = tree({ "sys/class/power_supply/BAT0/type": "Battery", "sys/class/power_supply/BAT0/capacity": "15", "sys/class/power_supply/BAT0/status": "Discharging" });
    expect(await readBattery(discharging)).toEqual({
      known: true,
      value: { level: 0.15, charging: false, supplies: ["BAT0"] },
      source: path.join(discharging, "sys/class/power_supply"),
    });
    const plugged = tree({
      "sys/class/power_supply/AC/type": "Mains",
      "sys/class/power_supply/AC/online": "1",
      "sys/class/power_supply/BAT0/type": "Battery",
      "sys/class/power_supply/BAT0/capacity": "80",
      "sys/class/power_supply/BAT0/status": "Unknown",
    });
    expect((await readBattery(plugged)).known && (await readBattery(plugged))).toMatchObject({ value: { level: 0.8, charging: true } });
    const notCharging = tree({ "sys/class/power_supply/BAT1/type": "Battery", "sys/class/power_supply/BAT1/capacity": "60", "sys/class/power_supply/BAT1/status": "Not charging" });
    expect(await readBattery(notCharging)).toMatchObject({ value: { charging: true } });
  });

  it("reports unknown on a Jetson (USB-C supplies, no battery)", async () => {
    const jetson = tree({ "sys/class/power_supply/ucsi-source-psy-0-00081/type": "USB", "sys/class/power_supply/ucsi-source-psy-0-00081/online": "1" });
    expect(await readBattery(jetson)).toEqual({ known: false, reason: `no battery in ${path.join(jetson, "sys/class/power_supply")}` });
  });
});

describe("readGpu and toDeviceState", () => {
  it("sums free memory of GPU devices; an igpu is unified memory", () => {
    expect(readGpu(undefined)).toEqual({ known: false, reason: "the addon's device list was not given" });
    expect(readGpu([{ name: "CPU", type: "cpu", memoryFree: 1 }])).toEqual({ known: false, reason: "no GPU device (CPU-only build or no GPU found)" });
    expect(
      readGpu([
        { name: "CPU", type: "cpu", memoryFree: 1 },
        { name: "CUDA0", type: "gpu", memoryFree: 100 },
        { name: "CUDA1", type: "gpu", memoryFree: 50 },
      ]),
    ).toEqual({ known: true, value: { freeBytes: 150, devices: ["CUDA0", "CUDA1"], unified: false }, source: "the addon's buildInfo().devices" });
    expect(readGpu([{ name: "CUDA0", type: "igpu", memoryFree: 7 }])).toMatchObject({ value: { unified: true } });
  });

  it("turns a live reading into the picker's state, leaving unknowns out", async () => {
    const root = tree({
      "proc/meminfo": MEMINFO,
      ...zone(0, "tj-thermal", 95000, [["passive", 90000], ["critical", 100000]]),
      "sys/class/power_supply/BAT0/type": "Battery",
      "sys/class/power_supply/BAT0/capacity": "50",
      "sys/class/power_supply/BAT0/status": "Discharging",
    });
    const live = await readLiveState({ root, devices: [{ name: "CUDA0", type: "igpu", memoryFree: 123 }] });
    expect(toDeviceState(live, { device: "00000000000000aa", latencyBudgetMs: 40 })).toEqual({
      device: "00000000000000aa",
      latencyBudgetMs: 40,
      ramFreeBytes: 3072000000,
      gpuFreeBytes: 123,
      unifiedMemory: true,
      throttle: 1.5,
      battery: { level: 0.5, charging: false },
    });
    const bare = await readLiveState({ root: tree({ "proc/meminfo": MEMINFO }) });
    expect(toDeviceState(bare)).toEqual({ ramFreeBytes: 3072000000 });
    const none = await readLiveState({ root: tree({}) });
    expect(() => toDeviceState(none)).toThrow(/^free memory is unknown \(no MemAvailable in .*\); the picker cannot check that a variant fits$/);
  });
});
