/** `apreqel profile MODEL.gguf -o profile.json`: measure the uniform set (all, or this machine's part). */
import { promises as fs } from "node:fs";
import { writeAtomically } from "../core/files.js";
import { profileModel } from "../pipeline/profile.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatPerplexity } from "../core/format.js";
import { parseTypes } from "./options.js";
import type { LatencyMetrics } from "../pipeline/measure-file.js";
import { latencyNotes, profileLatencyProblems } from "./latency-notes.js";
import { PIPELINE_OPTIONS, pipelineOptionsUsage, pipelineSettings, withSession } from "./pipeline-options.js";
import { quantizeEta } from "./run-budget.js";
import { InputError, invalidOption, OptionError } from "../core/errors.js";
import { closeFleet, FLEET_OPTIONS, FLEET_OPTIONS_USAGE, openFleet } from "./fleet-options.js";
import { parseProfileFile, type ProfileFile } from "../pipeline/profile-file.js";
import type { Session } from "../pipeline/session.js";

export const usage = `usage: apreqel profile MODEL.gguf -o PROFILE.json [--only latency|accuracy] [--types T,...] [options]
  Quantizes MODEL uniformly to each type and measures memory, latency and perplexity.
  --only latency        memory and latency only: run this on the target device
  --only accuracy       perplexity only: run it on any machine; \`plan\`/\`quantize\` merge the parts
${FLEET_OPTIONS_USAGE}
  --device-class NAME   with --redis and --only latency: measured by a worker of that device class
  Latencies measured on a busy machine, from fewer than 6 rounds, or whose intervals overlap (the
  profile cannot say which type is faster) are not written: measure on a quiet machine with
  --reps 6 or more, or pass --force.
${pipelineOptionsUsage("profile")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, output: { type: "string", short: "o" }, only: { type: "string" }, types: { type: "string" }, ...FLEET_OPTIONS, "device-class": { type: "string" } });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  if (!values.output) throw new OptionError("--output", "-o PROFILE.json is required");
  const only = values.only;
  if (only !== undefined && only !== "latency" && only !== "accuracy") throw invalidOption("--only", "latency or accuracy", only);
  const types = parseTypes(values.types);
  const settings = await pipelineSettings(values, "profile", positionals[0]);
  const deviceClass = values["device-class"];
  if (deviceClass !== undefined && (values.redis === undefined || only !== "latency")) throw new OptionError("--device-class", "--device-class goes with --redis URL and --only latency: the latency is measured by a worker of that class");
  // --redis: Redis must answer and the store open before any work
  const fleet = await openFleet(values, context, settings.json);
  // the profile: on the fleet with --redis (a device class's worker measures the latency itself)
  const measureProfile = async (s: Session): Promise<ProfileFile> => {
    if (fleet) {
      const { computeOnFleet, latencyOnFleet } = await import("../fleet/coordinator.js");
      const steps = { uniform: settings.uniform, types, nCtx: settings.accuracy.nCtx, threads: settings.latency.threads ?? 0 };
      if (deviceClass !== undefined) {
        const { nGen, nPrompt, reps } = settings.latency;
        const measured = await latencyOnFleet(s, fleet, { ...steps, deviceClass, latency: { nGen, nPrompt, reps }, gpuLayers: settings.latency.gpuLayers ?? 0 });
        return parseProfileFile(measured, `the latency profile from device class ${deviceClass}`);
      }
      // the uniform files (and the importance matrix's calibration pass) on the fleet; measured here
      await computeOnFleet(s, fleet, steps);
    }
    return (await profileModel(s, { ...settings.uniform, types, ...(only ? { only } : {}), latency: settings.latency, accuracy: settings.accuracy })).profile;
  };
  try {
    const { profile, output } = await withSession(
      {
        model: positionals[0]!,
        settings,
        context,
        outputs: [{ path: values.output, option: "--output", kind: "profile" }],
        // steps: the calibration pass, per type quantize and perplexity, the latencies (one interleaved run)
        steps: 2 + 2 * types.length,
        // the ETA from the run's work (issue 26): each type quantized, and measured as --only says
        eta: (s) => quantizeEta(s, settings, { types: types.length, measure: undefined, measureResult: false, perplexityFiles: only === "latency" ? 0 : types.length, latencyFiles: only === "accuracy" ? 0 : types.length, calibrationPass: settings.uniform.imatrixFrom !== undefined }),
      },
      async (s, [output]) => {
        const profile = await measureProfile(s);
        // a latency that cannot separate the types, or measured beside other work, would steer plans
        // silently (issue 26): not written unless --force (the measurements stay in the cache either way)
        if (only !== "accuracy" && !settings.force) {
          const problems = profileLatencyProblems(types, types.map((type) => profile.types[type] as Partial<LatencyMetrics>));
          if (problems.length > 0) {
            throw new InputError(
              `${output} not written: its latencies cannot be trusted: ${problems.join("; ")}. Measure again on a quiet machine (more --reps narrow the intervals), or pass --force to write them as they are`,
            );
          }
        }
        await writeAtomically(output!, (temp) => fs.writeFile(temp, JSON.stringify(profile, null, 2) + "\n"));
        return { profile, output: output! };
      },
    );

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
    await closeFleet(fleet);
  }
}

/** The stderr kept in a profile's further fields, when it is a number. */
function spreadOf(value: unknown): { perplexityStderr?: number } {
  return typeof value === "number" ? { perplexityStderr: value } : {};
}
