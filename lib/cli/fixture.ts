/** `apreqel fixture`: write a random-weight model of a realistic shape (tests, benchmarks, demos). */
import { invalidOption, OptionError, unknownName } from "../core/errors.js";
import { FIXTURE_SHAPES, writeRandomModel } from "../ops/fixtures.js";
import { parse } from "./args.js";
import { withClaimedOutputs } from "../core/files.js";
import { parseInteger } from "../core/validate.js";

const shapes = Object.keys(FIXTURE_SHAPES) as (keyof typeof FIXTURE_SHAPES)[];

export const usage = `usage: apreqel fixture -o OUT.gguf [--shape ${shapes.join("|")}] [--type f16|f32] [--seed N] [--vocab VOCAB.gguf] [--force]
  Writes a llama-architecture GGUF with random weights of a real model's shape and a real tokenizer.
  Latency and memory behave as in a trained model of that shape; perplexity does not.`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(
    argv,
    { output: { type: "string", short: "o" }, shape: { type: "string" }, type: { type: "string" }, seed: { type: "string" }, vocab: { type: "string" }, force: { type: "boolean" } },
    false,
  );
  if (!values.output) throw new OptionError("--output", "-o OUT.gguf is required");
  const shapeName = values.shape ?? "tiny";
  if (!(shapes as string[]).includes(shapeName)) throw unknownName("--shape", "shape", shapeName, shapes);
  const type = values.type ?? "f16";
  if (type !== "f16" && type !== "f32") throw invalidOption("--type", "f16 or f32", type);
  const seed = values.seed === undefined ? 1 : parseInteger(values.seed, "--seed", 0);
  return withClaimedOutputs([{ path: values.output, option: "--output", kind: "gguf" }], values.vocab ? [{ path: values.vocab, option: "--vocab" }] : [], { force: values.force ?? false }, async ([output]) => {
    const out = await writeRandomModel({
      output: output!,
      ...FIXTURE_SHAPES[shapeName as keyof typeof FIXTURE_SHAPES],
      type,
      seed,
      ...(values.vocab ? { vocab: values.vocab } : {}),
    });
    console.log(out);
    return 0;
  });
}
