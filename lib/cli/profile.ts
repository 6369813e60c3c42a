/** `apreqel profile MODEL.gguf -o profile.json`: measure the uniform set (all, or this machine's part). */
import { promises as fs } from "node:fs";
import { claimOutputs, writeAtomically } from "../core/files.js";
import { profileModel } from "../pipeline/profile.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatPerplexity } from "../core/format.js";
import { parseTypes } from "./options.js";
import type { LatencyMetrics } from "../pipeline/measure-file.js";
import { latencyNotes } from "./latency-notes.js";
import { PIPELINE_OPTIONS, pipelineOptionsUsage, pipelineSettings, withSession } from "./pipeline-options.js";
import { invalidOption, OptionError } from "../core/errors.js";

export const usage = `usage: apreqel profile MODEL.gguf -o PROFILE.json [--only latency|accuracy] [--types T,...] [options]
  Quantizes MODEL uniformly to each type and measures memory, latency and perplexity.
  --only latency        memory and latency only: run this on the target device
  --only accuracy       perplexity only: run it on any machine; \`plan\`/\`quantize\` merge the parts
${pipelineOptionsUsage("profile")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, output: { type: "string", short: "o" }, only: { type: "string" }, types: { type: "string" } });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values.output) throw new OptionError("--output", "-o PROFILE.json is required");
  const only = values.only;
  if (only !== undefined && only !== "latency" && only !== "accuracy") throw invalidOption("--only", "latency or accuracy", only);
  const types = parseTypes(values.types);
  const settings = await pipelineSettings(values, "profile", positionals[0]);
  const claimed = await claimOutputs([{ path: values.output, option: "--output", kind: "profile" }], [{ path: positionals[0]!, option: "MODEL" }, ...settings.inputs], {
    force: settings.force,
  });
  const output = claimed.paths[0]!;
  try {
    const { profile } = await withSession(positionals[0]!, settings, context, (s) =>
      profileModel(s, { ...settings.uniform, types, ...(only ? { only } : {}), latency: settings.latency, accuracy: settings.accuracy }),
    );
    await writeAtomically(output, (temp) => fs.writeFile(temp, JSON.stringify(profile, null, 2) + "\n"));
    if (settings.json) {
      console.log(JSON.stringify(profile, null, 2));
      return 0;
    }
    console.log(`wrote ${output}`);
    for (const type of types) {
      const t = profile.types[type]!;
      const parts = [
        t.memoryBytes !== undefined ? formatBytes(t.memoryBytes) : null,
        t.latencyMsPerToken !== undefined ? formatLatency(t as Partial<LatencyMetrics>) : null,
        t.perplexity !== undefined ? `perplexity ${formatPerplexity({ perplexity: t.perplexity, ...spreadOf(t.perplexityStderr) })}` : null,
      ].filter(Boolean);
      console.log(`  ${type.padEnd(6)} ${parts.join(", ")}`);
    }
    for (const note of latencyNotes(types, types.map((type) => profile.types[type] as Partial<LatencyMetrics>))) console.log(`note: ${note}`);
    for (const note of settings.notes) if (values.only !== "latency") console.log(`note: ${note}`);
    return 0;
  } finally {
    await claimed.release();
  }
}

/** The stderr kept in a profile's further fields, when it is a number. */
function spreadOf(value: unknown): { perplexityStderr?: number } {
  return typeof value === "number" ? { perplexityStderr: value } : {};
}
