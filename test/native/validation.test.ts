// Issue 6, item 7 (library side): every argument of the exported calls is checked before anything
// is read or written, with a message naming the option, the accepted values and what was received.
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { OptionError } from "../../lib/core/errors.js";
import { writeRandomModel } from "../../lib/ops/fixtures.js";
import { generate } from "../../lib/ops/generate.js";
import { inspect } from "../../lib/ops/inspect.js";
import { bench } from "../../lib/ops/bench.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { buildInfo } from "../../lib/ops/build-info.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { listing, tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let model = "";
beforeAll(async () => {
  model = await fixtureModel();
});
const out = () => path.join(dir, "out.gguf");
const q = (extra: Record<string, unknown>) => quantize({ input: model, output: out(), type: "q4_K", ...extra } as never);
const asm = (extra: Record<string, unknown>) => assemble({ base: model, sources: { a: model }, assignment: {}, output: out(), ...extra } as never);

const cases: Array<[string, () => Promise<unknown>, string]> = [
  ["quantize without options", () => quantize(undefined as never), "expected an options object for quantize() but received undefined"],
  ["quantize: type not a string", () => q({ type: 4 }), 'expected a quantization type name such as "q4_K" for option type but received 4'],
  ["quantize: type typo", () => q({ type: "q4_k" }), 'unknown quantization type "q4_k" for option type; did you mean "q4_K"?'],
  ["quantize: preset typo", () => q({ type: undefined, preset: "q4_k_m" }), 'unknown llama.cpp preset "q4_k_m" for option preset; did you mean "Q4_K_M"?'],
  ["quantize: type and preset", () => q({ preset: "Q4_K_M" }), "expected exactly one of type or preset for option type but received an object"],
  ["quantize: negative threads", () => q({ threads: -1 }), "expected a whole number ≥ 0 for option threads but received -1"],
  ["quantize: fractional threads", () => q({ threads: 1.5 }), "expected a whole number ≥ 0 for option threads but received 1.5"],
  ["quantize: NaN threads", () => q({ threads: NaN }), "expected a whole number ≥ 0 for option threads but received NaN"],
  ["quantize: threads as a string", () => q({ threads: "4" }), 'expected a whole number ≥ 0 for option threads but received "4"'],
  ["quantize: threads beyond 32 bits", () => q({ threads: 2 ** 40 }), "expected a whole number from 0 to 2147483647 for option threads but received 1099511627776"],
  ["quantize: allowRequantize not boolean", () => q({ allowRequantize: "yes" }), 'expected true or false for option allowRequantize but received "yes"'],
  ["quantize: overrides an array", () => q({ overrides: [] }), "expected an object of tensor name → ggml type for option overrides but received an array"],
  ["quantize: override type not a string", () => q({ overrides: { "blk.0.attn_q.weight": 3 } }), 'expected a string for option overrides["blk.0.attn_q.weight"] but received 3'],
  ["quantize: override type typo", () => q({ overrides: { "blk.0.attn_q.weight": "Q8_0" } }), 'unknown ggml type "Q8_0" for option overrides["blk.0.attn_q.weight"]; did you mean "q8_0"?'],
  ["quantize: override of an unknown tensor", () => q({ overrides: { "blk.0.attn_qq.weight": "q8_0" } }), 'unknown tensor "blk.0.attn_qq.weight" for option overrides; did you mean "blk.0.attn_q.weight"?'],
  ["quantize: tokenEmbeddingType typo", () => q({ tokenEmbeddingType: "q6k" }), 'unknown ggml type "q6k" for option tokenEmbeddingType; did you mean "q6_K"?'],
  ["quantize: signal not an AbortSignal", () => q({ signal: "abc" }), 'expected an AbortSignal for option signal but received "abc"'],
  ["quantize: onProgress not a function", () => q({ onProgress: 5 }), "expected a function for option onProgress but received 5"],
  ["assemble with null", () => assemble(null as never), "expected an options object for assemble() but received null"],
  ["assemble: sources an array", () => asm({ sources: [model] }), "expected an object of label → file for option sources but received an array"],
  ["assemble: source path a number", () => asm({ sources: { a: 3 } }), "expected a file path for option sources.a but received 3"],
  ["assemble: assignment an array", () => asm({ assignment: [] }), "expected an object of tensor name → source label for option assignment but received an array"],
  ["assemble: label not a string", () => asm({ assignment: { "blk.0.attn_q.weight": 0 } }), 'expected a string for option assignment["blk.0.attn_q.weight"] but received 0'],
  ["assemble: label typo", () => asm({ assignment: { "blk.0.attn_q.weight": "A" } }), 'unknown source "A" for option assignment["blk.0.attn_q.weight"]; did you mean "a"?'],
  ["assemble: metadata NaN", () => asm({ metadata: { "apreqel.x": NaN } }), 'expected a string, a finite number or a boolean for option metadata["apreqel.x"] but received NaN'],
  ["assemble: metadata object value", () => asm({ metadata: { "apreqel.x": {} } }), 'expected a string, a finite number or a boolean for option metadata["apreqel.x"] but received an object'],
  ["inspect: path a number", () => inspect(42 as never), "expected a file path for option model but received 42"],
  ["inspect: null options", () => inspect(model, null as never), "expected an options object for inspect() but received null"],
  ["generate: empty prompt", () => generate({ model, prompt: "" }), 'expected a non-empty string for option prompt but received ""'],
  ["generate: nPredict 0", () => generate({ model, prompt: "hi", nPredict: 0 }), "expected a whole number ≥ 1 for option nPredict but received 0"],
  ["generate: gpuLayers -2", () => generate({ model, prompt: "hi", gpuLayers: -2 }), "expected a whole number ≥ -1 for option gpuLayers but received -2"],
  ["generate: threads a function", () => generate({ model, prompt: "hi", threads: (() => 1) as never }), "expected a whole number ≥ 0 for option threads but received a function"],
  ["captureSimilarity: no texts", () => captureSimilarity({ model, texts: [] }), "expected a non-empty array of non-empty strings for option texts but received an array"],
  ["captureSimilarity: nCtx 1", () => captureSimilarity({ model, texts: ["a"], nCtx: 1 }), "expected a whole number ≥ 2 for option nCtx but received 1"],
  ["captureSimilarity: reference not boolean", () => captureSimilarity({ model, texts: ["a"], reference: 1 as never }), "expected true or false for option reference but received 1"],
  ["perplexity: text not a string", () => perplexity({ model, text: 5 as never }), "expected a non-empty string for option text but received 5"],
  ["perplexity: chunks 0", () => perplexity({ model, text: "a", chunks: 0 }), "expected a whole number ≥ 1 for option chunks but received 0"],
  ["perplexity: nBatch not a multiple", () => perplexity({ model, text: "a", nCtx: 16, nBatch: 24 }), "expected a value below nCtx or a multiple of nCtx (16) for option nBatch but received 24"],
  ["perplexity: klBase missing", () => perplexity({ model, text: "a", klBase: path.join(dir, "none.gguf") }), `klBase: file not found: ${path.join(dir, "none.gguf")}`],
  ["bench: reps 0", () => bench({ model, reps: 0 }), "expected a whole number ≥ 1 for option reps but received 0"],
  ["bench: warmup not boolean", () => bench({ model, warmup: "no" as never }), 'expected true or false for option warmup but received "no"'],
  ["bench: nothing to measure", () => bench({ model, nGen: 0, nPrompt: 0 }), "expected a number > 0 when nPrompt is 0 for option nGen but received 0"],
  ["writeRandomModel: nEmbd 0", () => writeRandomModel({ output: out(), nEmbd: 0 }), "expected a whole number ≥ 1 for option nEmbd but received 0"],
  ["writeRandomModel: negative seed", () => writeRandomModel({ output: out(), seed: -1 }), "expected a whole number ≥ 0 for option seed but received -1"],
  ["writeRandomModel: type q8_0", () => writeRandomModel({ output: out(), type: "q8_0" as never }), 'expected "f16" or "f32" for option type but received "q8_0"'],
];

describe("library arguments are validated with exact messages, before anything is written", () => {
  for (const [what, call, message] of cases) {
    it(what, async () => {
      const before = listing(dir);
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(message);
      if (!message.includes("file not found")) expect(error).toBeInstanceOf(OptionError);
      expect(listing(dir)).toEqual(before);
    });
  }
});

// Issue 6, item 6 (offload side): a gpuLayers request that cannot be met is refused before the
// model is loaded. A CUDA build checks the weights against the GPUs' free memory instead
// (lib/ops/gpu-offload.ts, unit-tested with hand-made numbers).
const cpuOnly = !buildInfo().gpuOffload;
describe.skipIf(!cpuOnly)("a CPU-only build refuses gpuLayers instead of silently running on the CPU", () => {
  const message = (n: number) =>
    `gpuLayers is ${n}, but this build of apreqel has no GPU backend (CPU only): use gpuLayers 0, or build with CUDA (npx apreqel build --cuda)`;
  it.each([
    ["bench", () => bench({ model, reps: 1, nGen: 1, nPrompt: 0, gpuLayers: -1 }), -1],
    ["captureSimilarity", () => captureSimilarity({ model, texts: ["a b"], gpuLayers: 1 }), 1],
    ["perplexity", () => perplexity({ model, text: "a b", gpuLayers: 99 }), 99],
    ["generate", () => generate({ model, prompt: "hi", gpuLayers: 2 }), 2],
  ] as const)("%s", async (_, call, n) => {
    await expect(call()).rejects.toThrow(new OptionError("gpuLayers", message(n)));
  });

  it("buildInfo lists the CPU device with its memory", () => {
    const cpu = buildInfo().devices.find((d) => d.type === "cpu");
    expect(cpu?.memoryTotal).toBeGreaterThan(0);
  });
});
