import { defineConfig } from "vitest/config";

// Three tiers (see test/README.md): unit tests are pure and run in parallel;
// native and model tests load the addon and run one file at a time in forked
// workers, so a native crash fails one test file instead of the runner.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "native",
          include: ["test/native/**/*.test.ts", "test/model/**/*.test.ts"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
