// Issue 26: a latency measured on a busy machine is not cached as a valid measurement. It is used
// again only while the machine is still busy; the next run on a quiet machine measures anew, and
// that quiet measurement is what later runs get. bench and the machine's load are faked.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Cache } from "../../lib/cache/index.js";
import type { Session } from "../../lib/pipeline/session.js";
import { tempDir } from "../helpers/tmp.js";

const machine = { load1: 0.1 };
let benchMs = 10;
let benchCalls = 0;

vi.mock("../../lib/pipeline/machine-state.js", () => ({ readMachineState: () => ({ load1: machine.load1, cpus: 2, governors: [] }) }));
vi.mock("../../lib/ops/bench.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../lib/ops/bench.js")>()),
  bench: async () => {
    benchCalls++;
    return { tg: { repetitionsMs: [benchMs * 4], tokens: 4 }, pp: null };
  },
}));

const { measureLatencies } = await import("../../lib/pipeline/measure-file.js");

const dir = tempDir();
const files = ["a", "b"].map((n) => {
  const file = path.join(dir, `${n}.gguf`);
  writeFileSync(file, `not really a model ${n}`);
  return { file, label: n };
});
const settings = { nGen: 4, nPrompt: 0, reps: 2, threads: 1 };

async function session(): Promise<Session> {
  const cache = await Cache.open({ dir: path.join(dir, "cache") });
  return { model: files[0]!.file, cache, deviceFingerprint: "fake-device", buildFingerprint: "fake-build" } as unknown as Session;
}

beforeEach(() => {
  benchCalls = 0;
});

describe("latency measured on a busy machine", () => {
  it("is reused while the machine stays busy, measured anew once it is quiet, and the quiet one is then kept", async () => {
    machine.load1 = 8; // 4 per CPU beside our one thread
    benchMs = 60;
    const busy = await measureLatencies(await session(), files, settings);
    expect(busy.map((m) => [m.latencyMsPerToken, m.latencyMachine?.busy])).toEqual([[60, true], [60, true]]);
    const calls = benchCalls;
    expect(calls).toBeGreaterThan(0);

    // still busy: the busy measurement is used again (flagged), nothing is measured
    const again = await measureLatencies(await session(), files, settings);
    expect(again.map((m) => [m.latencyMsPerToken, m.latencyMachine?.busy])).toEqual([[60, true], [60, true]]);
    expect(benchCalls).toBe(calls);

    // quiet: measured anew, not taken from the busy entry
    machine.load1 = 0.2;
    benchMs = 10;
    const quiet = await measureLatencies(await session(), files, settings);
    expect(quiet.map((m) => [m.latencyMsPerToken, m.latencyMachine?.busy])).toEqual([[10, false], [10, false]]);
    expect(benchCalls).toBe(2 * calls);

    // the quiet measurement is the valid one from now on, busy or not
    machine.load1 = 8;
    const later = await measureLatencies(await session(), files, settings);
    expect(later.map((m) => m.latencyMsPerToken)).toEqual([10, 10]);
    expect(benchCalls).toBe(2 * calls);
  });
});
