import { describe, expect, it } from "vitest";
import { tableLines } from "../../lib/cli/safe-table.js";

// Issue 22: the table printed after "wrote" can no longer turn a finished run into exit 1.
describe("tableLines", () => {
  it("passes the lines through, or turns a fault into one note saying the output is complete", () => {
    expect(tableLines(() => ["a", "b"], "apreqel quantize")).toEqual(["a", "b"]);
    const fromNull = () => {
      const interval = JSON.parse("null") as { low: number } | null;
      return [`[${interval!.low}]`];
    };
    expect(tableLines(fromNull, "apreqel quantize")).toEqual([
      "note: apreqel quantize: the output is complete, but its summary table could not be shown (Cannot read properties of null (reading 'low'))",
    ]);
  });
});
