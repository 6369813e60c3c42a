// The test harness's own pieces (issue 26): the machine-speed scale that stretches time limits on
// a busy machine, and the reporter's list of files that never ran.
import { describe, expect, it } from "vitest";
import { machineTimeScale, MAX_SCALE, measureLoopMs, REFERENCE_LOOP_MS, scaleFor, SCALE_ENV, slow } from "../helpers/machine-speed.js";
import { neverRan } from "../helpers/never-ran-reporter.js";
import { runOk, runProcess } from "../helpers/run.js";

describe("machine speed", () => {
  it("scales by the loop's time over the reference, between 1 and the cap", () => {
    expect(scaleFor(REFERENCE_LOOP_MS)).toBe(1);
    expect(scaleFor(REFERENCE_LOOP_MS / 3)).toBe(1); // a faster machine keeps the limits as written
    expect(scaleFor(REFERENCE_LOOP_MS * 6)).toBe(6); // load 12 on 2 cores: a sixth of a core
    expect(scaleFor(REFERENCE_LOOP_MS * 2.54)).toBe(2.5);
    expect(scaleFor(REFERENCE_LOOP_MS * 1000)).toBe(MAX_SCALE);
  });

  it("takes the median of the timed runs (one descheduling does not decide)", () => {
    // a fake clock: each run's start and end; the third run was descheduled for 500 ms
    const ticks = [0, 10, 10, 21, 21, 521, 521, 530, 530, 542];
    let i = 0;
    expect(measureLoopMs(5, () => ticks[i++]!)).toBe(11);
  });

  it("APREQEL_TEST_TIME_SCALE overrides the measurement; a value below 1 is refused", () => {
    expect(machineTimeScale({ [SCALE_ENV]: "4" })).toBe(4);
    expect(machineTimeScale({ [SCALE_ENV]: "400" })).toBe(MAX_SCALE);
    expect(() => machineTimeScale({ [SCALE_ENV]: "0.5" })).toThrow(/expected a number ≥ 1/);
    expect(() => machineTimeScale({ [SCALE_ENV]: "fast" })).toThrow(/expected a number ≥ 1/);
  });

  it("slow() stretches a limit by the scale vitest.config.ts put in the environment", () => {
    const before = process.env[SCALE_ENV];
    // this worker got the scale the config measured (or was given) when the run started
    expect(Number(before)).toBeGreaterThanOrEqual(1);
    try {
      process.env[SCALE_ENV] = "3";
      expect(slow(120_000)).toBe(360_000);
      delete process.env[SCALE_ENV];
      expect(slow(120_000)).toBe(120_000);
    } finally {
      if (before === undefined) delete process.env[SCALE_ENV];
      else process.env[SCALE_ENV] = before;
    }
  });
});

describe("files that never ran", () => {
  it("lists the scheduled files that did not finish, once each, in schedule order", () => {
    const scheduled = ["a", "b", "c", "b", "d"].map((k) => ({ key: k, file: `native: test/${k}.test.ts` }));
    expect(neverRan(scheduled, new Set(["a", "c"]))).toEqual(["native: test/b.test.ts", "native: test/d.test.ts"]);
    expect(neverRan(scheduled, new Set(["a", "b", "c", "d"]))).toEqual([]);
  });
});

describe("runProcess", () => {
  it("runs a command without blocking and returns its status and output; runOk throws on failure", async () => {
    const ok = await runProcess(process.execPath, ["-e", "console.log('out'); console.error('err')"]);
    expect(ok).toEqual({ status: 0, signal: null, stdout: "out\n", stderr: "err\n" });
    await expect(runOk(process.execPath, ["-e", "console.error('bad'); process.exit(3)"])).rejects.toThrow(/exited with 3: bad/);
  });
});
