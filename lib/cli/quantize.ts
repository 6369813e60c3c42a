/** `apreqel quantize MODEL.gguf`: the whole method, one mixed-precision GGUF out. */
import os from "node:os";
import path from "node:path";
import type { GgmlType } from "../method/types.js";
import { noiseWarnings, type MeasuredPoint } from "../method/noise.js";
import type { Weights } from "../method/weights.js";
import type { MeasuredModel } from "../pipeline/measure-file.js";
import type { ProfileFile } from "../pipeline/profile-file.js";
import type { Estimate } from "../method/estimators.js";
import { quantizeAdaptive, type AdaptiveResult } from "../pipeline/adaptive.js";
import { readProfiles } from "../pipeline/read-profiles.js";
import { claimOutputs } from "../core/files.js";
import { adaptiveReport, frontReport } from "../report/from-results.js";
import { writeReport } from "../report/report.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatPerplexity, LATENCY_HEADER, PERPLEXITY_HEADER } from "../core/format.js";
import { latencyNotes } from "./latency-notes.js";
import { PLAN_OPTIONS, PLAN_OPTIONS_USAGE, parsePlanChoices } from "./options.js";
import { accuracyForPlan, sensitivityChecks, PIPELINE_OPTIONS, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineOptionsUsage, pipelineSettings, sensitivitySettings, withSession } from "./pipeline-options.js";
import { describePlan, planJson } from "./plan.js";
import { OptionError } from "../core/errors.js";
import { parseInteger } from "../core/validate.js";
import { formatNumber } from "../core/format.js";
import { FRONT_OPTIONS, FRONT_OPTIONS_USAGE, parseFrontChoices, type FrontChoices, type PlanChoices } from "./options.js";
import { quantizeFront } from "../pipeline/front.js";
import { requireReachableLimits, type MemoryLimit } from "../pipeline/preflight.js";
import { DEFAULT_NON_LAYER_TYPE, resolveUniform } from "../pipeline/uniform.js";
import type { ModelInfo } from "../ops/inspect.js";
import { describeFrontChoice, frontJson, writeRecipe } from "./front.js";
import type { PipelineSettings } from "./pipeline-options.js";

export const usage = `usage: apreqel quantize MODEL.gguf [-o OUT.gguf] [options]
  Quantizes each layer of MODEL (F16/F32/BF16) to the type that best serves your priorities on
  this machine: uniform quantizations → profile → layer scores → plan → mixed GGUF.
  -o, --output FILE     the mixed model (default: MODEL-apreqel-PRIORITY.gguf beside MODEL)
  --profile FILE        use measured profiles (repeatable; e.g. latency from the edge device)
                        instead of profiling here
  --report FILE.html    also write an HTML report (Pareto views, per-layer type map)
  --no-measure          do not measure the mixed model (a re-plan with other weights then takes
                        seconds: everything else is cached); the plan's estimate is shown instead
${PLAN_OPTIONS_USAGE}
${FRONT_OPTIONS_USAGE}
  --recipe FILE         --method front: also write the mix as a llama-quantize --tensor-type-file
                        recipe and print the command that makes it from MODEL with stock llama.cpp
  --verify N            --method front with measured sensitivity: assemble the chosen mix, measure
                        its KLD on the calibration chunks, correct the estimate for the units'
                        interaction and re-plan, N mixes at most (default 0: no verify step)
${SENSITIVITY_OPTIONS_USAGE}
${pipelineOptionsUsage("quantize")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...PLAN_OPTIONS,
    ...PIPELINE_OPTIONS,
    ...SENSITIVITY_OPTIONS,
    output: { type: "string", short: "o" },
    profile: { type: "string", multiple: true },
    report: { type: "string" },
    "no-measure": { type: "boolean" },
    ...FRONT_OPTIONS,
    recipe: { type: "string" },
    verify: { type: "string" },
  });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  const choices = parsePlanChoices(values);
  const front = parseFrontChoices(values);
  if (front.method === "paper" && values.recipe !== undefined) throw new OptionError("--recipe", "--recipe goes with --method front");
  if (front.method === "paper" && values.verify !== undefined) throw new OptionError("--verify", "--verify goes with --method front");
  const verify = values.verify === undefined ? 0 : parseInteger(values.verify, "--verify", 0);
  if (front.method === "paper" && values["latency-model"] !== undefined) throw new OptionError("--latency-model", "--latency-model goes with --method front (the paper's estimators split the uniform latency)");
  if (front.method === "front" && values.estimator !== undefined) throw new OptionError("--estimator", "--estimator goes with --method paper (the front uses per-unit costs)");
  const settings = await pipelineSettings(values, "quantize");
  const sensitivity = sensitivitySettings(values, choices.types, settings.uniform, front.method);
  const model = positionals[0]!;
  const label = choices.weights.source === "priority" ? choices.weights.priority : "custom";
  // every output against every input and each other, and locked, before any work
  const claimed = await claimOutputs(
    [
      { path: values.output ?? path.join(path.dirname(model), `${path.basename(model, ".gguf")}-apreqel-${label}.gguf`), option: "--output", kind: "gguf" },
      ...(values.report !== undefined ? [{ path: values.report, option: "--report", kind: "html" as const }] : []),
      ...(values.recipe !== undefined ? [{ path: values.recipe, option: "--recipe", kind: "recipe" as const }] : []),
    ],
    [{ path: model, option: "MODEL" }, ...settings.inputs, ...(values.profile ?? []).map((p) => ({ path: p, option: "--profile" }))],
    { force: settings.force },
  );
  const output = claimed.paths[0]!;
  const report = values.report === undefined ? undefined : claimed.paths[1]!;
  const recipe = values.recipe === undefined ? undefined : claimed.paths[claimed.paths.length - 1]!;
  try {
    const loaded = values.profile ? await readProfiles(values.profile, choices.types) : undefined;
    if (loaded && !loaded.file) throw new OptionError("--profile", "--profile: quantize needs profiles written by `apreqel profile` (they say which model they measured)");
    const given = loaded?.file;
    const measure = values["no-measure"] !== true;
    if (front.method === "front") {
      return await runFront({ model, output, recipeFile: recipe, report, label, given, choices, front, settings, measure: sensitivity, measureResult: measure, context, verify });
    }
    // the eval text is used unless the profiles are given and the result is not measured
    const r = await withSession(
      model,
      { ...settings, evalTextUsed: !(given && !measure) },
      context,
      (s) =>
        quantizeAdaptive(s, {
          ...settings.uniform,
          output,
          types: choices.types,
          weights: choices.weights.weights,
          ...(choices.weights.source === "priority" ? { weighting: choices.weights.weightingId } : {}),
          constraints: choices.constraints,
          ...(choices.estimator ? { estimator: choices.estimator } : sensitivity ? { estimator: "measured" as const } : {}),
          latency: settings.latency,
          accuracy: settings.accuracy,
          score: { ...settings.score, ...(sensitivity ? { measure: sensitivity } : {}) },
          ...(given ? { profile: given } : {}),
          latencyCriterion: settings.latencyCriterion,
          measureResult: measure,
        }),
      // steps: per type quantize, latency, perplexity; the source's perplexity; the layer scores; assemble; the result's latency and perplexity
      3 * choices.types.length + 3 + (measure ? 2 : 0),
      [limitsCheck(choices, settings), ...sensitivityChecks(settings, sensitivity, context)],
    );
    if (report !== undefined) {
      const notes = [...reportSettings(choices, settings, !measure), ...settings.notes];
      await writeReport(adaptiveReport(r, { title: `apreqel: ${path.basename(model)}`, notes, types: choices.types, label }), { output: report });
    }
    const warnings = planNoiseWarnings(choices.types, r, choices.weights.weights);
    if (settings.json) {
      console.log(JSON.stringify({ output: r.output.output, ...planJson(r.plan, choices.weights), nonLayerType: r.nonLayerType, measured: r.result, uniform: r.uniform, source: r.source, warnings }, null, 2));
      return 0;
    }
    for (const w of warnings) console.error(`apreqel quantize: warning: ${w}`);
    console.log(describePlan(r.plan, choices.weights).join("\n"));
    console.log("");
    console.log(`wrote ${r.output.output} (${formatBytes(r.output.fileSize)}; non-layer tensors ${r.nonLayerType})`);
    if (r.interrupted) console.log("note: interrupted after the output was written: it is complete, but was not measured");
    console.log(resultTable(choices.types, r, r.plan.estimate).join("\n"));
    for (const note of settings.notes) console.log(`note: ${note}`);
    return 0;
  } finally {
    await claimed.release();
  }
}

/** The limits on size a mix must meet, as given, checked against the smallest possible mix before any work. */
function limitsCheck(choices: PlanChoices, settings: PipelineSettings, front?: FrontChoices, measure?: ReturnType<typeof sensitivitySettings>) {
  // the front at tensor granularity chooses the types of token_embd and output too
  const plan = { types: choices.types, nonLayerType: settings.uniform.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, plansNonLayer: measure?.granularity === "tensor" };
  return (model: string, info: ModelInfo) => requireReachableLimits(model, info, plan, memoryLimits(choices, front));
}

function memoryLimits(choices: PlanChoices, front?: FrontChoices): MemoryLimit[] {
  return [
    ...(choices.constraints.maxMemoryBytes !== undefined ? [{ option: "--max-memory", kind: "bytes" as const, value: choices.constraints.maxMemoryBytes }] : []),
    ...(front?.targetSizeBytes !== undefined ? [{ option: "--target-size", kind: "bytes" as const, value: front.targetSizeBytes }] : []),
    ...(front?.targetBpw !== undefined ? [{ option: "--target-bpw", kind: "bpw" as const, value: front.targetBpw }] : []),
  ];
}

/**
 * The source, the uniform set, the plan's estimate (when it has a perplexity) and the result, in
 * the one wording of every table (core/format.ts): latency as the median and its interval,
 * perplexity ± stderr.
 */
function resultTable(types: readonly GgmlType[], r: Pick<AdaptiveResult, "uniform" | "result" | "source">, estimate: Estimate | null): string[] {
  const row = (name: string, m: Parameters<typeof formatLatency>[0] & Parameters<typeof formatPerplexity>[0] & { readonly memoryBytes: number }) =>
    `  ${name.padEnd(14)} ${formatBytes(m.memoryBytes).padStart(9)}  ${formatLatency(m).padEnd(34)} ${formatPerplexity(m).padStart(18)}`;
  const lines = [`  ${"model".padEnd(14)} ${"memory".padStart(9)}  ${LATENCY_HEADER.padEnd(34)} ${PERPLEXITY_HEADER.padStart(18)}`];
  if (r.source) lines.push(row(r.source.label, r.source.measured));
  for (const type of types) if (r.uniform[type]) lines.push(row(type, r.uniform[type]));
  if (estimate) lines.push(row("estimate", estimate));
  if (r.result) lines.push(row("result", r.result));
  // the notes of the files measured together: the uniform set (and the source, in the same run)
  const together = [...types.filter((t) => r.uniform[t]).map((t) => ({ label: t, m: r.uniform[t]! })), ...(r.source ? [{ label: r.source.label, m: r.source.measured }] : [])];
  for (const note of latencyNotes(together.map((x) => x.label), together.map((x) => x.m))) lines.push(`note: ${note}`);
  return lines;
}

/** Warnings when the criteria the weights lean on were measured with a spread that hides the differences between types. */
function planNoiseWarnings(types: readonly GgmlType[], r: Pick<AdaptiveResult, "uniform">, weights: Weights): string[] {
  const points = (point: (m: MeasuredModel, type: GgmlType) => MeasuredPoint | undefined): MeasuredPoint[] =>
    types.flatMap((type) => {
      const m = r.uniform[type];
      const p = m && point(m, type);
      return p === undefined ? [] : [p];
    });
  // latency as the tables print it: the median with the protocol's interval (mean ± sd only from a profile written before it)
  const latency = (m: MeasuredModel, type: GgmlType): MeasuredPoint | undefined => {
    if (m.latencyMsPerToken === undefined) return undefined;
    if (m.latencyInterval) return { type, value: m.latencyMsPerToken, interval: m.latencyInterval };
    return m.latencyMsPerTokenSd === undefined ? undefined : { type, value: m.latencyMsPerToken, spread: m.latencyMsPerTokenSd };
  };
  const perplexity = (m: MeasuredModel, type: GgmlType): MeasuredPoint | undefined =>
    m.perplexity === undefined || m.perplexityStderr === undefined ? undefined : { type, value: m.perplexity, spread: m.perplexityStderr };
  return [...(weights.latency > 0 ? noiseWarnings("latency", "ms/token", points(latency)) : []), ...(weights.accuracy > 0 ? noiseWarnings("perplexity", "", points(perplexity)) : [])];
}

/** The settings and the machine, for the report's notes (what the numbers were measured with). */
function reportSettings(choices: ReturnType<typeof parsePlanChoices>, settings: Awaited<ReturnType<typeof pipelineSettings>>, noMeasure: boolean): string[] {
  const w = choices.weights.weights;
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return [
    `weights: memory ${formatNumber(w.memory, 3)}, latency ${formatNumber(w.latency, 3)}, accuracy ${formatNumber(w.accuracy, 3)}; types ${choices.types.join(", ")}; non-layer tensors ${settings.uniform.nonLayerType}`,
    `latency: ${settings.latency.nGen} generated tokens after a ${settings.latency.nPrompt}-token prompt, median of ${settings.latency.reps} interleaved rounds [with its distribution-free interval]; ` +
      `perplexity: ${settings.accuracy.nCtx}-token chunks${settings.accuracy.chunks !== undefined ? `, ${settings.accuracy.chunks} of them` : ""} (± is its stderr)`,
    `machine: ${cpu}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}-${os.arch()}; threads ${settings.latency.threads || "all"}, GPU layers ${settings.latency.gpuLayers ?? 0}`,
    noMeasure ? "the chosen mix was not measured (--no-measure): its point is the plan's estimate" : "the chosen mix is measured; the plan's estimate for it is the grey reference point",
    "the black cross is the source model, the reference KLD is measured from (its KLD is 0 by definition): measured like the uniform files, its latency in their interleaved run",
  ];
}

async function runFront(o: {
  readonly model: string;
  readonly output: string;
  readonly recipeFile: string | undefined;
  readonly report: string | undefined;
  readonly label: string;
  readonly given: ProfileFile | undefined;
  readonly choices: PlanChoices;
  readonly front: FrontChoices;
  readonly settings: PipelineSettings;
  readonly measure: ReturnType<typeof sensitivitySettings>;
  readonly measureResult: boolean;
  readonly context: CommandContext;
  readonly verify: number;
}): Promise<number> {
  const { model, output, recipeFile, choices, front, settings, measure, measureResult, context } = o;
  // as on the paper's path: no eval text is used when the profiles are given and the result is not measured
  const r = await withSession(model, { ...settings, evalTextUsed: !(o.given && !measureResult) }, context, async (s) => {
    const result = await quantizeFront(s, {
      ...settings.uniform,
      output,
      types: choices.types,
      weights: choices.weights.weights,
      ...(choices.weights.source === "priority" ? { weighting: choices.weights.weightingId } : {}),
      limits: { ...choices.constraints, ...(front.maxKld !== undefined ? { maxKld: front.maxKld } : {}), ...(front.targetBpw !== undefined ? { targetBpw: front.targetBpw } : {}), ...(front.targetSizeBytes !== undefined ? { targetSizeBytes: front.targetSizeBytes } : {}) },
      latency: settings.latency,
      latencyCriterion: settings.latencyCriterion,
      latencyModel: settings.latencyModel,
      accuracy: accuracyForPlan(settings.accuracy, "front", measure),
      score: { ...settings.score, ...(measure ? { measure } : {}) },
      measureResult,
      ...(o.given ? { profile: o.given } : {}),
      ...(o.verify > 0 ? { verify: o.verify } : {}),
    });
    // the recipe's llama-quantize gets the importance matrix the uniform files were made with (by default the calibration pass's, in the cache)
    const { imatrix } = recipeFile === undefined ? {} : await resolveUniform(s, settings.uniform);
    const recipe = recipeFile === undefined ? undefined : await writeRecipe(s, result, { model, output, recipeFile, ...(imatrix ? { imatrix: imatrix.path } : {}) });
    return { result, recipe };
  },
  // steps: per type quantize, latency, perplexity; the source's perplexity; the layer scores; front; assemble; the result's latency and perplexity
  3 * choices.types.length + 4 + (measureResult ? 2 : 0) + (settings.latencyModel === "unit" ? 1 : 0),
  [limitsCheck(choices, settings, front, measure), ...sensitivityChecks(settings, measure, context)]);
  const e = r.result.choice.estimate;
  // the table's accuracy column is perplexity only for a front from the profile (a KLD table has none)
  const estimate = r.result.model.costs.accuracy === "perplexity" ? { memoryBytes: e.memoryBytes, latencyMsPerToken: e.latencyMsPerToken, perplexity: e.kld } : null;
  if (o.report !== undefined) {
    const notes = [...reportSettings(choices, settings, !measureResult), `method: front (${r.result.model.costs.source} costs); estimate ${r.result.model.costs.accuracy === "kld" ? `KLD ${formatNumber(e.kld)}, not drawn (the charts' accuracy axis is perplexity)` : "drawn as the reference point"}`, ...settings.notes];
    await writeReport(frontReport(r.result, { title: `apreqel: ${path.basename(model)}`, notes, types: choices.types, label: o.label }), { output: o.report });
  }
  const warnings = planNoiseWarnings(choices.types, r.result, choices.weights.weights);
  if (settings.json) {
    console.log(JSON.stringify({ output: r.result.output.output, ...frontJson(r.result, choices.weights), nonLayerType: r.result.nonLayerType, measured: r.result.result, uniform: r.result.uniform, source: r.result.source, warnings, ...(r.recipe ? { recipe: { file: recipeFile, command: r.recipe.command } } : {}), ...(r.result.verified ? { verified: { rho: r.result.verified.rho, estimate: r.result.verified.estimate, mixes: r.result.verified.measured } } : {}) }, null, 2));
    return 0;
  }
  for (const w of warnings) console.error(`apreqel quantize: warning: ${w}`);
  console.log(describeFrontChoice(r.result, choices.weights).join("\n"));
  console.log("");
  console.log(`wrote ${r.result.output.output} (${formatBytes(r.result.output.fileSize)}; non-layer tensors ${r.result.nonLayerType})`);
  if (r.result.interrupted) console.log("note: interrupted after the output was written: it is complete, but was not measured");
  console.log(resultTable(choices.types, r.result, estimate).join("\n"));
  if (r.result.result?.kld) {
    const estimated = r.result.model.costs.accuracy === "kld" ? ` (estimate ${formatNumber(e.kld)})` : "";
    console.log(`  result KLD ${formatNumber(r.result.result.kld.mean)} ± ${formatNumber(r.result.result.kld.stderr)}${estimated}`);
  }
  if (r.result.verified) {
    const v = r.result.verified;
    console.log(`  verify: ${v.measured.length} mix(es) measured on the calibration chunks (KLD ${v.measured.map((x) => formatNumber(x.kld)).join(", ")}; additive estimates ${v.measured.map((x) => formatNumber(x.additive)).join(", ")}); correlation ρ ${formatNumber(v.rho)}; corrected estimate ${formatNumber(v.estimate)}`);
  }
  if (r.recipe) {
    console.log(`wrote the recipe ${recipeFile}; with stock llama.cpp:`);
    console.log(`  ${r.recipe.command}`);
  }
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
}
