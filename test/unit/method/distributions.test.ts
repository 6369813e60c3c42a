import { describe, expect, it } from "vitest";
import { countDistributions, forEachDistribution } from "../../../lib/method/index.js";

describe("countDistributions", () => {
  it("is C(L+M−1, M−1)", () => {
    expect(countDistributions(64, 5)).toBe(814385); // C(68, 4) = 68·67·66·65/24
    expect(countDistributions(72, 5)).toBe(1282975); // C(76, 4) = 76·75·74·73/24
    expect(countDistributions(3, 3)).toBe(10); // C(5, 2)
    expect(countDistributions(7, 1)).toBe(1);
    expect(countDistributions(1, 4)).toBe(4);
  });

  it.each([
    [0, 5, "L must be a positive integer (got 0)"],
    [-1, 5, "L must be a positive integer (got -1)"],
    [2.5, 5, "L must be a positive integer (got 2.5)"],
    [10, 0, "M must be a positive integer (got 0)"],
  ])("rejects L = %s, M = %s", (L, M, message) => {
    expect(() => countDistributions(L, M)).toThrow(message);
  });

  it("refuses a count beyond exact integers", () => {
    expect(() => countDistributions(1e6, 20)).toThrow("too many distributions to enumerate for L = 1000000, M = 20");
  });
});

describe("forEachDistribution", () => {
  it("visits every split of a small case once, in decreasing lexicographic order", () => {
    const seen: string[] = [];
    const visited = forEachDistribution(2, 3, (c) => seen.push([...c].join(",")));
    expect(visited).toBe(6);
    expect(seen).toEqual(["2,0,0", "1,1,0", "1,0,1", "0,2,0", "0,1,1", "0,0,2"]);
  });

  it("visits C(L+M−1, M−1) distinct splits that each add up to L", () => {
    const L = 12;
    const seen = new Set<string>();
    let bad = 0;
    const visited = forEachDistribution(L, 4, (c) => {
      if (c.reduce((a, b) => a + b, 0) !== L || c.some((x) => x < 0)) bad++;
      seen.add(c.join(","));
    });
    expect(bad).toBe(0);
    expect(visited).toBe(455); // C(15, 3)
    expect(seen.size).toBe(455);
  });

  it("visits exactly 814385 splits for L = 64, M = 5", () => {
    let calls = 0;
    let last = "";
    const visited = forEachDistribution(64, 5, (c) => {
      calls++;
      last = c.join(",");
    });
    expect(visited).toBe(814385);
    expect(calls).toBe(814385);
    expect(last).toBe("0,0,0,0,64");
  });
});
