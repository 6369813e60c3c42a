import { describe, expect, it } from "vitest";
import { describeValue, invalidOption, nearestName, OptionError, unknownName } from "../../lib/core/errors.js";
import { parseInteger } from "../../lib/core/validate.js";
import { editDistance } from "../../lib/method/errors.js";

describe("error vocabulary", () => {
  it("suggests the nearest valid name", () => {
    expect(nearestName("q4_k", ["q4_K", "q5_K"])).toBe("q4_K");
    expect(nearestName("q4K", ["q4_K", "q8_0"])).toBe("q4_K");
    expect(nearestName("zzzzzz", ["q4_K"])).toBeUndefined();
  });
  it("formats messages in one style", () => {
    expect(unknownName("type", "ggml type", "q4_k", ["q4_K"]).message).toBe('unknown ggml type "q4_k" for option type; did you mean "q4_K"?');
    expect(unknownName("type", "ggml type", "zzzzzz", ["q4_K", "q8_0"]).message).toBe('unknown ggml type "zzzzzz" for option type; valid: q4_K, q8_0');
    expect(invalidOption("threads", "a whole number ≥ 0", -1).message).toBe("expected a whole number ≥ 0 for option threads but received -1");
  });
});

describe("one describer, one integer parser", () => {
  it("describes received values alike everywhere (hand-written expectations)", () => {
    expect(describeValue(0.5 + 0.7)).toBe("1.2");
    expect(describeValue(2 ** 40)).toBe("1099511627776");
    expect(describeValue("q4_k")).toBe('"q4_k"');
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(null)).toBe("null");
    expect(describeValue(true)).toBe("true");
    expect(describeValue(3n)).toBe("3n");
    expect(describeValue(() => 1)).toBe("a function");
    expect(describeValue([1])).toBe("an array");
    expect(describeValue({ a: 1 })).toBe("an object");
    expect(describeValue("x".repeat(100))).toBe(`"${"x".repeat(77)}..."`);
  });

  it("counts edits: one insertion, one substitution, a whole word", () => {
    expect(editDistance("q4K", "q4_K")).toBe(1);
    expect(editDistance("q4_k", "q4_K")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("parses command-line integers strictly, naming the option", () => {
    expect(parseInteger("-1", "--gpu-layers", -1)).toBe(-1);
    expect(parseInteger(" 8 ", "--ctx", 8)).toBe(8);
    expect(() => parseInteger("2.5", "--threads", 0)).toThrow('expected a whole number ≥ 0 for option --threads but received "2.5"');
    expect(() => parseInteger("4", "--ctx", 8)).toThrow('expected a whole number ≥ 8 for option --ctx but received "4"');
    expect(() => parseInteger("1e3", "--reps", 1)).toThrow(OptionError);
    expect(() => parseInteger("5", "--n", 1, 4)).toThrow('expected a whole number from 1 to 4 for option --n but received "5"');
  });
});
