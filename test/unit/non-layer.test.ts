// issue 26: the output line names the types the file's non-layer tensors really have (a front
// plans the embeddings and output head itself; the demo said q8_0 of a mix holding q5_K there)
import { describe, expect, it } from "vitest";
import { nonLayerTypes } from "../../lib/cli/non-layer.js";

const t = (name: string, type: string, subLayer: string | null, quantizable = true) => ({ name, type, subLayer, quantizable, shape: [256, 256], bytes: 0, offset: 0 });

describe("nonLayerTypes", () => {
  it("one type when the tensors outside the blocks agree, each tensor's otherwise; norms and block tensors do not count", () => {
    const blocks = [t("blk.0.attn_q.weight", "q4_K", "blk.0.attn"), t("output_norm.weight", "f32", null, false)];
    expect(nonLayerTypes({ tensors: [...blocks, t("token_embd.weight", "q5_K", null), t("output.weight", "q5_K", null)] } as never)).toBe("q5_K");
    expect(nonLayerTypes({ tensors: [...blocks, t("token_embd.weight", "q4_K", null), t("output.weight", "q6_K", null)] } as never)).toBe("token_embd q4_K, output q6_K");
    expect(nonLayerTypes({ tensors: blocks } as never)).toBe("none");
  });
});
