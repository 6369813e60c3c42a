/** `apreqel quantize MODEL.gguf`: the whole method, one mixed-precision GGUF out. */
import path from "node:path";
import type { GgmlType } from "../method/types.js";
import { quantizeAdaptive, type AdaptiveResult } from "../pipeline/adaptive.js";
import { readProfiles } from "../pipeline/read-profiles.js";
import { claimOutputs } from "../core/files.js";
import { adaptiveReport, reportMetrics } from "../report/from-results.js";
import { writeReport } from "../report/report.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatNumber } from "../core/format.js";
import { PLAN_OPTIONS, PLAN_OPTIONS_USAGE, parsePlanChoices } from "./options.js";
import { PIPELINE_OPTIONS, PIPELINE_OPTIONS_USAGE, pipelineSettings, withSession } from "./pipeline-options.js";
import { describePlan, planJson } from "./plan.js";
import { OptionError } from "../core/errors.js";

export const usage = `usage: apreqel quantize MODEL.gguf [-o OUT.gguf] [options]
  Quantizes each layer of MODEL (F16/F32/BF16) to the type that best serves your priorities on
  this machine: uniform quantizations → profile → layer scores → plan → mixed GGUF.
  -o, --output FILE     the mixed model (default: MODEL-apreqel-PRIORITY.gguf beside MODEL)
  --profile FILE        use measured profiles (repeatable; e.g. latency from the edge device)
                        instead of profiling here
  --report FILE.html    also write an HTML report (Pareto views, per-layer type map)
${PLAN_OPTIONS_USAGE}
${PIPELINE_OPTIONS_USAGE}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...PLAN_OPTIONS,
    ...PIPELINE_OPTIONS,
    output: { type: "string", short: "o" },
    profile: { type: "string", multiple: true },
    report: { type: "string" },
  });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  const choices = parsePlanChoices(values);
  const settings = await pipelineSettings(values);
  const model = positionals[0]!;
  const label = choices.weights.source === "priority" ? choices.weights.priority : "custom";
  // every output against every input and each other, and locked, before any work
  const claimed = await claimOutputs(
    [
      { path: values.output ?? path.join(path.dirname(model), `${path.basename(model, ".gguf")}-apreqel-${label}.gguf`), option: "--output", kind: "gguf" },
      ...(values.report !== undefined ? [{ path: values.report, option: "--report", kind: "html" as const }] : []),
    ],
    [{ path: model, option: "MODEL" }, ...settings.inputs, ...(values.profile ?? []).map((p) => ({ path: p, option: "--profile" }))],
    { force: settings.force },
  );
  const output = claimed.paths[0]!;
  try {
    const loaded = values.profile ? await readProfiles(values.profile, choices.types) : undefined;
    if (loaded && !loaded.file) throw new OptionError("--profile", "--profile: quantize needs profiles written by `apreqel profile` (they say which model they measured)");
    const given = loaded?.file;
    const r = await withSession(model, settings, context, (s) =>
      quantizeAdaptive(s, {
        ...settings.uniform,
        output,
        types: choices.types,
        weights: choices.weights.weights,
        ...(choices.weights.source === "priority" ? { weighting: choices.weights.weightingId } : {}),
        constraints: choices.constraints,
        ...(choices.estimator ? { estimator: choices.estimator } : {}),
        latency: settings.latency,
        accuracy: settings.accuracy,
        score: settings.score,
        ...(given ? { profile: given } : {}),
      }),
    );
    if (values.report) {
      await writeReport(adaptiveReport(r, { title: `apreqel: ${path.basename(model)}`, notes: settings.notes, types: choices.types, label }), { output: values.report });
    }
    if (settings.json) {
      console.log(JSON.stringify({ output: r.output.output, ...planJson(r.plan, choices.weights), nonLayerType: r.nonLayerType, measured: r.result, uniform: r.uniform }, null, 2));
      return 0;
    }
    console.log(describePlan(r.plan, choices.weights).join("\n"));
    console.log("");
    console.log(`wrote ${r.output.output} (${formatBytes(r.output.fileSize)}; non-layer tensors ${r.nonLayerType})`);
    if (r.interrupted) console.log("note: interrupted after the output was written: it is complete, but was not measured");
    console.log(resultTable(choices.types, r).join("\n"));
    for (const note of settings.notes) console.log(`note: ${note}`);
    return 0;
  } finally {
    await claimed.release();
  }
}

/** The result measured next to the uniform set (and the plan's estimate for it). */
function resultTable(types: readonly GgmlType[], r: AdaptiveResult): string[] {
  const row = (name: string, m: ReturnType<typeof reportMetrics>) =>
    `  ${name.padEnd(12)} ${formatBytes(m.memoryBytes).padStart(11)} ${formatNumber(m.latencyMsPerToken).padStart(10)} ms ${formatNumber(m.perplexity).padStart(10)}`;
  const lines = ["  model           memory    latency/token  perplexity"];
  for (const type of types) lines.push(row(type, reportMetrics(r.uniform[type])));
  lines.push(row("estimate", r.plan.estimate));
  if (r.result) lines.push(row("result", reportMetrics(r.result)));
  return lines;
}
