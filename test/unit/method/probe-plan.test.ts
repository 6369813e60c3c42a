import { describe, expect, it } from "vitest";
import {
  cellValues,
  lognormalGain,
  lagrangianMix,
  lambdaAt,
  parseProbeBudget,
  planRound,
  cellsToSettle,
  predictSensitivity,
  seedCells,
  servedSizes,
  unitRole,
} from "../../../lib/method/probe-plan.js";
import { describeSensitivity, parseSensitivity } from "../../../lib/method/sensitivity.js";

describe("predictSensitivity", () => {
  it("scales the proxy by the measured cells of its type (hand-worked: one cell, Δ/P = 0.01)", () => {
    const p = predictSensitivity({ units: ["blk.0.a", "blk.1.a"], types: ["q8_0", "q4_K"], proxy: [[0, 2], [0, 4]], measured: [[0, 0.02], [0, null]] });
    expect(p.delta[0]).toEqual([0, 0.02]);
    expect(p.delta[1]![1]).toBeCloseTo(0.04, 12);
    expect(p.measured).toEqual([[true, true], [true, false]]);
    expect(p.sigma[0]![1]).toBe(0);
    // one cell cannot give a spread: the prior's (ln sd 1), widened by what the effects have not learnt
    expect(p.fit.residualSd).toBeCloseTo(1, 12);
    expect(p.sigma[1]![1]).toBeGreaterThan(0.04);
  });

  it("predicts exactly when the measured cells follow Δ = k_t · P (every effect but the type's is 0)", () => {
    const proxy = [[0, 1, 3], [0, 2, 5], [0, 4, 9], [0, 8, 20]];
    const k = [0, 0.01, 0.002];
    const truth = proxy.map((row) => row.map((x, t) => x * k[t]!));
    const measured = truth.map((row, u) => row.map((d, t) => (t === 0 || (u + t) % 2 === 0 ? d : null)));
    const p = predictSensitivity({ units: ["blk.0.q", "blk.0.k", "blk.1.q", "blk.1.k"], types: ["q8_0", "q4_K", "q2_K"], proxy, measured });
    for (let u = 0; u < 4; u++) for (let t = 0; t < 3; t++) expect(p.delta[u]![t]).toBeCloseTo(truth[u]![t]!, 12);
  });

  it("carries a unit's own offset to its unmeasured types", () => {
    // unit 1 measured 3× the proxy's prediction at q4_K: its q2_K is predicted above the proxy's scale
    const p = predictSensitivity({
      units: ["blk.0.a", "blk.1.a", "blk.2.a"],
      types: ["q8_0", "q4_K", "q2_K"],
      proxy: [[0, 1, 4], [0, 1, 4], [0, 1, 4]],
      measured: [[0, 0.01, 0.04], [0, 0.03, null], [0, 0.01, 0.04]],
    });
    expect(p.delta[1]![2]).toBeGreaterThan(0.04);
    expect(p.delta[1]![2]).toBeLessThan(0.12);
  });

  it("follows a role's drift with depth to an unmeasured block", () => {
    // Δ = 0.01·e^z over blocks 0..4 (z = −1 … 1); block 4 unmeasured: predicted past block 3's, short of the truth (shrunk)
    const units = [0, 1, 2, 3, 4].map((b) => `blk.${b}.attn_q`);
    const truth = [0, 1, 2, 3, 4].map((b) => 0.01 * Math.exp(b / 2 - 1));
    const p = predictSensitivity({ units, types: ["q8_0", "q4_K"], proxy: units.map(() => [0, 1]), measured: truth.map((d, b) => [0, b === 4 ? null : d]) });
    expect(p.delta[4]![1]).toBeGreaterThan(truth[3]!);
    expect(p.delta[4]![1]).toBeLessThan(truth[4]!);
  });

  it("refuses a table whose rows do not match", () => {
    expect(() => predictSensitivity({ units: ["a"], types: ["q8_0", "q4_K"], proxy: [[0]], measured: [[0, null]] })).toThrow(/one value per type/);
  });
});

describe("the order of probes", () => {
  it("the gain of learning a lognormal cell: put and call values", () => {
    expect(lognormalGain(1, 0, 2, true)).toBe(1);
    expect(lognormalGain(1, 0, 2, false)).toBe(0);
    // hand-worked: m = 1, s = 1, k = 1: call = e^½ Φ(1) − Φ(0) = 1.6487·0.841345 − 0.5
    expect(lognormalGain(1, 1, 1, false)).toBeCloseTo(Math.exp(0.5) * 0.841344746 - 0.5, 5);
    // put = Φ(0) − e^½ Φ(−1)
    expect(lognormalGain(1, 1, 1, true)).toBeCloseTo(0.5 - Math.exp(0.5) * 0.158655254, 5);
    expect(lognormalGain(0.1, 0.3, 0.01, true)).toBeLessThan(1e-12);
  });

  it("the Lagrangian mix and the λ of a size", () => {
    const delta = [[0, 0.01], [0, 0.03]];
    const bytes = [[100, 50], [100, 50]];
    expect(lagrangianMix(delta, bytes, 1e-3)).toEqual([1, 1]);
    expect(lagrangianMix(delta, bytes, 1e-5)).toEqual([0, 0]);
    const lambda = lambdaAt(delta, bytes, 150);
    expect(lambda).toBeGreaterThan(2e-4);
    expect(lambda).toBeLessThan(2.0001e-4);
    expect(lagrangianMix(delta, bytes, lambda)).toEqual([1, 0]);
    expect(lambdaAt(delta, bytes, 200)).toBe(0);
    expect(lambdaAt(delta, bytes, 99)).toBe(Infinity);
    expect(servedSizes(bytes, 3)).toEqual([125, 150, 175]);
  });

  it("values the cell whose spread crosses the choice, not those far from it (hand-made table)", () => {
    // λ = 2e-4: a unit drops to type 1 when Δ < 0.01 (50 bytes saved × λ)
    const table = {
      delta: [[0, 0.001], [0, 0.0095], [0, 0.05]],
      lnSd: [[0, 0.5], [0, 0.5], [0, 0.5]],
      measured: [[true, false], [true, false], [true, false]],
    };
    const bytes = [[100, 50], [100, 50], [100, 50]];
    const values = cellValues(table, bytes, [2e-4]);
    expect(values[0]!.unit).toBe(1);
    // unit 1 is at its best (q4_K, 0.0095 + 0.01 < 0.02): it gains if Δ > 0.01, the call at k = 0.01
    expect(values[0]!.value).toBeCloseTo(lognormalGain(0.0095, 0.5, 0.01, false), 12);
    for (const v of values.slice(1)) expect(v.value).toBeLessThan(values[0]!.value / 100);
  });

  it("a round measures the cells that can change the choice, and stops when none can", () => {
    // one role; the measured units follow Δ = 0.001·P exactly, so the fit's spread is its floor
    const proxyOf = [1, 9, 11, 100, 2, 3, 4, 5, 6, 7, 8, 12, 15, 20, 30, 40, 50, 60, 70, 80, 150, 200, 300];
    const units = proxyOf.map((_, u) => `blk.${u}.a`);
    const types = ["q8_0", "q4_K"];
    const bytes = units.map(() => [100, 50]);
    const proxy = proxyOf.map((p) => [0, p]);
    const unmeasured = new Set([1, 2, 3]);
    const measured = proxyOf.map((p, u) => [0, unmeasured.has(u) ? null : 0.001 * p]);
    // at 1850 bytes nine units drop (P ≤ 9): the threshold (50 bytes × λ) falls between units 1 (Δ̂ 0.009) and 2 (Δ̂ 0.011)
    const r = planRound({ units, types, proxy, measured, bytes, sizes: [1850], batch: 2 });
    expect(r.reason).toBe("value");
    expect(r.cells.map((c) => c.unit).sort()).toEqual([1, 2]);
    // units 1 and 2 measured: unit 3 (Δ̂ 0.1, far above the threshold) cannot come back into the choice
    const settled = planRound({ units, types, proxy, measured: measured.map((row, u) => (u === 1 || u === 2 ? [0, 0.001 * proxyOf[u]!] : row)), bytes, sizes: [1850], batch: 2 });
    expect(settled.reason).toBe("settled");
    expect(settled.cells).toEqual([]);
    // the forecast the progress display reads: at least this round's cells while it runs, none once settled
    expect(r.cellsToSettle).toBeGreaterThanOrEqual(1);
    expect(r.cellsToSettle).toBeLessThanOrEqual(3);
    expect(settled.cellsToSettle).toBe(0);
  });

  it("cellsToSettle: the fewest most valuable cells whose removal leaves at most the threshold", () => {
    expect(cellsToSettle([5, 3, 1, 1], 2)).toBe(2);
    expect(cellsToSettle([5, 3, 1, 1], 10)).toBe(0);
    expect(cellsToSettle([5, 3, 1, 1], 0)).toBe(4);
    expect(cellsToSettle([], 0)).toBe(0);
  });

  it("seeds with units at the proxy's quantiles, each at every type", () => {
    expect(seedCells([[0, 1], [0, 5], [0, 3]], 1)).toEqual([{ unit: 2, type: 1 }]);
    expect(seedCells([[0, 1, 2], [0, 5, 6], [0, 3, 4]], 3)).toHaveLength(6);
    const r = planRound({ units: ["a", "b"], types: ["q8_0", "q4_K"], proxy: [[0, 1], [0, 2]], measured: [[0, null], [0, null]], bytes: [[2, 1], [2, 1]], sizes: [3], batch: 8 });
    expect(r.reason).toBe("seed");
    expect(r.cells.length).toBeGreaterThan(0);
  });

  it("unit roles ignore the block", () => {
    expect(unitRole("blk.12.ffn_down")).toBe("ffn_down");
    expect(unitRole("output")).toBe("output");
  });
});

describe("parseProbeBudget", () => {
  it("reads durations, tokens and shares", () => {
    expect(parseProbeBudget("10m")).toEqual({ kind: "seconds", seconds: 600 });
    expect(parseProbeBudget("90s")).toEqual({ kind: "seconds", seconds: 90 });
    expect(parseProbeBudget("1.5h")).toEqual({ kind: "seconds", seconds: 5400 });
    expect(parseProbeBudget("2M")).toEqual({ kind: "tokens", tokens: 2_000_000 });
    expect(parseProbeBudget("500k")).toEqual({ kind: "tokens", tokens: 500_000 });
    expect(parseProbeBudget("4096")).toEqual({ kind: "tokens", tokens: 4096 });
    expect(parseProbeBudget("0")).toEqual({ kind: "tokens", tokens: 0 });
    expect(parseProbeBudget("25%")).toEqual({ kind: "share", share: 0.25 });
  });
  it("refuses what it cannot read", () => {
    for (const bad of ["ten", "-1", "150%", "1.5", "2 MB", ""]) expect(parseProbeBudget(bad)).toBeNull();
  });
});

describe("a planned table in scores.json", () => {
  const planned = {
    kind: "measured",
    granularity: "tensor",
    types: ["q8_0", "q4_K"],
    units: ["blk.0.attn_q", "blk.0.attn_k"],
    referenceKld: 0.001,
    delta: [[0, 0.02], [0, 0.01]],
    cells: { measured: [[true, true], [true, false]], sigma: [[0, 0], [0, 0.005]] },
    probes: { measured: 1, predicted: 1, forwardTokens: 4096, fullTableTokens: 8192, budget: "50% of the full table", stopped: "budget" },
  };

  it("keeps which cells were measured and how uncertain the others are, and says so in one line", () => {
    const t = parseSensitivity(JSON.parse(JSON.stringify(planned)));
    expect(t.cells).toEqual(planned.cells);
    expect(describeSensitivity(t)).toBe("1 of 2 cells measured, 1 predicted (median ± 50%); 4096 forward-equivalent tokens (50% of the full table); budget 50% of the full table; stopped: budget");
    expect(describeSensitivity({ ...t, probes: undefined, cells: undefined } as never)).toBe("all 2 cells measured");
  });

  it("refuses flags of the wrong shape or a stop it does not know", () => {
    expect(() => parseSensitivity({ ...planned, cells: { measured: [[true, true]], sigma: [[0, 0], [0, 0]] } })).toThrow(/sensitivity\.cells\.measured must have one row per unit \(2\)/);
    expect(() => parseSensitivity({ ...planned, cells: { ...planned.cells, sigma: [[0, 0], [0, -1]] } })).toThrow(/sigma\[1\]\[1\] must be ≥ 0/);
    expect(() => parseSensitivity({ ...planned, probes: { ...planned.probes, stopped: "tired" } })).toThrow(/stopped must be one of settled, budget, complete, proxy only/);
  });
});
