import { describe, expect, it } from "vitest";
import { ggmlTypes, quantizeTypes } from "../../lib/ops/ggml-types.js";
import { GGML_TYPE_TABLE } from "../../lib/method/types.js";

describe("the method's static type table agrees with the linked ggml", () => {
  it("every type exists in ggml with the same bits per weight", () => {
    const native = ggmlTypes();
    for (const t of GGML_TYPE_TABLE) {
      expect(native.get(t.name)?.bitsPerWeight, t.name).toBe(t.bitsPerWeight);
    }
  });
  it("every quantization target is in the method's table", () => {
    const names = GGML_TYPE_TABLE.map((t) => t.name as string);
    for (const t of quantizeTypes()) expect(names, t).toContain(t);
  });
});
