// issue 26: the library refuses a context the model does not have, with the CLI's wording (README's
// example passed nCtx 512 to a 256-token model and the library accepted it); an already-quantized
// source is refused from its header.
import { describe, expect, it } from "vitest";
import { OptionError, InputError } from "../../lib/core/errors.js";
import { requireContext, requireUnquantizedSource, settingsContextUse, trainedContext } from "../../lib/pipeline/session.js";

const info = (ctx: unknown) => ({ architecture: "llama", metadata: { "llama.context_length": ctx } }) as never;

describe("the model's context", () => {
  it("is read from the header, absent when it does not say", () => {
    expect(trainedContext(info(256))).toBe(256);
    expect(trainedContext(info(undefined))).toBeUndefined();
    expect(trainedContext(info(0))).toBeUndefined();
  });

  it("the library's settings above it are refused, named as the caller spells them", () => {
    const s = { model: "debian.gguf", info: info(256) };
    const uses = settingsContextUse({ accuracy: { nCtx: 512 }, score: {}, latency: { nPrompt: 128, nGen: 32 } });
    expect(() => requireContext(s, uses)).toThrow(new OptionError("accuracy.nCtx", "accuracy.nCtx: 512 tokens is more than debian.gguf's context of 256 tokens"));
    expect(() => requireContext(s, settingsContextUse({ accuracy: { nCtx: 256 }, score: { nCtx: 256 }, latency: { nPrompt: 300, nGen: 32 } }))).toThrow(
      "latency.nPrompt: 300 tokens is more than debian.gguf's context of 256 tokens",
    );
    expect(() => requireContext(s, settingsContextUse({ accuracy: { nCtx: 256 }, latency: { nPrompt: 256, nGen: 32 } }))).not.toThrow();
    expect(() => requireContext({ model: "m.gguf", info: info(undefined) }, uses)).not.toThrow(); // no context in the header: nothing to check against
  });
});

describe("an already-quantized source", () => {
  const t = (name: string, type: string, quantizable = true) => ({ name, type, quantizable });
  it("is refused naming how many tensors and their types; F16/BF16/F32 sources and quantized norms pass", () => {
    expect(() => requireUnquantizedSource("m.gguf", { tensors: [t("blk.0.attn_q.weight", "f16"), t("token_embd.weight", "bf16"), t("output_norm.weight", "q8_0", false)] } as never)).not.toThrow();
    const e = (() => {
      try {
        requireUnquantizedSource("m-q4.gguf", { tensors: [t("blk.0.attn_q.weight", "q4_K"), t("blk.0.ffn_down.weight", "q6_K"), t("output.weight", "f16")] } as never);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/^model: m-q4\.gguf is already quantized \(2 of its tensors are q4_K, q6_K\); apreqel quantizes from an F16, BF16 or F32 GGUF/);
  });
});
