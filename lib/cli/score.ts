/** `apreqel score MODEL.gguf -o scores.json`: layer contributions from the calibration prompts. */
import { promises as fs } from "node:fs";
import { writeAtomically } from "../core/files.js";
import { rankLayers } from "../method/scores.js";
import { describeSensitivity } from "../method/sensitivity.js";
import { scoreLayers } from "../pipeline/scores.js";
import { parse, type CommandContext } from "./args.js";
import { formatNumber } from "../core/format.js";
import { parseTypes } from "./options.js";
import { PIPELINE_OPTIONS, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineOptionsUsage, pipelineSettings, sensitivityChecks, sensitivitySettings, withProbeNotes, withSession } from "./pipeline-options.js";
import { OptionError } from "../core/errors.js";

export const usage = `usage: apreqel score MODEL.gguf -o SCORES.json [--calibration FILE] [--gamma G] [options]
  Runs the calibration prompts through MODEL and scores each attention and FFN sub-layer by how
  much it changes the hidden state (cosine similarity below γ earns a reward, above a penalty).
  --types T,...         candidate types the probes measure, with --sensitivity measured
${SENSITIVITY_OPTIONS_USAGE}
${pipelineOptionsUsage("score")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, ...SENSITIVITY_OPTIONS, types: { type: "string" }, output: { type: "string", short: "o" } });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values.output) throw new OptionError("--output", "-o SCORES.json is required");
  const settings = await pipelineSettings(values, "score", positionals[0]);
  if (values.types !== undefined && values.sensitivity !== "measured" && values.sensitivity !== "proxy") throw new OptionError("--types", "--types goes with --sensitivity measured or proxy");
  const measure = sensitivitySettings(values, parseTypes(values.types), settings.uniform);
  // (score's other notes are about the eval text, which it does not use)
  const { notes } = withProbeNotes({ notes: [], latency: settings.latency }, measure);
  // the uniform files (and so their importance matrix) come into score only with measured or proxy sensitivity
  if (measure === undefined && (values.imatrix !== undefined || values["no-imatrix"] !== undefined)) {
    const option = values.imatrix !== undefined ? "--imatrix" : "--no-imatrix";
    throw new OptionError(option, `${option} goes with --sensitivity measured or proxy (score quantizes only for them)`);
  }
  const { scores, tokens, measured, planned, output } = await withSession(
    { model: positionals[0]!, settings, context, outputs: [{ path: values.output, option: "--output", kind: "scores" }], checks: sensitivityChecks(settings, measure) },
    async (s, [output]) => {
      const r = await scoreLayers(s, { ...settings.score, ...(measure ? { measure } : {}) });
      await writeAtomically(output!, (temp) => fs.writeFile(temp, JSON.stringify(r.scores, null, 2) + "\n"));
      return { ...r, output: output! };
    },
  );
  if (settings.json) {
    console.log(JSON.stringify(scores, null, 2));
    return 0;
  }
  console.log(`wrote ${output}: ${scores.layers.length} layers scored over ${tokens} tokens (γ = ${scores.gamma})`);
  console.log(`  most important first: ${rankLayers(scores.layers).slice(0, 8).join(", ")}${scores.layers.length > 8 ? ", …" : ""}`);
  if (measured) {
    const t = measured.table;
    console.log(
      `  measured Δ KLD of ${t.units.length} units × ${t.types.length} types (${measured.probed} probes run, ${measured.cached} from the cache); reference (${t.types[0]}) KLD ${formatNumber(t.referenceKld)}`,
    );
  }
  if (planned) {
    const t = planned.table;
    console.log(`  planned Δ KLD of ${t.units.length} units × ${t.types.length} types (${planned.probed} probes run, ${planned.cached} from the cache, ${planned.rounds} rounds); reference (${t.types[0]}) KLD ${formatNumber(t.referenceKld)}`);
    console.log(`  ${describeSensitivity(t)}`);
  }
  for (const note of notes) console.log(`note: ${note}`);
  return 0;
}
