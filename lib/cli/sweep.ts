/** `apreqel sweep MODEL.gguf --out-dir DIR`: the paper's 28 weightings → 28 models, measured, with hypervolume. */
import { nameIgnoringCase } from "../core/validate.js";
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeAtomically } from "../core/files.js";
import { sweep, sweepModelFile, type SweepResult } from "../pipeline/sweep.js";
import { PAPER_WEIGHTINGS } from "../method/weightings.js";
import { sweepReport } from "../report/from-results.js";
import { writeReport } from "../report/report.js";
import { quantizePresets } from "../ops/ggml-types.js";
import { OptionError, unknownName } from "../core/errors.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatNumber, formatPerplexity, LATENCY_HEADER, PERPLEXITY_HEADER } from "../core/format.js";
import type { MeasuredModel } from "../pipeline/measure-file.js";
import { METHOD_USAGE, parseMethod, parseTypes } from "./options.js";
import { closeFleet, FLEET_OPTIONS, FLEET_OPTIONS_USAGE, fleetSteps, openFleet } from "./fleet-options.js";
import { accuracyForPlan, sensitivityChecks, PIPELINE_OPTIONS, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineOptionsUsage, pipelineSettings, sensitivitySettings, withProbeNotes, withSession } from "./pipeline-options.js";

export const usage = `usage: apreqel sweep MODEL.gguf --out-dir DIR [--presets Q3_K_M,Q4_K_M,...] [--types T,...] [options]
  Plans, assembles and measures one model per weighting of the paper (28), and reports the
  hypervolume of the mixed set against the uniform set (and llama.cpp's presets when given).
  Writes DIR/<weighting>.gguf, DIR/sweep.json and DIR/report.html.
${METHOD_USAGE}
                        (with --method front and --sensitivity measured the accuracy axis is KLD)
${SENSITIVITY_OPTIONS_USAGE}
${FLEET_OPTIONS_USAGE}
${pipelineOptionsUsage("sweep")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, ...SENSITIVITY_OPTIONS, "out-dir": { type: "string" }, presets: { type: "string" }, types: { type: "string" }, method: { type: "string" }, ...FLEET_OPTIONS });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values["out-dir"]) throw new OptionError("--out-dir", "--out-dir DIR is required");
  const types = parseTypes(values.types);
  // preset names ignore case, as in llama-quantize (Q4_K_M = q4_k_m)
  const presets = values.presets === undefined ? [] : values.presets.split(",").map((p) => {
    const name = nameIgnoringCase(p.trim(), quantizePresets());
    if (name === undefined) throw unknownName("--presets", "llama.cpp preset", p.trim(), quantizePresets());
    return name;
  });
  const method = parseMethod(values.method);
  const given = await pipelineSettings(values, "sweep", positionals[0]);
  const measure = sensitivitySettings(values, types, given.uniform, method);
  const settings = withProbeNotes(given, measure);
  // a front from a measured Δ table plans on KLD: every file's KLD is then measured
  const accuracy = accuracyForPlan(settings.accuracy, method, measure);
  // --redis: Redis must answer and the store open before any work
  const fleet = await openFleet(values, context, settings.json);
  const outDir = path.resolve(values["out-dir"]);
  // the folder and every file the sweep writes into it, before any work
  try {
    // the folder and every file the sweep writes into it, claimed before any work
    const { r, summary, jsonFile } = await withSession(
      {
        model: positionals[0]!,
        settings,
        context,
        outputs: [
          { path: path.join(outDir, "sweep.json"), option: "--out-dir", kind: "json" },
          { path: path.join(outDir, "report.html"), option: "--out-dir", kind: "html" },
          { path: outDir, option: "--out-dir", kind: "dir" },
          ...PAPER_WEIGHTINGS.map((w) => ({ path: sweepModelFile(outDir, w), option: "--out-dir", kind: "gguf" as const })),
        ],
        checks: sensitivityChecks(settings, measure),
      },
      async (s, [jsonFile, reportFile]) => {
        const r = await sweep(fleet ? await fleetSteps(s, fleet, types, settings, measure) : s, { ...settings.uniform, outDir, types, method, latency: settings.latency, latencyCriterion: settings.latencyCriterion, accuracy, score: { ...settings.score, ...(measure ? { measure } : {}) }, ...(measure && method === "paper" ? { estimator: "measured" as const } : {}), presets });
        const summary = sweepJson(r);
        await writeAtomically(jsonFile!, (temp) => fs.writeFile(temp, JSON.stringify(summary, null, 2) + "\n"));
        const notes = [`method: ${r.method}; accuracy axis: ${r.accuracyMetric}`, `hypervolume gain of the measured mixed set over the uniform set: ${pct(r.measured.gain)}`, ...settings.notes];
        await writeReport(sweepReport(r, { title: `apreqel sweep: ${path.basename(positionals[0]!)}`, notes, types }), { output: reportFile! });
        return { r, summary, jsonFile: jsonFile! };
      },
    );
    if (settings.json) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    console.log(`${r.models.length} weightings → ${new Set(r.models.map((m) => m.file)).size} distinct models in ${outDir} (method ${r.method})`);
    // the one wording of every table (core/format.ts): latency median [interval], perplexity (or KLD) ± stderr
    const accuracyOf = (m: MeasuredModel) =>
      r.accuracyMetric === "kld" ? (m.kld ? `KLD ${formatNumber(m.kld.mean)} ± ${formatNumber(m.kld.stderr)}` : "") : formatPerplexity(m);
    const row = (name: string, m: MeasuredModel, types: string) =>
      `  ${name.padEnd(22)} ${formatBytes(m.memoryBytes).padStart(9)}  ${formatLatency(m).padEnd(34)} ${accuracyOf(m).padStart(20)}  ${types}`;
    console.log(`  ${"model".padEnd(22)} ${"memory".padStart(9)}  ${LATENCY_HEADER.padEnd(34)} ${(r.accuracyMetric === "kld" ? "KLD ± se" : PERPLEXITY_HEADER).padStart(20)}  types`);
    console.log(row(r.source.label, r.source.measured, ""));
    for (const m of r.models) console.log(row(m.weighting.id, m.measured, Object.entries(m.distribution).filter(([, n]) => n).map(([t, n]) => `${t}×${n}`).join(" ")));
    console.log(`hypervolume (measured): uniform ${r.measured.uniform.hypervolume.toFixed(4)}, mixed ${r.measured.mixed.hypervolume.toFixed(4)}, union ${r.measured.union.hypervolume.toFixed(4)}, gain ${pct(r.measured.gain)}`);
    console.log(`hypervolume (estimated): gain ${pct(r.estimated.gain)}`);
    console.log(`wrote ${jsonFile} and ${path.join(outDir, "report.html")}`);
    for (const note of settings.notes) console.log(`note: ${note}`);
    return 0;
  } finally {
    await closeFleet(fleet);
  }
}

function pct(x: number | null): string {
  return x === null ? "n/a" : `${(x * 100).toFixed(2)}%`;
}

function sweepJson(r: SweepResult): Record<string, unknown> {
  return {
    source: r.source,
    uniform: r.uniform,
    presets: r.presets,
    files: r.files,
    method: r.method,
    accuracyMetric: r.accuracyMetric,
    ...(r.method === "paper" ? { estimator: r.models.find((m) => m.method === "paper")?.plan.estimator } : {}),
    scores: r.scores,
    models: r.models.map((m) => ({
      weighting: m.weighting,
      file: m.file,
      distribution: m.distribution,
      estimate: m.estimate,
      measured: m.measured,
      allocation: m.allocation,
    })),
    hypervolume: { measured: r.measured, estimated: r.estimated },
  };
}
