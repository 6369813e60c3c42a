/** `apreqel portfolio MODEL --count K -o DIR` and `apreqel portfolio profile DIR`. */
import { OptionError } from "../core/errors.js";
import { formatBytes, formatLatency, formatNumber, formatPerplexity, PERPLEXITY_HEADER } from "../core/format.js";
import { parseInteger } from "../core/validate.js";
import { buildPortfolio, DEFAULT_COUNT, portfolioFiles } from "../portfolio/build.js";
import { withClaimedOutputs } from "../core/files.js";
import { MANIFEST_FILE } from "../portfolio/manifest.js";
import { promises as fs } from "node:fs";
import path from "node:path";
import { profilePortfolio } from "../portfolio/profile.js";
import { parse, type CommandContext } from "./args.js";
import { closeFleet, FLEET_OPTIONS, FLEET_OPTIONS_USAGE, fleetSteps, openFleet } from "./fleet-options.js";
import { parseTypes } from "./options.js";
import { accuracyForPlan, sensitivityChecks, PIPELINE_OPTIONS, PIPELINE_OPTIONS_USAGE, SENSITIVITY_OPTIONS, SENSITIVITY_OPTIONS_USAGE, pipelineSettings, sensitivitySettings, withProbeNotes, withProgress, withSession } from "./pipeline-options.js";
import { DEFAULT_LATENCY_PROTOCOL } from "../core/defaults.js";

export const usage = `usage: apreqel portfolio MODEL.gguf -o DIR [--count K] [options]
       apreqel portfolio profile DIR [--n-gen N] [--n-prompt N] [--reps N] [--threads N] [--gpu-layers N]
                                     [--redis URL --store DIR --device-class NAME...]
  Writes K mixes spread along MODEL's Pareto front (the least memory, fastest and most accurate
  ends included; identical mixes merged) into DIR, each measured here, and DIR/portfolio.json for
  \`apreqel pick\`. \`portfolio profile DIR\` adds this device's latencies to a portfolio (with --redis,
  those of each --device-class, measured by that class's \`apreqel worker\`s).
  -o, --output DIR      the portfolio folder (created)
  --count K             variants (default ${DEFAULT_COUNT})
  --types T,...         candidate types (default q8_0,q6_K,q5_K,q4_K,q3_K)
${SENSITIVITY_OPTIONS_USAGE}
${FLEET_OPTIONS_USAGE}
${PIPELINE_OPTIONS_USAGE}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  if (argv[0] === "profile") return runProfile(argv.slice(1), context);
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, ...SENSITIVITY_OPTIONS, output: { type: "string", short: "o" }, count: { type: "string" }, types: { type: "string" }, ...FLEET_OPTIONS });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file (or `profile DIR`)");
  if (values.output === undefined) throw new OptionError("--output", "-o DIR is required: the portfolio folder");
  const count = values.count === undefined ? DEFAULT_COUNT : parseInteger(values.count, "--count", 1);
  const types = parseTypes(values.types);
  const given = await pipelineSettings(values, "quantize", positionals[0]);
  // a portfolio is spread along the front: the front's defaults (measured Δ KLD per tensor)
  const measure = sensitivitySettings(values, types, given.uniform, "front");
  const settings = withProbeNotes(given, measure);
  const model = positionals[0]!;
  // --redis: Redis must answer and the store open before any work
  const fleet = await openFleet(values, context, settings.json);
  try {
    return printPortfolio(
      await withSession(
        {
          model,
          settings,
          context,
          // the folder and every file that may go into it, against every input, before any work
          outputs: [{ path: values.output, option: "--output", kind: "dir" }, ...portfolioFiles(values.output, model, count).map((file) => ({ path: file, option: "--output", kind: file.endsWith(".json") ? ("json" as const) : ("gguf" as const) }))],
          checks: sensitivityChecks(settings, measure),
        },
        async (s, [dir]) =>
          buildPortfolio(fleet ? await fleetSteps(s, fleet, types, settings, measure) : s, { ...settings.uniform, dir: dir!, count, types, latency: settings.latency, latencyCriterion: settings.latencyCriterion, latencyModel: settings.latencyModel, accuracy: accuracyForPlan(settings.accuracy, "front", measure), score: { ...settings.score, ...(measure ? { measure } : {}) } }),
      ),
      settings,
    );
  } finally {
    await closeFleet(fleet);
  }
}

function printPortfolio(r: Awaited<ReturnType<typeof buildPortfolio>>, settings: { readonly json: boolean; readonly notes: readonly string[] }): number {
  if (settings.json) {
    console.log(JSON.stringify({ path: r.path, merged: r.merged, manifest: r.manifest }, null, 2));
    return 0;
  }
  console.log(`front: ${r.model.front.points.length} mixes of ${r.model.front.table.units} units (costs: ${r.model.costs.source})`);
  console.log(`  ${"variant".padEnd(12)} ${"file size".padStart(10)}   ${"decode latency".padEnd(28)} ${PERPLEXITY_HEADER.padEnd(19)} KLD ± se`);
  // the one wording of every table (core/format.ts); a manifest keeps each device's decode as mean ± sd
  for (const v of r.manifest.variants) {
    const l = v.latency[0]!.decode;
    const a = v.accuracy;
    console.log(
      `  ${v.name.padEnd(12)} ${formatBytes(v.bytes).padStart(10)}   ${formatLatency({ latencyMsPerToken: l.mean, latencyMsPerTokenSd: l.sd }).padEnd(28)} ${formatPerplexity({ perplexity: a.perplexity.value, perplexityStderr: a.perplexity.stderr }).padEnd(19)} ${a.kld ? `${formatNumber(a.kld.mean)} ± ${formatNumber(a.kld.stderr)}` : "-"}`,
    );
  }
  for (const m of r.merged) console.log(`  ${m.name}: the same file as ${m.into} (merged)`);
  console.log(`wrote ${r.path}`);
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
}

async function runProfile(argv: readonly string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    "n-gen": { type: "string" },
    "n-prompt": { type: "string" },
    reps: { type: "string" },
    threads: { type: "string" },
    "gpu-layers": { type: "string" },
    json: { type: "boolean" },
    ...FLEET_OPTIONS,
    "device-class": { type: "string", multiple: true },
  });
  if (positionals.length !== 1) throw new OptionError("DIR", "expected exactly one portfolio folder");
  const classes = values["device-class"] ?? [];
  if (values.redis !== undefined && classes.length === 0) throw new OptionError("--device-class", "portfolio profile --redis needs --device-class NAME (repeatable): the device classes whose workers measure the variants");
  if (values.redis === undefined && classes.length > 0) throw new OptionError("--device-class", "--device-class goes with --redis URL: this device is profiled without it");
  const int = (v: string | undefined, option: string, min: number) => (v === undefined ? undefined : parseInteger(v, option, min));
  const nGen = int(values["n-gen"], "--n-gen", 1);
  const nPrompt = int(values["n-prompt"], "--n-prompt", 0);
  const reps = int(values.reps, "--reps", 1);
  const threads = int(values.threads, "--threads", 0);
  const gpuLayers = int(values["gpu-layers"], "--gpu-layers", -1);
  // the manifest is rewritten in place: locked, so two devices' profiles cannot lose each other's
  const given = path.resolve(positionals[0]!);
  const manifestFile = (await fs.stat(given).catch(() => null))?.isDirectory() ? path.join(given, MANIFEST_FILE) : given;
  // --redis: Redis must answer and the store open before any work
  const fleet = await openFleet(values, context, values.json ?? false);
  try {
    return await withClaimedOutputs([{ path: manifestFile, option: "DIR", kind: "json" }], [], {}, async () => {
      if (fleet) {
        const { profilePortfolioOnFleet } = await import("../fleet/coordinator.js");
        const r = await profilePortfolioOnFleet(fleet, positionals[0]!, {
          deviceClasses: classes,
          // the in-process `portfolio profile`'s defaults (portfolio/profile.ts): the one latency protocol
          latency: { nGen: nGen ?? DEFAULT_LATENCY_PROTOCOL.nGen, nPrompt: nPrompt ?? DEFAULT_LATENCY_PROTOCOL.nPrompt, reps: reps ?? DEFAULT_LATENCY_PROTOCOL.reps },
          threads: threads ?? 0,
          gpuLayers: gpuLayers ?? 0,
        });
        if (values.json) {
          console.log(JSON.stringify({ devices: r.devices, manifest: r.manifest }, null, 2));
          return 0;
        }
        for (const { deviceClass, device } of r.devices) console.log(`added device class ${deviceClass} (${device.fingerprint}: ${device.hardware.cpu}) to ${positionals[0]}`);
        return 0;
      }
      const r = await withProgress(values.json ?? false, (onStep) =>
        profilePortfolio(positionals[0]!, {
          ...(nGen !== undefined ? { nGen } : {}),
          ...(nPrompt !== undefined ? { nPrompt } : {}),
          ...(reps !== undefined ? { reps } : {}),
          ...(threads !== undefined ? { threads } : {}),
          ...(gpuLayers !== undefined ? { gpuLayers } : {}),
          ...(context.signal ? { signal: context.signal } : {}),
          onProgress: (f: number) => onStep("latency", f),
        }),
      );
      if (values.json) {
        console.log(JSON.stringify({ device: r.device, manifest: r.manifest }, null, 2));
        return 0;
      }
      for (const v of r.manifest.variants) {
        const m = v.latency.find((x) => x.device.fingerprint === r.device.fingerprint)!;
        console.log(`  ${v.name.padEnd(12)} ${formatLatency({ latencyMsPerToken: m.decode.mean, latencyMsPerTokenSd: m.decode.sd })}`);
      }
      console.log(`added this device (${r.device.fingerprint}: ${r.device.hardware.cpu}) to ${positionals[0]}`);
      return 0;
    });
  } finally {
    await closeFleet(fleet);
  }
}
