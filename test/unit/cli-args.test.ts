import { describe, expect, it } from "vitest";
import { parse } from "../../lib/cli/args.js";
import { OptionError } from "../../lib/core/errors.js";

describe("parse: strict options", () => {
  const options = { "gpu-layers": { type: "string" }, json: { type: "boolean" } } as const;

  it("a negative number after an option with a value is its value (--gpu-layers -1)", () => {
    expect(parse(["m.gguf", "--gpu-layers", "-1", "--json"], options).values).toEqual({ "gpu-layers": "-1", json: true });
    expect(parse(["--gpu-layers=-2"], options).values).toEqual({ "gpu-layers": "-2" });
  });

  it("an option after a boolean stays an option, and a typo is named", () => {
    expect(() => parse(["--json", "-1"], options)).toThrow(OptionError);
    expect(() => parse(["--gpu-layer", "3"], options)).toThrow("unknown option --gpu-layer; did you mean --gpu-layers?");
  });
});
