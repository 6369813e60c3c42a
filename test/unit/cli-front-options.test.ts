import { describe, expect, it } from "vitest";
import { parseFrontChoices } from "../../lib/cli/options.js";

describe("parseFrontChoices", () => {
  it("defaults to the paper's method and reads the front's limits", () => {
    expect(parseFrontChoices({})).toEqual({ method: "paper" });
    expect(parseFrontChoices({ method: "front", "target-size": "30MB", "target-bpw": "4.5", "max-kld": "0.02" })).toEqual({
      method: "front",
      targetSizeBytes: 30_000_000,
      targetBpw: 4.5,
      maxKld: 0.02,
    });
  });

  it("refuses an unknown method, bad values, and the front's limits without --method front", () => {
    expect(() => parseFrontChoices({ method: "frnt" })).toThrow('unknown method "frnt" for option --method; did you mean "front"?');
    expect(() => parseFrontChoices({ method: "front", "target-size": "30XB" })).toThrow('expected a size like 2GB or 512MiB for option --target-size but received "30XB"');
    expect(() => parseFrontChoices({ "target-bpw": "4.5" })).toThrow("--target-bpw goes with --method front");
  });
});
