/** `apreqel quantize MODEL.gguf`: the whole method, one mixed-precision GGUF out. */
import path from "node:path";
import type { GgmlType } from "../method/types.js";
import { quantizeAdaptive, type AdaptiveResult } from "../pipeline/adaptive.js";
import { readProfiles } from "../pipeline/read-profiles.js";
import { requireOutputPath } from "../core/files.js";
import { adaptiveReport, reportMetrics } from "../report/from-results.js";
import { writeReport } from "../report/report.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatNumber } from "../core/format.js";
import { PLAN_OPTIONS, PLAN_OPTIONS_USAGE, parsePlanChoices } from "./options.js";
import { PIPELINE_OPTIONS, PIPELINE_OPTIONS_USAGE, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineSettings, sensitivitySettings, withSession } from "./pipeline-options.js";
import { describePlan, planJson } from "./plan.js";
import { OptionError } from "../core/errors.js";
import { FRONT_OPTIONS, FRONT_OPTIONS_USAGE, parseFrontChoices, type FrontChoices, type PlanChoices } from "./options.js";
import { quantizeFront } from "../pipeline/front.js";
import { describeFrontChoice, frontJson, writeRecipe } from "./front.js";
import type { PipelineSettings } from "./pipeline-options.js";

export const usage = `usage: apreqel quantize MODEL.gguf [-o OUT.gguf] [options]
  Quantizes each layer of MODEL (F16/F32/BF16) to the type that best serves your priorities on
  this machine: uniform quantizations → profile → layer scores → plan → mixed GGUF.
  -o, --output FILE     the mixed model (default: MODEL-apreqel-PRIORITY.gguf beside MODEL)
  --profile FILE        use measured profiles (repeatable; e.g. latency from the edge device)
                        instead of profiling here
  --report FILE.html    also write an HTML report (Pareto views, per-layer type map)
${PLAN_OPTIONS_USAGE}
${FRONT_OPTIONS_USAGE}
  --recipe FILE         --method front: also write the mix as a llama-quantize --tensor-type-file
                        recipe and print the command that makes it from MODEL with stock llama.cpp
${SENSITIVITY_OPTIONS_USAGE}
${PIPELINE_OPTIONS_USAGE}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...PLAN_OPTIONS,
    ...PIPELINE_OPTIONS,
    ...SENSITIVITY_OPTIONS,
    output: { type: "string", short: "o" },
    profile: { type: "string", multiple: true },
    report: { type: "string" },
    ...FRONT_OPTIONS,
    recipe: { type: "string" },
  });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  const choices = parsePlanChoices(values);
  const front = parseFrontChoices(values);
  if (front.method === "paper" && values.recipe !== undefined) throw new OptionError("--recipe", "--recipe goes with --method front");
  if (front.method === "front" && values.estimator !== undefined) throw new OptionError("--estimator", "--estimator goes with --method paper (the front uses per-unit costs)");
  if (front.method === "front" && (values.profile !== undefined || values.report !== undefined)) {
    throw new OptionError(values.profile !== undefined ? "--profile" : "--report", `--${values.profile !== undefined ? "profile" : "report"} goes with --method paper for now`);
  }
  const settings = await pipelineSettings(values);
  const measure = sensitivitySettings(values, choices.types, settings.uniform);
  const model = positionals[0]!;
  const label = choices.weights.source === "priority" ? choices.weights.priority : "custom";
  const output = await requireOutputPath(
    values.output ?? path.join(path.dirname(model), `${path.basename(model, ".gguf")}-apreqel-${label}.gguf`),
    "--output",
    [model],
  );
  if (front.method === "front") {
    const recipe = values.recipe === undefined ? undefined : await requireOutputPath(values.recipe, "--recipe", [model, output]);
    return runFront(model, output, recipe, choices, front, settings, measure, context);
  }
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
      ...(choices.estimator ? { estimator: choices.estimator } : measure ? { estimator: "measured" as const } : {}),
      latency: settings.latency,
      accuracy: settings.accuracy,
      score: { ...settings.score, ...(measure ? { measure } : {}) },
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
  console.log(resultTable(choices.types, r).join("\n"));
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
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

async function runFront(
  model: string,
  output: string,
  recipeFile: string | undefined,
  choices: PlanChoices,
  front: FrontChoices,
  settings: PipelineSettings,
  measure: ReturnType<typeof sensitivitySettings>,
  context: CommandContext,
): Promise<number> {
  const r = await withSession(model, settings, context, async (s) => {
    const result = await quantizeFront(s, {
      ...settings.uniform,
      output,
      types: choices.types,
      weights: choices.weights.weights,
      ...(choices.weights.source === "priority" ? { weighting: choices.weights.weightingId } : {}),
      limits: { ...choices.constraints, ...(front.maxKld !== undefined ? { maxKld: front.maxKld } : {}), ...(front.targetBpw !== undefined ? { targetBpw: front.targetBpw } : {}), ...(front.targetSizeBytes !== undefined ? { targetSizeBytes: front.targetSizeBytes } : {}) },
      latency: settings.latency,
      accuracy: settings.accuracy,
      score: { ...settings.score, ...(measure ? { measure } : {}) },
    });
    const recipe = recipeFile === undefined ? undefined : await writeRecipe(s, result, { model, output, recipeFile, ...(settings.uniform.imatrix ? { imatrix: settings.uniform.imatrix.path } : {}) });
    return { result, recipe };
  });
  if (settings.json) {
    console.log(JSON.stringify({ output: r.result.output.output, ...frontJson(r.result, choices.weights), measured: r.result.result, ...(r.recipe ? { recipe: { file: recipeFile, command: r.recipe.command } } : {}) }, null, 2));
    return 0;
  }
  console.log(describeFrontChoice(r.result, choices.weights).join("\n"));
  console.log("");
  console.log(`wrote ${r.result.output.output} (${formatBytes(r.result.output.fileSize)}; non-layer tensors ${r.result.nonLayerType})`);
  if (r.result.result) {
    const m = r.result.result;
    console.log(`  measured: ${formatBytes(m.fileBytes)}, ${formatNumber(m.latencyMsPerToken ?? Number.NaN)} ± ${formatNumber(m.latencyMsPerTokenSd ?? Number.NaN)} ms/token, perplexity ${formatNumber(m.perplexity ?? Number.NaN)} ± ${formatNumber(m.perplexityStderr ?? Number.NaN)}${m.kld ? `, KLD ${formatNumber(m.kld.mean)} ± ${formatNumber(m.kld.stderr)}` : ""}`);
  }
  if (r.recipe) {
    console.log(`wrote the recipe ${recipeFile}; with stock llama.cpp:`);
    console.log(`  ${r.recipe.command}`);
  }
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
}
