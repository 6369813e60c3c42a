import { describe, expect, it } from "vitest";
import {
  interleavedSchedule,
  machineVerdict,
  median,
  medianInterval,
  notSeparable,
  summarizeTimings,
} from "../../../lib/method/latency-protocol.js";
import { prng } from "./helpers.js";

// Box–Muller normal from the seeded uniform generator.
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

describe("interleavedSchedule", () => {
  it("warms every item up first, then visits them in rounds ABC, ABC", () => {
    const order = interleavedSchedule(3, 2).map((s) => `${s.round}:${"ABC"[s.item]}`);
    expect(order).toEqual(["-1:A", "-1:B", "-1:C", "0:A", "0:B", "0:C", "1:A", "1:B", "1:C"]);
  });

  it("can skip the warm-up", () => {
    expect(interleavedSchedule(2, 1, false)).toEqual([
      { round: 0, item: 0 },
      { round: 0, item: 1 },
    ]);
  });

  it("refuses empty schedules", () => {
    expect(() => interleavedSchedule(0, 3)).toThrow("items must be an integer ≥ 1 (got 0)");
    expect(() => interleavedSchedule(2, 0)).toThrow("rounds must be an integer ≥ 1 (got 0)");
  });
});

describe("median and its distribution-free interval", () => {
  it("computes medians of odd and even samples", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(() => median([])).toThrow("median needs at least one value");
    expect(() => median([1, Number.NaN])).toThrow("every value must be finite");
  });

  // Hand-worked, n = 10: P(Bin(10, ½) ≤ 0) = 1/1024, ≤ 1: 11/1024, ≤ 2: 56/1024.
  // l = 2: coverage 1 − 2·11/1024 = 1002/1024 = 0.978515625 ≥ 0.95; l = 3: 1 − 112/1024 = 0.890625 < 0.95.
  it("uses x(2) and x(9) for n = 10 (hand-worked binomial)", () => {
    const i = medianInterval([5, 1, 4, 2, 3, 6, 8, 7, 10, 9]);
    expect(i).toEqual({ low: 2, high: 9, lower: 2, upper: 9, coverage: 1002 / 1024 });
  });

  // n = 6: l = 1 gives 1 − 2/64 = 0.96875; l = 2 gives 1 − 2·7/64 = 0.78125.
  // n = 5 cannot reach 95%: [min, max] covers 1 − 2/32 = 0.9375, and says so.
  it("says when the sample is too small for 95%", () => {
    expect(medianInterval([1, 2, 3, 4, 5, 6]).coverage).toBe(62 / 64);
    const five = medianInterval([1, 2, 3, 4, 5]);
    expect([five.low, five.high, five.coverage]).toEqual([1, 5, 30 / 32]);
    // n = 20: P(Bin ≤ 5) = 21700/1048576 = 0.0207 → l = 6, coverage 0.9586 (Conover's table gives x(6), x(15))
    const twenty = medianInterval(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([twenty.lower, twenty.upper]).toEqual([6, 15]);
    expect(twenty.coverage).toBeCloseTo(1 - (2 * 21700) / 1048576, 12);
  });

  it("covers the true median about as often as it claims (seeded Monte Carlo)", () => {
    const rand = prng(16);
    const trueMedian = Math.LN2; // of Exp(1): skewed, like timings
    let hits = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const sample = Array.from({ length: 10 }, () => -Math.log(1 - rand()));
      const i = medianInterval(sample);
      if (i.low <= trueMedian && trueMedian <= i.high) hits++;
    }
    // claimed 0.9785; binomial sd over 4000 trials ≈ 0.0023
    expect(hits / trials).toBeGreaterThan(0.97);
    expect(hits / trials).toBeLessThan(0.987);
  });
});

describe("notSeparable", () => {
  it("pairs overlapping intervals, touching included", () => {
    expect(notSeparable([{ low: 1, high: 2 }, { low: 2, high: 3 }, { low: 4, high: 5 }])).toEqual([[1], [0], []]);
  });

  // Three files on a machine that slows down linearly over the run (+40% from start to end),
  // with 3% multiplicative noise: A and B are the same speed, C is 10% slower.
  const truth = [10, 10, 11];
  function simulate(order: readonly { round: number; item: number }[], seed: number): number[][] {
    const rand = prng(seed);
    const timed = order.filter((s) => s.round >= 0);
    const out: number[][] = truth.map(() => []);
    order.forEach((s, k) => {
      const drift = 1 + (0.4 * k) / order.length;
      const value = (truth[s.item] as number) * drift * (1 + 0.03 * normal(rand));
      if (s.round >= 0) (out[s.item] as number[]).push(value);
    });
    expect(timed.length).toBe(truth.length * 10);
    return out;
  }

  it("interleaved rounds keep equal files inseparable under drift", () => {
    const samples = simulate(interleavedSchedule(3, 10), 7);
    const summaries = samples.map((s) => summarizeTimings(s));
    const pairs = notSeparable(summaries);
    expect(pairs[0]).toContain(1); // A ≈ B: not separable here
    expect(summaries[1]!.median / summaries[0]!.median).toBeGreaterThan(0.95);
    expect(summaries[1]!.median / summaries[0]!.median).toBeLessThan(1.05);
  });

  it("measuring AAAA BBBB CCCC under the same drift would call equal files different", () => {
    const blocked = [0, 1, 2].flatMap((item) => [{ round: -1, item }, ...Array.from({ length: 10 }, (_, round) => ({ round, item }))]);
    const summaries = simulate(blocked, 7).map((s) => summarizeTimings(s));
    expect(notSeparable(summaries)[0]).not.toContain(1); // a spurious difference: why we interleave
    expect(summaries[1]!.median / summaries[0]!.median).toBeGreaterThan(1.1);
  });
});

describe("machineVerdict", () => {
  const idle = { load1: 0.1, cpus: 2, governors: ["performance"] };
  it("calls an idle machine with a fixed clock idle, with no reasons", () => {
    expect(machineVerdict(idle, { ...idle, load1: 2.1 }, 2)).toMatchObject({ busy: false, reasons: [] });
  });

  it("flags foreign load at the start", () => {
    const v = machineVerdict({ ...idle, load1: 3.5 }, idle, 2);
    expect(v.busy).toBe(true);
    expect(v.reasons).toEqual(["load average 3.50 on 2 CPUs at the start"]);
  });

  it("subtracts our own threads at the end", () => {
    expect(machineVerdict(idle, { ...idle, load1: 2.9 }, 2).busy).toBe(false); // 0.9 foreign ≤ 1
    const v = machineVerdict(idle, { ...idle, load1: 3.5 }, 2);
    expect(v.reasons).toEqual(["load average 3.50 on 2 CPUs at the end (2 of it ours)"]);
  });

  it("names a governor that lets the clock follow the load, without calling the machine busy", () => {
    const v = machineVerdict({ ...idle, governors: ["powersave"] }, idle, 1);
    expect(v.busy).toBe(false);
    expect(v.reasons).toEqual(["CPU frequency governor powersave (the clock follows the load)"]);
  });

  it("says when the load average cannot be read", () => {
    const none = { load1: null, cpus: 4, governors: [] };
    expect(machineVerdict(none, none, 4).reasons).toEqual(["load average unreadable"]);
  });
});
