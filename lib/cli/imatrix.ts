/** `apreqel imatrix MODEL.gguf --calibration FILE -o imatrix.gguf`: llama-imatrix's statistics from one pass over the calibration text. */
import path from "node:path";
import { withClaimedOutputs } from "../core/files.js";
import { captureSimilarity } from "../ops/capture.js";
import { calibrationText } from "../pipeline/sensitivity.js";
import { readCalibration } from "../pipeline/texts.js";
import { OptionError } from "../core/errors.js";
import { parse, type CommandContext } from "./args.js";
import { parseInteger } from "../core/validate.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export const usage = `usage: apreqel imatrix MODEL.gguf --calibration FILE -o IMATRIX.gguf [--ctx N] [--threads N]
  Runs the calibration text through MODEL once (whole chunks of --ctx tokens, as llama-imatrix) and writes, for every block weight, the sum of the
  squared activations of each input column and the row count, in llama-imatrix's GGUF format
  (llama-quantize --imatrix and apreqel's --imatrix read it).
  --calibration FILE    the text (required; never the evaluation text)
  --ctx N               window length in tokens (default ${DEFAULT_CTX})
  --threads N           CPU threads (default: all cores)
  --force               replace an existing file at -o that apreqel did not write`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    calibration: { type: "string" },
    output: { type: "string", short: "o" },
    ctx: { type: "string" },
    threads: { type: "string" },
    force: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values.calibration) throw new OptionError("--calibration", "--calibration FILE is required");
  if (!values.output) throw new OptionError("--output", "-o IMATRIX.gguf is required");
  const nCtx = values.ctx === undefined ? DEFAULT_CTX : parseInteger(values.ctx, "--ctx", 8);
  const threads = values.threads === undefined ? 0 : parseInteger(values.threads, "--threads", 0);
  return withClaimedOutputs([{ path: values.output, option: "--output", kind: "gguf" }], [{ path: positionals[0]!, option: "MODEL" }, { path: values.calibration, option: "--calibration" }], { force: values.force ?? false }, async ([output]) => {
    const calibration = await readCalibration(values.calibration!);
    const r = await captureSimilarity({
      model: positionals[0]!,
      texts: [calibrationText(calibration)],
      nCtx,
      threads,
      similarity: false,
      chunked: true,
      imatrix: output!,
      dataset: path.basename(values.calibration!),
      ...(context.signal ? { signal: context.signal } : {}),
    });
    console.log(`wrote ${output}: ${r.imatrixTensors ?? 0} weights over ${r.tokens} tokens`);
    return 0;
  });
}
