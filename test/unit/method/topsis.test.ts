import { describe, expect, it } from "vitest";
import { topsis } from "../../../lib/method/index.js";

describe("topsis", () => {
  // Worked by hand. Three alternatives, three cost criteria, weights (0.5, 0.3, 0.2):
  //   x = [2 4 1]   column norms: √(4+1+4) = 3, √(16+16+4) = 6, √(1+4+4) = 3
  //       [1 4 2]   r = x / norm:  [2/3 2/3 1/3] [1/3 2/3 2/3] [2/3 1/3 2/3]
  //       [2 2 2]   v = w·r:       [1/3 1/5 1/15] [1/6 1/5 2/15] [1/3 1/10 2/15]
  //   ideal (column min)      = (1/6, 1/10, 1/15); anti-ideal (column max) = (1/3, 1/5, 2/15)
  //   A1: d* = √(1/36 + 1/100)  = √34/30, d⁻ = √(1/225)  = 2/30 → 2/(2+√34) ≈ 0.2554
  //   A2: d* = √(1/100 + 1/225) = √13/30, d⁻ = √(1/36)   = 5/30 → 5/(5+√13) ≈ 0.5810
  //   A3: d* = √(1/36 + 1/225)  = √29/30, d⁻ = √(1/100)  = 3/30 → 3/(3+√29) ≈ 0.3578
  const matrix = [
    [2, 4, 1],
    [1, 4, 2],
    [2, 2, 2],
  ];

  it("matches the hand calculation", () => {
    const { scores, order } = topsis(matrix, [0.5, 0.3, 0.2]);
    expect(scores[0]).toBeCloseTo(2 / (2 + Math.sqrt(34)), 9);
    expect(scores[1]).toBeCloseTo(5 / (5 + Math.sqrt(13)), 9);
    expect(scores[2]).toBeCloseTo(3 / (3 + Math.sqrt(29)), 9);
    expect(order).toEqual([1, 2, 0]);
  });

  it("ranks by one criterion when it has all the weight", () => {
    expect(topsis(matrix, [0, 1, 0]).order).toEqual([2, 0, 1]);
  });

  it("gives every row 1 when all rows are equal, and keeps row order", () => {
    expect(topsis([[1, 1], [1, 1]], [0.5, 0.5])).toEqual({ scores: [1, 1], order: [0, 1] });
  });

  it("normalises an all-zero column to zeros", () => {
    const { scores } = topsis([[0, 1], [0, 2]], [0.5, 0.5]);
    expect(scores).toEqual([1, 0]);
  });

  it.each([
    [[0.5, 0.7], "weights must sum to 1 (got 1.2)"],
    [[0.5, 0.4], "weights must sum to 1 (got 0.9)"],
    [[-0.1, 1.1], "weights[0] must be between 0 and 1 (got -0.1)"],
    [[1.5, -0.5], "weights[0] must be between 0 and 1 (got 1.5)"],
    [[0.5, Number.NaN], "weights[1] must be a finite number (got NaN)"],
  ])("rejects weights %j", (weights, message) => {
    expect(() => topsis([[1, 2]], weights)).toThrow(message);
  });

  it("rejects a malformed matrix", () => {
    expect(() => topsis([], [1])).toThrow("matrix must have at least one row (got none)");
    expect(() => topsis([[1, 2], [1]], [0.5, 0.5])).toThrow("matrix[1] must have 2 entries, one per weight (got 1)");
    expect(() => topsis([[1, Number.NaN]], [0.5, 0.5])).toThrow("matrix[0][1] must be a finite number (got NaN)");
  });
});
