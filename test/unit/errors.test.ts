import { describe, expect, it } from "vitest";
import { invalidOption, nearestName, unknownName } from "../../lib/core/errors.js";

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
