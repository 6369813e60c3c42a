// The public API is recorded in docs/api-report.md: a change to what users import shows in review,
// and a change without its report fails here.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";
import { apiReport, DOORS, REPORT_FILE } from "../../scripts/shared/api-report.js";

describe("the API report", () => {
  const report = apiReport(packageRoot);

  it("is up to date (else: npx vite-node scripts/api-report.ts, and review the diff)", () => {
    expect(report === readFileSync(path.join(packageRoot, REPORT_FILE), "utf8"), "docs/api-report.md is stale: npx vite-node scripts/api-report.ts").toBe(true);
  });

  it("covers every door package.json exports, and the front door stays small", () => {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { exports: Record<string, { default?: string }> };
    const doors = Object.entries(pkg.exports).filter(([, target]) => typeof target === "object" && target.default?.endsWith(".js"));
    expect(doors.map(([key, target]) => [key === "." ? "apreqel" : `apreqel/${key.slice(2)}`, target.default])).toEqual(
      DOORS.map((d) => [d.door, `./dist/${d.entry.slice("lib/".length).replace(/\.ts$/, ".js")}`]),
    );
    // about 30 functions, classes and constants (their option and result types besides)
    const front = /## apreqel\n\n(\d+) values and (\d+) types/.exec(report);
    expect(Number(front?.[1])).toBeGreaterThan(0);
    expect(Number(front?.[1])).toBeLessThanOrEqual(35);
    // the CLI's internals stay out of the front door
    for (const internal of ["keyFor", "readMachineState", "parseWeights"]) expect(report.split("## apreqel/method")[0]).not.toMatch(new RegExp(`\\b${internal}\\b`));
  });
});
