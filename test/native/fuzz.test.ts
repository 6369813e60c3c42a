// Issue 6, item 1, CI slice: a fixed-seed sample of the GGUF fuzzer (scripts/fuzz/gguf.ts runs the
// long one), through the same child-process runner: every case ends without a crash or hang, and
// every call that rejects does so with an Error whose message says what is wrong with which file.
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleRunner, type CaseReport, prepareFixtures, runCases, snapshotAddon, summarize, typeSizes } from "../../scripts/fuzz/harness.js";
import { buildCases, CATEGORIES } from "../../scripts/fuzz/mutations.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const CASES = 60;
const SEED = 20261123;
const dir = tempDir("apreqel-fuzz-");
let reports: CaseReport[] = [];

beforeAll(async () => {
  const fixtures = await prepareFixtures(path.join(os.tmpdir(), `apreqel-test-fixtures-${process.getuid?.() ?? 0}`, "fuzz"));
  const cases = buildCases(fixtures, typeSizes(), SEED, CASES);
  reports = await runCases(cases, {
    runner: await bundleRunner(dir),
    addon: snapshotAddon(dir),
    workDir: path.join(dir, "work"),
    jobs: Math.min(2, os.cpus().length),
    timeoutMs: 60_000,
  });
}, slow(600_000));

describe(`GGUF fuzzing, ${CASES} cases, seed ${SEED}`, () => {
  it("covers every category", () => {
    expect(new Set(reports.map((r) => r.category))).toEqual(new Set(CATEGORIES));
  });

  it("no case crashes or hangs the process", () => {
    const bad = reports.filter((r) => r.verdict === "crash" || r.verdict === "hang").map((r) => `${r.fixture} ${r.label}: ${r.exit} ${r.stderr}`);
    expect(bad).toEqual([]);
  });

  it("every rejection is an Error naming the problem", () => {
    const summary = summarize(reports);
    expect(summary.byVerdict["bad-rejection"]).toBe(0);
    for (const r of reports) {
      for (const [call, outcome] of Object.entries(r.result?.calls ?? {})) {
        if (outcome.ok) continue;
        expect(outcome.error, `${r.label} ${call}`).toBe(true);
        expect(outcome.message, `${r.label} ${call}`).toMatch(/\S/);
        expect(outcome.message, `${r.label} ${call}`).not.toMatch(/unknown native error|iostream error/);
        // the structural checks name the file; the model loader and quantizer name it too
        expect(outcome.message, `${r.label} ${call}`).toContain("case.gguf");
      }
    }
  });

  it("the unmodified fixtures pass every call", () => {
    expect(reports.filter((r) => r.category === "control").map((r) => r.verdict)).toEqual(["success", "success", "success"]);
  });
});
