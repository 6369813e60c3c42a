import { defineConfig } from "vitest/config";
import { machineTimeScale, SCALE_ENV } from "./test/helpers/machine-speed.js";
import { NeverRanReporter } from "./test/helpers/never-ran-reporter.js";

// How much slower than the idle CI VM this machine is right now (a timed loop, or
// APREQEL_TEST_TIME_SCALE): every time limit below, and each long test's own (`slow(ms)` in
// test/helpers/machine-speed.ts, read by the workers from the environment), stretches by it, so
// the suite passes beside other work instead of timing out (issue 26).
const scale = machineTimeScale();
process.env[SCALE_ENV] = String(scale);
if (scale > 1) console.log(`apreqel tests: this machine runs ${scale}× slower than the reference; time limits stretched ${scale}×`);
const ms = (n: number) => Math.round(n * scale);

// Three tiers (see test/README.md): unit tests are pure and run in parallel;
// native and model tests load the addon and run one file at a time in forked
// workers, so a native crash fails one test file instead of the runner.
export default defineConfig({
  test: {
    // vitest's summary counts files that never ran only in its total: name them and fail
    reporters: ["default", new NeverRanReporter()],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: ms(5_000),
          hookTimeout: ms(10_000),
        },
      },
      {
        test: {
          name: "native",
          include: ["test/native/**/*.test.ts", "test/model/**/*.test.ts"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          fileParallelism: false,
          testTimeout: ms(120_000),
          hookTimeout: ms(300_000),
        },
      },
    ],
  },
});
