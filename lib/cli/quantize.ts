/** `apreqel quantize MODEL.gguf`: the whole method, one mixed-precision GGUF out. */
import os from "node:os";
import path from "node:path";
import type { GgmlType } from "../method/types.js";
import { noiseWarnings, type MeasuredPoint } from "../method/noise.js";
import type { Weights } from "../method/weights.js";
import type { LatencyMetrics, MeasuredModel } from "../pipeline/measure-file.js";
import type { ProfileFile } from "../pipeline/profile-file.js";
import type { Estimate } from "../method/estimators.js";
import type { AdaptiveResult } from "../pipeline/adaptive.js";
import { readProfiles } from "../pipeline/read-profiles.js";
import { tableLines } from "./safe-table.js";
import { adaptiveReport, frontReport } from "../report/from-results.js";
import { writeReport } from "../report/report.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatPerplexity, LATENCY_HEADER, PERPLEXITY_HEADER } from "../core/format.js";
import { busyLatencyWarning, latencyNotes } from "./latency-notes.js";
import { PLAN_OPTIONS, PLAN_OPTIONS_USAGE, parsePlanChoices } from "./options.js";
import { parsePipelineOptions, sensitivityOptions, withProbeNotes, PIPELINE_OPTIONS, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineOptionsUsage, withSession } from "./pipeline-options.js";
import { describePlan, planJson } from "./plan.js";
import { OptionError } from "../core/errors.js";
import { parseInteger } from "../core/validate.js";
import { formatNumber } from "../core/format.js";
import { FRONT_OPTIONS, FRONT_OPTIONS_USAGE, parseFrontChoices, type FrontChoices, type PlanChoices } from "./options.js";
import type { FrontResult } from "../pipeline/front.js";
import { quantizeChecks, quantizeModel, type QuantizeModelResult } from "../pipeline/quantize-model.js";
import { resolveSettings, type Limits, type RunWeights, type Settings, type SettingsOptions } from "../pipeline/settings.js";
import type { WeightChoice } from "../method/weightings.js";
import { resolveUniform } from "../pipeline/uniform.js";
import { describeFrontChoice, frontJson, writeRecipe } from "./front.js";
import type { CommandRun, PipelineSettings } from "./pipeline-options.js";
import { quantizeEta } from "./run-budget.js";
import { nonLayerTypes } from "./non-layer.js";
import { closeFleet, FLEET_OPTIONS, FLEET_OPTIONS_USAGE, fleetSteps, openFleet } from "./fleet-options.js";
import type { Session } from "../pipeline/session.js";

export const usage = `usage: apreqel quantize MODEL.gguf [-o OUT.gguf] [options]
  Quantizes each layer of MODEL (F16/F32/BF16) to the type that best serves your priorities on
  this machine: uniform quantizations → profile → layer scores → plan → mixed GGUF.
  -o, --output FILE     the mixed model (default: MODEL-apreqel-PRIORITY.gguf beside MODEL;
                        MODEL-apreqel-target.gguf for a size target given without weights)
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
${FLEET_OPTIONS_USAGE}
${pipelineOptionsUsage("quantize")}`;

/** The flags of `apreqel quantize`. */
export const QUANTIZE_OPTIONS = {
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
  ...FLEET_OPTIONS,
} as const;

type QuantizeValues = ReturnType<typeof parse<typeof QUANTIZE_OPTIONS>>["values"];

/**
 * `quantize`'s flags → the library's options (pipeline/settings.ts) and their resolution: the
 * command is a parser over `quantizeModel`, so `apreqel quantize` with no flags resolves to what
 * `resolveSettings({})` does. `model` (the positional) lets a default window fit its context.
 */
export async function quantizeOptions(values: QuantizeValues, model?: string) {
  const choices = parsePlanChoices(values);
  const front = parseFrontChoices(values);
  if (front.method === "paper" && values.recipe !== undefined) throw new OptionError("--recipe", "--recipe goes with --method front");
  if (front.method === "paper" && values.verify !== undefined) throw new OptionError("--verify", "--verify goes with --method front");
  const parsed = await parsePipelineOptions(values, "quantize", model);
  const limits: Limits = {
    ...choices.constraints,
    ...(front.maxKld !== undefined ? { maxKld: front.maxKld } : {}),
    ...(front.targetBpw !== undefined ? { targetBpw: front.targetBpw } : {}),
    ...(front.targetSizeBytes !== undefined ? { targetSizeBytes: front.targetSizeBytes } : {}),
    ...(front.targetPreset !== undefined ? { targetPreset: front.targetPreset } : {}),
  };
  const options: SettingsOptions = {
    ...parsed.options,
    method: front.method,
    ...(values.types !== undefined ? { types: choices.types } : {}),
    // only what was given: a size target without weights or a priority is a budget (settings.ts)
    ...(values.weights !== undefined ? { weights: choices.weights.weights } : {}),
    ...(choices.weights.source === "priority" && values.priority !== undefined ? { priority: choices.weights.priority } : {}),
    limits,
    ...(choices.estimator !== undefined ? { estimator: choices.estimator } : {}),
    ...sensitivityOptions(values),
    ...(values["no-measure"] ? { measureResult: false } : {}),
    ...(values.verify !== undefined ? { verify: parseInteger(values.verify, "--verify", 0) } : {}),
  };
  const settings = await resolveSettings(options, parsed.facts);
  // the latency protocol as the run resolved it (a decode plan times no prompt): what the ETA prices and the report says
  return { options, settings, cli: withProbeNotes({ ...parsed.settings, latency: settings.latency }, settings.measure), choices, front };
}

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, QUANTIZE_OPTIONS);
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  const model = positionals[0]!;
  const { settings: resolved, cli: settings, choices, front } = await quantizeOptions(values, model);
  const weights = resolved.weights;
  const label = weights.source === "priority" ? weights.priority : weights.source === "budget" ? "target" : "custom";
  // --redis: Redis must answer and the store open before any work
  const fleet = await openFleet(values, context, settings.json);
  // every output against every input and each other: claimed (and locked) before any work, by the runner
  const outputs = [
    { path: values.output ?? path.join(path.dirname(model), `${path.basename(model, ".gguf")}-apreqel-${label}.gguf`), option: "--output", kind: "gguf" as const },
    ...(values.report !== undefined ? [{ path: values.report, option: "--report", kind: "html" as const }] : []),
    ...(values.recipe !== undefined ? [{ path: values.recipe, option: "--recipe", kind: "recipe" as const }] : []),
  ];
  // the claimed paths in that order: the output, then the report and the recipe where asked for
  const claimedFiles = (paths: readonly string[]) => ({
    output: paths[0]!,
    report: values.report === undefined ? undefined : paths[1]!,
    recipe: values.recipe === undefined ? undefined : paths[paths.length - 1]!,
  });
  try {
    const onFleet = fleet === undefined ? undefined : (s: Session) => fleetSteps(s, fleet, resolved.types, settings, resolved.measure);
    const loaded = values.profile ? await readProfiles(values.profile, resolved.types) : undefined;
    if (loaded && !loaded.file) throw new OptionError("--profile", "--profile: quantize needs profiles written by `apreqel profile` (they say which model they measured)");
    const given = loaded?.file;
    const measure = resolved.measureResult;
    const inputs = (values.profile ?? []).map((p) => ({ path: p, option: "--profile" }));
    if (resolved.method === "front") {
      return await runFront({ model, outputs, inputs, claimedFiles, label, given, choices, front, resolved, settings, context, onFleet });
    }
    // the eval text is used unless the profiles are given and the result is not measured
    const r = await withSession(
      {
        model,
        settings: { ...settings, evalTextUsed: !(given && !measure) },
        context,
        outputs,
        inputs,
        // steps: per type quantize, latency, perplexity; the source's perplexity; the layer scores; assemble; the result's latency and perplexity
        steps: 3 * choices.types.length + 3 + (measure ? 2 : 0),
        checks: quantizeChecks(resolved),
        eta: (s) => quantizeEta(s, { ...settings, accuracy: resolved.accuracy }, { types: resolved.types.length, measure: resolved.measure, measureResult: measure }),
      },
      async (opened, paths) => {
        const { output, report } = claimedFiles(paths);
        const s = (await onFleet?.(opened)) ?? opened;
        const r = paperResult(await quantizeModel(s, { settings: resolved, output, ...(given ? { profile: given } : {}) }));
        if (report !== undefined) {
          const notes = [...reportSettings(choices, settings, !measure), ...settings.notes];
          await writeReport(adaptiveReport(r, { title: `apreqel: ${path.basename(model)}`, notes, types: choices.types, label }), { output: report });
        }
        return r;
      },
    );
    // the paper's method takes no size target, so its weights are a priority's or the user's
    const weightChoice = weights as WeightChoice;
    const warnings = planNoiseWarnings(choices.types, r, weights.weights);
    if (settings.json) {
      console.log(JSON.stringify({ output: r.output.output, ...planJson(r.plan, weightChoice), nonLayerType: r.nonLayerType, measured: r.result, uniform: r.uniform, source: r.source, warnings }, null, 2));
      return 0;
    }
    for (const w of warnings) console.error(`apreqel quantize: warning: ${w}`);
    console.log(describePlan(r.plan, weightChoice).join("\n"));
    console.log("");
    const table = tableLines(() => resultTable(choices.types, r, r.plan.estimate), "apreqel quantize");
    console.log(`wrote ${r.output.output} (${formatBytes(r.output.fileSize)}; non-layer tensors ${nonLayerTypes(r.output.model)})`);
    if (r.interrupted) console.log("note: interrupted after the output was written: it is complete, but was not measured");
    console.log(table.join("\n"));
    for (const note of settings.notes) console.log(`note: ${note}`);
    return 0;
  } finally {
    await closeFleet(fleet);
  }
}

function paperResult(r: QuantizeModelResult): AdaptiveResult {
  if (r.method !== "paper") throw new Error("internal: quantizeModel ran the front where the paper's method was asked for");
  return r.result;
}

function frontResult(r: QuantizeModelResult): FrontResult {
  if (r.method !== "front") throw new Error("internal: quantizeModel ran the paper's method where the front was asked for");
  return r.result;
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
  // a plan on latencies measured beside other work says so every time it is used (issue 26)
  const busy = weights.latency > 0 ? busyLatencyWarning(types, types.map((t) => r.uniform[t] as Partial<LatencyMetrics> | undefined)) : undefined;
  return [...(busy ? [busy] : []), ...(weights.latency > 0 ? noiseWarnings("latency", "ms/token", points(latency)) : []), ...(weights.accuracy > 0 ? noiseWarnings("perplexity", "", points(perplexity)) : [])];
}

/** The settings and the machine, for the report's notes (what the numbers were measured with). */
function reportSettings(choices: PlanChoices, settings: PipelineSettings, noMeasure: boolean, weights: RunWeights = choices.weights): string[] {
  const w = weights.weights;
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return [
    `weights: memory ${formatNumber(w.memory, 3)}, latency ${formatNumber(w.latency, 3)}, accuracy ${formatNumber(w.accuracy, 3)}; types ${choices.types.join(", ")}; non-layer tensors ${settings.uniform.nonLayerType}`,
    `latency: ${settings.latency.nGen} generated tokens${settings.latency.nPrompt > 0 ? ` (and a ${settings.latency.nPrompt}-token prompt timed apart)` : ""}, median of ${settings.latency.reps} interleaved rounds [with its distribution-free interval]; ` +
      `perplexity: ${settings.accuracy.nCtx}-token chunks${settings.accuracy.chunks !== undefined ? `, ${settings.accuracy.chunks} of them` : ""} (± is its stderr)`,
    `machine: ${cpu}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}-${os.arch()}; threads ${settings.latency.threads || "all"}, GPU layers ${settings.latency.gpuLayers ?? 0}`,
    noMeasure ? "the chosen mix was not measured (--no-measure): its point is the plan's estimate" : "the chosen mix is measured; the plan's estimate for it is the grey reference point",
    "the black cross is the source model, the reference KLD is measured from (its KLD is 0 by definition): measured like the uniform files, its latency in their interleaved run",
  ];
}

async function runFront(o: {
  readonly model: string;
  /** what the command writes (the runner claims them) and the further inputs (--profile files) */
  readonly outputs: CommandRun["outputs"];
  readonly inputs: CommandRun["inputs"];
  /** the claimed paths by what they are */
  readonly claimedFiles: (paths: readonly string[]) => { readonly output: string; readonly report: string | undefined; readonly recipe: string | undefined };
  readonly label: string;
  readonly given: ProfileFile | undefined;
  readonly choices: PlanChoices;
  readonly front: FrontChoices;
  readonly resolved: Settings;
  readonly settings: PipelineSettings;
  readonly context: CommandContext;
  /** --redis: the fleet's steps, and the session the run goes on in (its probe rounds on the fleet) */
  readonly onFleet: ((s: Session) => Promise<Session>) | undefined;
}): Promise<number> {
  const { model, choices, settings, resolved, context } = o;
  const measureResult = resolved.measureResult;
  const weights = resolved.weights;
  const r = await withSession(
    {
      model,
      // as on the paper's path: no eval text is used when the profiles are given and the result is not measured
      settings: { ...settings, evalTextUsed: !(o.given && !measureResult) },
      context,
      outputs: o.outputs,
      inputs: o.inputs,
      // steps: per type quantize, latency, perplexity; the source's perplexity; the layer scores; front; assemble; the result's latency and perplexity
      steps: 3 * choices.types.length + 4 + (measureResult ? 2 : 0) + (settings.latencyModel === "unit" ? 1 : 0),
      checks: quantizeChecks(resolved),
      eta: (s) => quantizeEta(s, { ...settings, accuracy: resolved.accuracy }, { types: resolved.types.length, measure: resolved.measure, measureResult }),
    },
    async (opened, paths) => {
      const { output, report, recipe: recipeFile } = o.claimedFiles(paths);
      const s = (await o.onFleet?.(opened)) ?? opened;
      const result = frontResult(await quantizeModel(s, { settings: resolved, output, ...(o.given ? { profile: o.given } : {}) }));
      // the recipe's llama-quantize gets the importance matrix the uniform files were made with (by default the calibration pass's, in the cache)
      const { imatrix } = recipeFile === undefined ? {} : await resolveUniform(s, settings.uniform);
      const recipe = recipeFile === undefined ? undefined : await writeRecipe(s, result, { model, output, recipeFile, ...(imatrix ? { imatrix: imatrix.path } : {}) });
      if (report !== undefined) {
        const e = result.choice.estimate;
        const notes = [...reportSettings(choices, settings, !measureResult, weights), `method: front (${result.model.costs.source} costs); estimate ${result.model.costs.accuracy === "kld" ? `KLD ${formatNumber(e.kld)}, drawn as the reference point on the KLD views (the plan's accuracy; perplexity follows as a second view)` : "drawn as the reference point"}`, ...settings.notes];
        await writeReport(frontReport(result, { title: `apreqel: ${path.basename(model)}`, notes, types: choices.types, label: o.label }), { output: report });
      }
      return { result, recipe, recipeFile };
    },
  );
  const e = r.result.choice.estimate;
  // the table's accuracy column is perplexity only for a front from the profile (a KLD table has none)
  const estimate = r.result.model.costs.accuracy === "perplexity" ? { memoryBytes: e.memoryBytes, latencyMsPerToken: e.latencyMsPerToken, perplexity: e.kld } : null;
  const warnings = planNoiseWarnings(choices.types, r.result, weights.weights);
  if (settings.json) {
    console.log(JSON.stringify({ output: r.result.output.output, ...frontJson(r.result, weights), nonLayerType: r.result.nonLayerType, measured: r.result.result, uniform: r.result.uniform, source: r.result.source, warnings, ...(r.recipe ? { recipe: { file: r.recipeFile, command: r.recipe.command } } : {}), ...(r.result.verified ? { verified: { rho: r.result.verified.rho, estimate: r.result.verified.estimate, mixes: r.result.verified.measured } } : {}) }, null, 2));
    return 0;
  }
  for (const w of warnings) console.error(`apreqel quantize: warning: ${w}`);
  console.log(describeFrontChoice(r.result, weights).join("\n"));
  console.log("");
  const table = tableLines(() => resultTable(choices.types, r.result, estimate), "apreqel quantize");
  // what the file holds: the front plans the embeddings and output head itself (issue 26)
  console.log(`wrote ${r.result.output.output} (${formatBytes(r.result.output.fileSize)}; non-layer tensors ${nonLayerTypes(r.result.output.model)})`);
  if (r.result.interrupted) console.log("note: interrupted after the output was written: it is complete, but was not measured");
  console.log(table.join("\n"));
  if (r.result.result?.kld) {
    const estimated = r.result.model.costs.accuracy === "kld" ? ` (estimate ${formatNumber(e.kld)})` : "";
    console.log(`  result KLD ${formatNumber(r.result.result.kld.mean)} ± ${formatNumber(r.result.result.kld.stderr)}${estimated}`);
  }
  if (r.result.verified) {
    const v = r.result.verified;
    console.log(`  verify: ${v.measured.length} mix(es) measured on the calibration chunks (KLD ${v.measured.map((x) => formatNumber(x.kld)).join(", ")}; additive estimates ${v.measured.map((x) => formatNumber(x.additive)).join(", ")}); correlation ρ ${formatNumber(v.rho)}; corrected estimate ${formatNumber(v.estimate)}`);
  }
  if (r.recipe) {
    console.log(`wrote the recipe ${r.recipeFile}; with stock llama.cpp:`);
    console.log(`  ${r.recipe.command}`);
  }
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
}
