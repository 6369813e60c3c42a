/** `apreqel score MODEL.gguf -o scores.json`: layer contributions from the calibration prompts. */
import { promises as fs } from "node:fs";
import { claimOutputs, writeAtomically } from "../core/files.js";
import { rankLayers } from "../method/scores.js";
import { scoreLayers } from "../pipeline/scores.js";
import { parse, type CommandContext } from "./args.js";
import { PIPELINE_OPTIONS, pipelineOptionsUsage, pipelineSettings, withSession } from "./pipeline-options.js";
import { OptionError } from "../core/errors.js";

export const usage = `usage: apreqel score MODEL.gguf -o SCORES.json [--calibration FILE] [--gamma G] [options]
  Runs the calibration prompts through MODEL and scores each attention and FFN sub-layer by how
  much it changes the hidden state (cosine similarity below γ earns a reward, above a penalty).
${pipelineOptionsUsage("score")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, output: { type: "string", short: "o" } });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values.output) throw new OptionError("--output", "-o SCORES.json is required");
  const settings = await pipelineSettings(values, "score");
  const claimed = await claimOutputs([{ path: values.output, option: "--output", kind: "scores" }], [{ path: positionals[0]!, option: "MODEL" }, ...settings.inputs], {
    force: settings.force,
  });
  const output = claimed.paths[0]!;
  try {
    const { scores, tokens } = await withSession(positionals[0]!, settings, context, (s) => scoreLayers(s, settings.score));
    await writeAtomically(output, (temp) => fs.writeFile(temp, JSON.stringify(scores, null, 2) + "\n"));
    if (settings.json) {
      console.log(JSON.stringify(scores, null, 2));
      return 0;
    }
    console.log(`wrote ${output}: ${scores.layers.length} layers scored over ${tokens} tokens (γ = ${scores.gamma})`);
    console.log(`  most important first: ${rankLayers(scores.layers).slice(0, 8).join(", ")}${scores.layers.length > 8 ? ", …" : ""}`);
    return 0;
  } finally {
    await claimed.release();
  }
}
