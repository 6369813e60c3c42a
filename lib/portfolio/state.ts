/**
 * The device's state, read live on Linux: free memory (MemAvailable, within the process's
 * cgroup v1/v2 limit), free GPU memory (from the addon's device list), temperatures and trip
 * points (/sys/class/thermal) turned into a throttle factor, and the battery
 * (/sys/class/power_supply). Every source is optional: one that is absent or unreadable is
 * reported as unknown, with the reason, never guessed. All paths are under `root` (default "/"),
 * so tests run on fake sysfs trees.
 *
 * Jetson: JetPack 5/6 (Orin, tegra234) names its zones cpu-thermal, gpu-thermal, cv0..2-thermal,
 * soc0..2-thermal and tj-thermal (the junction maximum); JetPack 4 (Xavier, Nano) names them
 * CPU-therm, GPU-therm, AO-therm, PLL-therm, Tboard_tegra, … and has a PMIC-Die zone that
 * reports a constant 100 °C (not a measurement; skipped, as jetson-stats does). Jetson has no
 * battery (its USB-C supplies are type USB) and its GPU shares the RAM (the addon reports it as
 * an "igpu"), so the picker counts offloaded weights against RAM there.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DeviceState } from "./choose.js";

/** A value read from the device, or why it is unknown. */
export type Known<T> = { readonly known: true; readonly value: T; readonly source: string } | { readonly known: false; readonly reason: string };

export interface MemoryReading {
  /** what a new model may use: the smaller of MemAvailable and the cgroup's remaining limit */
  readonly freeBytes: number;
  readonly availableBytes: number;
  /** limit − working set (usage minus inactive file cache) of the tightest cgroup level; absent when unlimited */
  readonly cgroupRemainingBytes?: number;
}

export interface GpuReading {
  readonly freeBytes: number;
  readonly devices: readonly string[];
  /** an integrated GPU sharing the RAM (Jetson, Apple): offloaded weights take RAM */
  readonly unified: boolean;
}

export interface ThermalZone {
  readonly name: string;
  readonly tempC: number;
  /** the lowest passive (throttling) trip point, °C */
  readonly passiveC?: number;
  /** the critical (shutdown) trip point, °C */
  readonly criticalC?: number;
}

export interface ThermalReading {
  readonly zones: readonly ThermalZone[];
  /** the zone closest to (or furthest past) its passive trip point */
  readonly hottest: ThermalZone;
  /** ≥ 1: how much slower than at full clocks the device is likely running */
  readonly throttle: number;
  /** "cpufreq": the thermal cap on CPU clocks, measured; "temperature": estimated from trip points */
  readonly throttleSource: "cpufreq" | "temperature";
}

export interface BatteryReading {
  /** 0..1, mean over batteries */
  readonly level: number;
  /** on external power (charging, full, or plugged in but not charging) */
  readonly charging: boolean;
  readonly supplies: readonly string[];
}

export interface LiveState {
  readonly memory: Known<MemoryReading>;
  readonly gpu: Known<GpuReading>;
  readonly thermal: Known<ThermalReading>;
  readonly battery: Known<BatteryReading>;
}

/** The parts of the addon's device list used here (`binding().buildInfo().devices`). */
export interface GpuDeviceInfo {
  readonly name: string;
  readonly type: "cpu" | "gpu" | "igpu" | "accel";
  readonly memoryFree: number;
}

export interface StateSources {
  /** where /proc and /sys are; default "/" */
  readonly root?: string;
  /** the addon's devices; without it GPU memory is unknown */
  readonly devices?: readonly GpuDeviceInfo[];
  /** used when `root` is "/" and /proc/meminfo cannot be read (non-Linux); default os.freemem */
  readonly freemem?: () => number;
}

/** A zone's temperature past its passive trip point over this span reaches throttle 2 when there is no critical trip. */
const DEFAULT_THROTTLE_SPAN_C = 20;
/** Zones that are not measurements. */
const IGNORED_ZONES = new Set(["PMIC-Die"]);

/**
 * Reads every source; never throws for a missing or unreadable one (it is reported unknown).
 *
 * @example
 * const live = await readLiveState({ devices: binding().buildInfo().devices });
 * live.memory.known && live.memory.value.freeBytes // 7421337600
 * live.battery // { known: false, reason: "no battery in /sys/class/power_supply" }
 */
export async function readLiveState(sources: StateSources = {}): Promise<LiveState> {
  const root = sources.root ?? "/";
  const [memory, thermal, battery] = await Promise.all([readMemory(root, sources.freemem ?? os.freemem), readThermal(root), readBattery(root)]);
  return { memory, gpu: readGpu(sources.devices), thermal, battery };
}

/**
 * The picker's state from a live reading; unknown sources are left out (the picker then does
 * not adjust for them). Unknown memory is an error: the picker cannot promise a fit without it.
 *
 * @example
 * choose(manifest, toDeviceState(await readLiveState(), { device: session.deviceFingerprint }), policy)
 */
export function toDeviceState(live: LiveState, extra: Omit<DeviceState, "ramFreeBytes" | "gpuFreeBytes" | "throttle" | "battery" | "unifiedMemory"> = {}): DeviceState {
  if (!live.memory.known) throw new Error(`free memory is unknown (${live.memory.reason}); the picker cannot check that a variant fits`);
  return {
    ...extra,
    ramFreeBytes: live.memory.value.freeBytes,
    ...(live.gpu.known ? { gpuFreeBytes: live.gpu.value.freeBytes, unifiedMemory: live.gpu.value.unified } : {}),
    ...(live.thermal.known ? { throttle: live.thermal.value.throttle } : {}),
    ...(live.battery.known ? { battery: { level: live.battery.value.level, charging: live.battery.value.charging } } : {}),
  };
}

/**
 * Free memory: MemAvailable from /proc/meminfo (what the kernel can give without swapping),
 * capped by the cgroup limit of this process (v2 memory.max, v1 memory.limit_in_bytes, at its
 * level and every level above it).
 */
export async function readMemory(root: string, freemem: () => number = os.freemem): Promise<Known<MemoryReading>> {
  const meminfo = await readText(path.join(root, "proc/meminfo"));
  let available: number | undefined;
  let source: string;
  if (meminfo !== undefined) {
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
    if (m) available = Number(m[1]) * 1024;
    source = "/proc/meminfo MemAvailable";
  } else if (root === "/") {
    available = freemem();
    source = "os.freemem()";
  } else {
    source = "";
  }
  if (available === undefined) return { known: false, reason: `no MemAvailable in ${path.join(root, "proc/meminfo")}` };
  const cgroup = await cgroupRemaining(root);
  if (cgroup === undefined) return { known: true, value: { freeBytes: available, availableBytes: available }, source };
  return {
    known: true,
    value: { freeBytes: Math.min(available, cgroup.bytes), availableBytes: available, cgroupRemainingBytes: cgroup.bytes },
    source: `${source}, ${cgroup.source}`,
  };
}

// v1 reports "no limit" as a page-rounded 2^63 − 1.
const V1_UNLIMITED = 2 ** 62;

async function cgroupRemaining(root: string): Promise<{ bytes: number; source: string } | undefined> {
  const text = await readText(path.join(root, "proc/self/cgroup"));
  if (text === undefined) return undefined;
  let best: { bytes: number; source: string } | undefined;
  const consider = (bytes: number, source: string) => {
    if (best === undefined || bytes < best.bytes) best = { bytes: Math.max(0, bytes), source };
  };
  for (const line of text.split("\n")) {
    const [, controllers, rel] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (rel === undefined) continue;
    const v2 = controllers === "";
    if (!v2 && !controllers!.split(",").includes("memory")) continue;
    const mount = path.join(root, v2 ? "sys/fs/cgroup" : "sys/fs/cgroup/memory");
    for (const dir of levels(mount, rel)) {
      const limitText = await readText(path.join(dir, v2 ? "memory.max" : "memory.limit_in_bytes"));
      const usageText = await readText(path.join(dir, v2 ? "memory.current" : "memory.usage_in_bytes"));
      if (limitText === undefined || usageText === undefined || limitText === "max") continue;
      const limit = Number(limitText);
      const usage = Number(usageText);
      if (!Number.isFinite(limit) || !Number.isFinite(usage) || limit >= V1_UNLIMITED) continue;
      // page cache the kernel reclaims before hitting the limit is not in use (what Docker and
      // the kubelet call the working set: usage − inactive file pages)
      const stat = (await readText(path.join(dir, "memory.stat"))) ?? "";
      const inactive = Number(new RegExp(`^${v2 ? "inactive_file" : "total_inactive_file"} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
      const at = path.relative(root, dir);
      consider(limit - (usage - inactive), `cgroup ${v2 ? "v2" : "v1"} limit at /${at}`);
    }
  }
  return best;
}

/** The cgroup's folder and its ancestors; in a cgroup namespace the path may not exist and the mount's root is the process's own level. */
function levels(mount: string, rel: string): string[] {
  const parts = rel.split("/").filter((p) => p !== "");
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(path.join(mount, ...parts.slice(0, i)));
  return out;
}

/** Free GPU memory: the sum over GPU devices the addon reports. */
export function readGpu(devices: readonly GpuDeviceInfo[] | undefined): Known<GpuReading> {
  if (devices === undefined) return { known: false, reason: "the addon's device list was not given" };
  const gpus = devices.filter((d) => d.type === "gpu" || d.type === "igpu");
  if (gpus.length === 0) return { known: false, reason: "no GPU device (CPU-only build or no GPU found)" };
  return {
    known: true,
    value: { freeBytes: gpus.reduce((s, d) => s + d.memoryFree, 0), devices: gpus.map((d) => d.name), unified: gpus.every((d) => d.type === "igpu") },
    source: "the addon's buildInfo().devices",
  };
}

/**
 * Temperatures and a throttle factor. When the kernel's cpufreq cooling is active (a
 * cooling_device of type cpufreq-* or processor with cur_state > 0), the factor is measured:
 * Σ cpuinfo_max_freq / Σ scaling_max_freq over the CPU policies. Otherwise it is estimated from
 * the zone nearest its passive trip point: 1 below it, rising linearly to 2 at its critical
 * trip point (or 20 °C past the passive one when there is none).
 */
export async function readThermal(root: string): Promise<Known<ThermalReading>> {
  const dir = path.join(root, "sys/class/thermal");
  const entries = await readDir(dir);
  if (entries === undefined) return { known: false, reason: `no ${dir}` };
  const zones: ThermalZone[] = [];
  let coolingActive = false;
  for (const name of entries.sort(naturalOrder)) {
    const zoneDir = path.join(dir, name);
    if (name.startsWith("cooling_device")) {
      const type = (await readText(path.join(zoneDir, "type"))) ?? "";
      const state = Number(await readText(path.join(zoneDir, "cur_state")));
      if ((type.startsWith("cpufreq") || type === "processor") && state > 0) coolingActive = true;
      continue;
    }
    if (!name.startsWith("thermal_zone")) continue;
    const type = (await readText(path.join(zoneDir, "type"))) ?? name;
    const temp = Number(await readText(path.join(zoneDir, "temp")));
    if (IGNORED_ZONES.has(type) || !Number.isFinite(temp) || temp <= -40_000) continue;
    let passiveC: number | undefined;
    let criticalC: number | undefined;
    for (const file of (await readDir(zoneDir)) ?? []) {
      const m = /^trip_point_(\d+)_type$/.exec(file);
      if (!m) continue;
      const kind = await readText(path.join(zoneDir, file));
      const t = Number(await readText(path.join(zoneDir, `trip_point_${m[1]}_temp`))) / 1000;
      if (!Number.isFinite(t) || t <= 0) continue;
      if (kind === "passive" && (passiveC === undefined || t < passiveC)) passiveC = t;
      if (kind === "critical" && (criticalC === undefined || t < criticalC)) criticalC = t;
    }
    zones.push({ name: type, tempC: temp / 1000, ...(passiveC !== undefined ? { passiveC } : {}), ...(criticalC !== undefined ? { criticalC } : {}) });
  }
  if (zones.length === 0) return { known: false, reason: `no readable thermal zone in ${dir}` };
  const estimate = (z: ThermalZone): number => {
    if (z.passiveC === undefined || z.tempC < z.passiveC) return 1;
    const span = z.criticalC !== undefined && z.criticalC > z.passiveC ? z.criticalC - z.passiveC : DEFAULT_THROTTLE_SPAN_C;
    return Math.min(2, 1 + (z.tempC - z.passiveC) / span);
  };
  const margin = (z: ThermalZone): number => (z.passiveC === undefined ? Number.POSITIVE_INFINITY : z.passiveC - z.tempC);
  const hottest = zones.reduce((a, b) => (margin(b) < margin(a) || (margin(b) === margin(a) && b.tempC > a.tempC) ? b : a));
  if (coolingActive) {
    const cap = await cpufreqCap(root);
    if (cap !== undefined) return { known: true, value: { zones, hottest, throttle: cap, throttleSource: "cpufreq" }, source: "cpufreq thermal cap" };
  }
  const throttle = Math.max(...zones.map(estimate));
  return { known: true, value: { zones, hottest, throttle, throttleSource: "temperature" }, source: `${dir} trip points` };
}

async function cpufreqCap(root: string): Promise<number | undefined> {
  const dir = path.join(root, "sys/devices/system/cpu/cpufreq");
  let max = 0;
  let capped = 0;
  for (const policy of (await readDir(dir)) ?? []) {
    if (!policy.startsWith("policy")) continue;
    const a = Number(await readText(path.join(dir, policy, "cpuinfo_max_freq")));
    const b = Number(await readText(path.join(dir, policy, "scaling_max_freq")));
    if (!(a > 0) || !(b > 0)) continue;
    max += a;
    capped += b;
  }
  return capped > 0 ? Math.max(1, max / capped) : undefined;
}

/** Battery level and whether external power is connected. */
export async function readBattery(root: string): Promise<Known<BatteryReading>> {
  const dir = path.join(root, "sys/class/power_supply");
  const entries = await readDir(dir);
  if (entries === undefined) return { known: false, reason: `no ${dir}` };
  const levels: number[] = [];
  const supplies: string[] = [];
  let charging = false;
  for (const name of entries.sort(naturalOrder)) {
    const d = path.join(dir, name);
    const type = await readText(path.join(d, "type"));
    if (type === "Battery") {
      const capacity = Number(await readText(path.join(d, "capacity")));
      if (!Number.isFinite(capacity) || capacity < 0 || capacity > 100) continue;
      levels.push(capacity / 100);
      supplies.push(name);
      const status = await readText(path.join(d, "status"));
      if (status === "Charging" || status === "Full" || status === "Not charging") charging = true;
    } else if (type !== undefined && (await readText(path.join(d, "online"))) === "1") {
      charging = true; // mains or USB power connected
    }
  }
  if (levels.length === 0) return { known: false, reason: `no battery in ${dir}` };
  return { known: true, value: { level: levels.reduce((a, b) => a + b, 0) / levels.length, charging, supplies }, source: dir };
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch {
    return undefined; // absent or unreadable: the source is unknown, reported by the caller
  }
}

async function readDir(dir: string): Promise<string[] | undefined> {
  try {
    return await fs.readdir(dir);
  } catch {
    return undefined;
  }
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
