import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeHardware, describeBuild, fingerprint } from "../../lib/pipeline/hardware.js";
import { pick, parseHeadroom, type PickBackend, type PickEnvironment } from "../../lib/cli/pick.js";
import type { LatencyMeasurement, Variant } from "../../lib/portfolio/manifest.js";
import type { LiveState } from "../../lib/portfolio/state.js";
import { writePortfolio } from "../../lib/portfolio/write.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { FRONT, MiB } from "./portfolio/helpers.js";

const dir = tempDir("apreqel-pick-");
const BACKEND: PickBackend = { cuda: false, devices: [{ name: "CPU", description: "Test CPU", type: "cpu", memoryFree: 0 }] };
// this machine as `pick` fingerprints it with BACKEND, so the manifest's latencies are "this device"
const hardware = describeHardware(BACKEND);
const build = describeBuild(BACKEND);
const here = { fingerprint: fingerprint({ hardware, build }), hardware, build };

await writePortfolio({
  dir,
  model: FRONT.model,
  mixes: FRONT.variants.map((v: Variant) => {
    writeFileSync(path.join(dir, v.file), `weights of ${v.name}`);
    const latency: LatencyMeasurement[] = v.latency.map((m) => ({ ...m, device: here }));
    return { name: v.name, file: v.file, weightBytes: v.weightBytes, latency, accuracy: v.accuracy, chosenBy: v.chosenBy };
  }),
});

function live(freeBytes: number, extra: Partial<LiveState> = {}): LiveState {
  return {
    memory: { known: true, value: { freeBytes, availableBytes: freeBytes }, source: "test" },
    gpu: { known: false, reason: "no GPU device (CPU-only build or no GPU found)" },
    thermal: { known: false, reason: "no /sys/class/thermal" },
    battery: { known: false, reason: "no battery in /sys/class/power_supply" },
    ...extra,
  };
}

async function capture(argv: string[], state: LiveState): Promise<{ code: number; out: string }> {
  const env: PickEnvironment = { readState: async () => state, backend: () => ({ info: BACKEND }) };
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: unknown) => void lines.push(String(s));
  try {
    return { code: await pick(argv, env), out: lines.join("\n") };
  } finally {
    console.log = log;
  }
}

describe("apreqel pick", () => {
  it("prints the chosen file, why, and the state it read", async () => {
    const { code, out } = await capture([dir], live(8 * 1024 * MiB));
    expect(code).toBe(0);
    const lines = out.split("\n");
    expect(lines[0]).toBe(path.join(dir, "large.gguf"));
    expect(lines[1]).toMatch(/^ {2}"large": best TOPSIS score 0\.667 of 3 variants that fit/);
    expect(lines[2]).toBe(
      "  state: RAM 8.59 GB free (test); GPU unknown (no GPU device (CPU-only build or no GPU found)); throttle unknown (no /sys/class/thermal); battery unknown (no battery in /sys/class/power_supply)",
    );
    expect(lines).toHaveLength(3);
  });

  it("applies --max-latency under the live throttle, --max-memory and --weights, and --json", async () => {
    const hot: LiveState = live(8 * 1024 * MiB, {
      thermal: { known: true, value: { zones: [], hottest: { name: "tj-thermal", tempC: 95 }, throttle: 1.5, throttleSource: "temperature" }, source: "test" },
    });
    // throttle 1.5: 15, 24, 45 ms/token; under 30 ms: small, medium
    const { out } = await capture([dir, "--max-latency", "30ms", "--weights", "0,0,1", "--json"], hot);
    const json = JSON.parse(out) as { file: string; variant: string; candidates: { excluded?: string }[]; weights: unknown };
    expect(json.file).toBe(path.join(dir, "medium.gguf"));
    expect(json.candidates[2]!.excluded).toBe("ms/token 45 over limits.maxLatencyMs 30");
    expect(json.weights).toEqual({ memory: 0, latency: 0, accuracy: 1 });
    const small = await capture([dir, "--max-memory", "150MB", "--json"], live(8 * 1024 * MiB));
    expect((JSON.parse(small.out) as { variant: string }).variant).toBe("small");
  });

  it("takes a soft --budget and a --throttle in place of the thermal reading, and says they were given", async () => {
    // --throttle 1.5: 15, 24, 45 ms/token; a 20 ms budget leaves small alone; the live reading (cool) is ignored
    const cool: LiveState = live(8 * 1024 * MiB, {
      thermal: { known: true, value: { zones: [], hottest: { name: "cpu", tempC: 40 }, throttle: 1, throttleSource: "temperature" }, source: "test" },
    });
    const { out } = await capture([dir, "--budget", "20ms", "--throttle", "1.5"], cool);
    const lines = out.split("\n");
    expect(lines[0]).toBe(path.join(dir, "small.gguf"));
    expect(lines[1]).toMatch(/^ {2}"small": best TOPSIS score 1 of 1 variant that fit, within the 20 ms\/token budget at throttle 1\.5 \(15 ms\/token/);
    expect(lines[3]).toBe("  given: latency budget 20 ms/token (--budget); throttle 1.5 (--throttle, instead of the thermal reading)");
    // soft: a 12 ms budget no variant meets → the fastest, budgetMet false; --max-latency 12ms (hard) refuses instead
    const soft = JSON.parse((await capture([dir, "--budget", "0.012s", "--throttle", "1.5", "--json"], cool)).out) as Record<string, unknown>;
    expect(soft).toMatchObject({ variant: "small", budgetMet: false, given: { latencyBudgetMs: 12, throttle: 1.5 } });
    expect(soft["reason"]).toBe(
      '"small": no variant that fits meets the 12 ms/token budget at throttle 1.5; the fastest takes 15 ms/token (115 MB of 8.59 GB free RAM with 10% headroom)',
    );
    await expect(capture([dir, "--max-latency", "12ms", "--throttle", "1.5"], cool)).rejects.toThrow(
      'no variant that fits in memory meets limits.maxLatencyMs 12 at throttle 1.5: the closest, "small", has ms/token 15',
    );
    // without --throttle, the (cool) reading applies: 10, 16, 30 → small and medium within 20 ms
    const json = JSON.parse((await capture([dir, "--budget", "20ms", "--json"], cool)).out) as { candidates: { excluded?: string }[]; given: unknown };
    expect(json.candidates.map((c) => c.excluded)).toEqual([undefined, undefined, "30 ms/token over the 20 ms budget"]);
    expect(json.given).toEqual({ latencyBudgetMs: 20 });
  });

  it("takes --max-perplexity as a hard limit", async () => {
    // perplexities 40, 20, 12 (helpers.ts: 10 + 100·KLD)
    const { out } = await capture([dir, "--max-perplexity", "15", "--weights", "0,1,0", "--json"], live(8 * 1024 * MiB));
    const json = JSON.parse(out) as { variant: string; candidates: { excluded?: string }[] };
    expect(json.variant).toBe("large");
    expect(json.candidates[1]!.excluded).toBe("perplexity 20 over limits.maxPerplexity 15");
  });

  it("keeps --current within the margin", async () => {
    // latency and accuracy ½ each: large scores 0.5, medium 0.489 (worked out in portfolio/choose.test.ts)
    const { out } = await capture([dir, "--current", "medium", "--weights", "0,0.5,0.5"], live(8 * 1024 * MiB));
    expect(out.split("\n")[0]).toBe(path.join(dir, "medium.gguf"));
    expect(out.split("\n")[1]).toMatch(/^ {2}kept "medium"/);
  });

  it("exits 2 with one line when nothing fits, or an option is wrong (through main)", async () => {
    const tiny = await runCli(["pick", dir, "--max-memory", "1MB"]);
    expect(tiny.code).toBe(2);
    expect(tiny.stderr).toBe('apreqel pick: no variant fits in memory: the smallest, "small", needs 105 MB, over limits.maxMemoryBytes 1.00 MB\n');
    const bad = await runCli(["pick", dir, "--headroom", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('apreqel pick: expected a share like 10% or a size like 512MiB for option --headroom but received "lots" (see apreqel pick --help)\n');
    const budget = await runCli(["pick", dir, "--budget", "fast"]);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toBe('apreqel pick: expected a time like 40ms or 0.04s for option --budget but received "fast" (see apreqel pick --help)\n');
    const throttle = await runCli(["pick", dir, "--throttle", "0"]);
    expect(throttle.code).toBe(2);
    expect(throttle.stderr).toBe('apreqel pick: expected a positive number for option --throttle but received "0" (see apreqel pick --help)\n');
    const missing = await runCli(["pick", path.join(dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^apreqel pick: portfolio: file not found: .*nope/);
  });

  it("parses --headroom as a share or a size", () => {
    expect(parseHeadroom("15%")).toEqual({ fraction: 0.15, bytes: 0 });
    expect(parseHeadroom("256MiB")).toEqual({ fraction: 0, bytes: 256 * MiB });
  });
});
