// Issue 25 items 4/5: the planned sensitivity table on the fixture model — predicted cells flagged,
// a budget of 0 plans on the proxy alone, a cancelled table keeps its probes, the CLI option.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSensitivity } from "../../lib/method/sensitivity.js";
import { planSensitivity } from "../../lib/pipeline/probe-plan.js";
import { measureSensitivity } from "../../lib/pipeline/sensitivity.js";
import { openSession } from "../../lib/pipeline/session.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { syntheticText } from "../helpers/text.js";

const dir = tempDir();
const nCtx = 64;
const chunks = 2;
const types = ["q8_0", "q5_K", "q4_K", "q3_K"] as const;

const text = syntheticText(600, 11);
const calibration = { prompts: [text], source: { kind: "file" as const, path: "synthetic" }, sha256: "1".repeat(64) };
let source = "";

beforeAll(async () => {
  source = await fixtureModel();
}, 300_000);

describe("planSensitivity", () => {
  it("measures within the budget, predicts the rest, and says which is which", async () => {
    const s = await openSession({ model: source, cacheDir: path.join(dir, "cache") });
    // a full probe is chunks × nCtx = 128 tokens; 12 probes' worth of the table's 90 cells
    const fractions: number[] = [];
    const r = await planSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget: { kind: "tokens", tokens: 12 * chunks * nCtx }, onProgress: (f) => fractions.push(f) });
    // one step's progress across the rounds (issue 26's ETA reads it): never backwards, 1 at the end
    expect(fractions.length).toBeGreaterThan(1);
    fractions.forEach((f, i) => expect(f).toBeGreaterThanOrEqual(fractions[i - 1] ?? 0));
    expect(fractions[fractions.length - 1]).toBe(1);
    const t = parseSensitivity(JSON.parse(JSON.stringify(r.table)));
    const cells = t.units.length * (t.types.length - 1);
    expect(t.kind).toBe("measured");
    expect(t.probes!.measured).toBeGreaterThan(0);
    expect(t.probes!.measured + t.probes!.predicted).toBe(cells);
    expect(t.probes!.forwardTokens).toBeLessThanOrEqual(12 * chunks * nCtx);
    expect(t.probes!.stopped).toMatch(/budget|settled/);
    const flags = t.cells!.measured.flatMap((row) => row.slice(1));
    expect(flags.filter((m) => m)).toHaveLength(t.probes!.measured);
    // predicted cells carry a spread, measured ones none
    t.cells!.measured.forEach((row, u) => row.forEach((m, j) => (m ? expect(t.cells!.sigma[u]![j]).toBe(0) : expect(t.cells!.sigma[u]![j]).toBeGreaterThan(0))));
    // the measured cells are the probes' own numbers: the full table, from the same cache, agrees on them
    const full = await measureSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads: 2 });
    expect(full.cached).toBeGreaterThanOrEqual(t.probes!.measured);
    t.cells!.measured.forEach((row, u) => row.forEach((m, j) => m && expect(t.delta[u]![j]).toBeCloseTo(full.table.delta[u]![j]!, 15)));
    // a rerun replays the same rounds from the cache: the same table, no probe run
    const again = await planSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget: { kind: "tokens", tokens: 12 * chunks * nCtx } });
    expect(again.probed).toBe(0);
    expect(again.table.cells).toEqual(r.table.cells);
    expect(again.table.delta).toEqual(r.table.delta);
  }, 600_000);

  it("a budget of 0 runs no probe and plans on the proxy alone, with a note", async () => {
    const s = await openSession({ model: source, cacheDir: path.join(dir, "cache-zero") });
    const r = await planSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget: { kind: "tokens", tokens: 0 } });
    expect(r.probed).toBe(0);
    expect(r.table.kind).toBe("proxy");
    expect(r.table.probes).toMatchObject({ measured: 0, forwardTokens: 0, stopped: "proxy only" });
    expect(r.table.probes!.note).toMatch(/no probe ran; Δ is the proxy .* not KLD/);
    expect(r.table.cells!.measured.every((row) => row.slice(1).every((m) => !m))).toBe(true);
    // nothing but the uniform files (and no probe) went into the cache
    expect((await s.cache.list()).filter((e) => e.manifest.inputs.kind === "probe")).toEqual([]);
  }, 300_000);

  it("a cancelled plan keeps its finished probes; the rerun runs only the rest", async () => {
    const cacheDir = path.join(dir, "cache-cancel");
    const controller = new AbortController();
    const s = await openSession({ model: source, cacheDir, signal: controller.signal });
    let aborted = false;
    const budget = { kind: "tokens" as const, tokens: 16 * chunks * nCtx };
    await expect(
      planSensitivity(s, {
        units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget,
        onProgress: (f) => {
          if (!aborted && f > 0.3) {
            aborted = true;
            controller.abort();
          }
        },
      }),
    ).rejects.toThrow(/abort/i);
    const kept = s.cache.counts().published;
    const again = await openSession({ model: source, cacheDir });
    const r = await planSensitivity(again, { units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget });
    // the probes finished before the cancel came from the cache
    expect(r.cached).toBeGreaterThan(0);
    expect(again.cache.counts().published).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(types.length);
  }, 600_000);
});

describe("a time budget", () => {
  it("ends the call in flight at the deadline, keeps what finished, and says it stopped on the budget", async () => {
    const s = await openSession({ model: source, cacheDir: path.join(dir, "cache-time") });
    const r = await planSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads: 2, budget: { kind: "seconds", seconds: 0.05 } });
    expect(r.table.probes!.stopped).toBe("budget");
    const t = parseSensitivity(JSON.parse(JSON.stringify(r.table)));
    const probes = (await s.cache.list()).filter((e) => e.manifest.inputs.kind === "probe").length;
    // every measured cell is a probe in the cache (the reference's too when one finished)
    expect(t.probes!.measured).toBeLessThanOrEqual(probes);
  }, 300_000);
});

describe("apreqel score --probe-budget", () => {
  it("writes the planned table with its flags, plans on the proxy at 0, and refuses what it cannot read", async () => {
    const file = path.join(dir, "calibration.txt");
    writeFileSync(file, text);
    const out = path.join(dir, "scores.json");
    const args = ["score", source, "-o", out, "--calibration", file, "--ctx", String(nCtx), "--threads", "2", "--cache-dir", path.join(dir, "cli-cache"), "--sensitivity", "measured", "--granularity", "tensor", "--types", types.join(","), "--probe-chunks", String(chunks)];
    const bad = await runCli([...args, "--probe-budget", "ten"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected a time \(90s, 10m, 1h\), tokens \(500k, 2M\), a share \(25%\) or all for option --probe-budget but received "ten"/);
    const r = await runCli([...args, "--probe-budget", "10%"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/planned Δ KLD of 30 units × 4 types/);
    expect(r.stdout).toMatch(/cells measured, \d+ predicted .*budget 10% of the full table; stopped: (budget|settled)/);
    const scores = JSON.parse(readFileSync(out, "utf8"));
    expect(scores.sensitivity.cells.measured).toHaveLength(30);
    expect(scores.sensitivity.probes.predicted).toBeGreaterThan(0);
    const zero = await runCli([...args, "--probe-budget", "0"]);
    expect(zero.code, zero.stderr).toBe(0);
    expect(zero.stdout).toMatch(/0 of 90 cells measured.*no probe ran; Δ is the proxy/);
  }, 600_000);
});
