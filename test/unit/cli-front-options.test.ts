import { describe, expect, it } from "vitest";
import { parseFrontChoices } from "../../lib/cli/options.js";
import { sensitivitySettings } from "../../lib/cli/pipeline-options.js";
import { DEFAULT_NON_LAYER_TYPE } from "../../lib/pipeline/uniform.js";

describe("parseFrontChoices", () => {
  it("defaults to the front and reads the front's limits", () => {
    expect(parseFrontChoices({})).toEqual({ method: "front" });
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
    expect(() => parseFrontChoices({ method: "paper", "target-bpw": "4.5" })).toThrow("--target-bpw goes with --method front");
  });
});

describe("sensitivitySettings: the defaults follow the method", () => {
  const uniform = { nonLayerType: DEFAULT_NON_LAYER_TYPE };
  it("the front measures Δ KLD per tensor; the paper's method ranks by cosine scores", () => {
    const front = sensitivitySettings({}, ["q8_0", "q4_K"], uniform, "front");
    expect(front).toMatchObject({ kind: "measured", granularity: "tensor", chunks: 8 });
    expect(sensitivitySettings({}, ["q8_0", "q4_K"], uniform, "paper")).toBeUndefined();
    // an explicit choice wins either way
    expect(sensitivitySettings({ sensitivity: "cosine" }, ["q8_0"], uniform, "front")).toBeUndefined();
    expect(sensitivitySettings({ sensitivity: "measured" }, ["q8_0"], uniform, "paper")).toMatchObject({ kind: "measured", granularity: "sublayer" });
    expect(() => sensitivitySettings({ sensitivity: "cosine", granularity: "tensor" }, ["q8_0"], uniform, "front")).toThrow("--granularity and --probe-chunks go with --sensitivity measured");
  });
});
