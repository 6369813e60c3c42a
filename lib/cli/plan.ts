/** `apreqel plan`: the best split and allocation for a profile, scores and priorities. */
import { readJsonInput } from "../core/files.js";
import { layerOrder, type LayerName } from "../method/layers.js";
import { plan, type PlanResult } from "../method/plan.js";
import { readProfiles } from "../pipeline/read-profiles.js";
import { parse } from "./args.js";
import { formatBytes, formatNumber } from "../core/format.js";
import type { WeightChoice } from "../method/weightings.js";
import { PLAN_OPTIONS, PLAN_OPTIONS_USAGE, parseMethod, parsePlanChoices } from "./options.js";
import { OptionError } from "../core/errors.js";
import { PIPELINE_OPTIONS, parseLatencyCriterion } from "./pipeline-options.js";
import { profileForCriterion } from "../pipeline/latency-criterion.js";
import { toMethodProfile } from "../pipeline/profile-file.js";
import { busyLatencyWarning } from "./latency-notes.js";
import type { LatencyMetrics } from "../pipeline/measure-file.js";

export const usage = `usage: apreqel plan --profile PROFILE.json --scores SCORES.json [options] [--json]
  The paper's method on measurements you already have: chooses how many layers get each type
  (TOPSIS over every split) and which layers get them (Algorithm 1). No model is read.
  --method paper        the only method \`plan\` runs (accepted so scripts can say so); the front
                        prices each tensor of the model itself: \`apreqel quantize MODEL --no-measure\`
                        plans on it and writes the mix, in seconds once the uniform files are cached
  --profile FILE        uniform measurements; repeat to merge partial profiles of one model
                        (e.g. \`profile --only latency\` from the device + \`--only accuracy\`)
  --scores FILE         layer scores from \`apreqel score\`
${PLAN_OPTIONS_USAGE}
  --latency L           decode (ms per generated token; the default) | prefill (ms per prompt token;
                        needs profiles written by \`apreqel profile\` with --n-prompt > 0)
  --json                print the plan as JSON (the issue-3 contract) and nothing else`;

/** The `--json` output: the contract's fields in its order, then what the run adds. */
export function planJson(result: PlanResult, choice: WeightChoice): Record<string, unknown> {
  return {
    weights: result.weights,
    candidates: result.candidates,
    distribution: result.distribution,
    estimate: result.estimate,
    score: result.score,
    allocation: result.allocation,
    estimator: result.estimator,
    enumerated: result.enumerated,
    ...(choice.source === "priority" ? { priority: { name: choice.priority, weighting: choice.weightingId } } : {}),
  };
}

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...PLAN_OPTIONS, profile: { type: "string", multiple: true }, scores: { type: "string" }, latency: PIPELINE_OPTIONS.latency, method: { type: "string" }, json: { type: "boolean" } },
    false,
  );
  // validated first, so a misspelt method gets the usual suggestion rather than the front's explanation
  if (values.method !== undefined && parseMethod(values.method) === "front") {
    throw new OptionError(
      "--method",
      "--method front needs the model: its costs are the bytes of each tensor in the cached uniform files and the measured KLD of each; `apreqel quantize MODEL --method front --no-measure` plans on it and writes the mix (seconds once the uniform files are cached; --json prints the plan). `plan` runs the paper's method on a profile and layer scores",
    );
  }
  const choices = parsePlanChoices(values);
  if (values.profile === undefined) throw new OptionError("--profile", "--profile is required");
  if (values.scores === undefined) throw new OptionError("--scores", "--scores is required");
  const criterion = parseLatencyCriterion(values.latency);
  const loaded = await readProfiles(values.profile, choices.types);
  if (criterion === "prefill" && loaded.file === undefined) {
    throw new OptionError("--latency", "--latency prefill needs profiles written by `apreqel profile` (a bare profile has no prefill latency)");
  }
  const profile = criterion === "decode" ? loaded.profile : toMethodProfile(profileForCriterion(loaded.file!, criterion), choices.types);
  const scores = await readJsonInput(values.scores, "--scores");
  const result = plan({
    profile,
    scores: scores as never, // plan() validates it (parseScores) and names what is wrong
    weights: choices.weights.weights,
    types: choices.types,
    constraints: choices.constraints,
    ...(choices.estimator !== undefined ? { estimator: choices.estimator } : {}),
  });
  // a plan on latencies measured beside other work says so on every use (issue 26)
  const busy = choices.weights.weights.latency > 0 && loaded.file ? busyLatencyWarning(choices.types, choices.types.map((t) => loaded.file!.types[t] as Partial<LatencyMetrics> | undefined)) : undefined;
  const warnings = busy ? [busy] : [];
  if (values.json) {
    // the contract JSON gains `warnings` only when there is one (a plan on busy latencies)
    console.log(JSON.stringify({ ...planJson(result, choices.weights), ...(warnings.length > 0 ? { warnings } : {}) }, null, 2));
    return 0;
  }
  for (const w of warnings) console.error(`apreqel plan: warning: ${w}`);
  console.log(describePlan(result, choices.weights).join("\n"));
  return 0;
}

/**
 * The readable summary: weights and their origin, search size, split, estimate, per-block types.
 *
 * @example
 * describePlan(result, choice)[0] // "weights: memory 0.1, latency 0.8, accuracy 0.1 (--priority latency: the paper's latency-0.8)"
 */
export function describePlan(result: PlanResult, choice: WeightChoice): string[] {
  const w = result.weights;
  const origin = choice.source === "priority" ? ` (--priority ${choice.priority}: the paper's ${choice.weightingId})` : "";
  const lines = [
    `weights: memory ${formatNumber(w.memory)}, latency ${formatNumber(w.latency)}, accuracy ${formatNumber(w.accuracy)}${origin}`,
    `searched ${result.enumerated} splits with the ${result.estimator} estimator; ${result.candidates} meet the constraints`,
    `distribution: ${Object.entries(result.distribution)
      .map(([type, count]) => `${type} ${count}`)
      .join(", ")}`,
    `estimate: memory ${formatBytes(result.estimate.memoryBytes)}, latency ${formatNumber(result.estimate.latencyMsPerToken)} ms/token, perplexity ${formatNumber(result.estimate.perplexity)}`,
    `TOPSIS score ${formatNumber(result.score)}`,
    "allocation:  block  attn    ffn",
  ];
  const blocks = new Map<number, { attn?: string; ffn?: string }>();
  for (const [layer, type] of Object.entries(result.allocation)) {
    const order = layerOrder(layer as LayerName);
    const row = blocks.get(order >> 1) ?? {};
    row[order & 1 ? "ffn" : "attn"] = type;
    blocks.set(order >> 1, row);
  }
  for (const [block, row] of [...blocks].sort((a, b) => a[0] - b[0])) {
    lines.push(`             ${String(block).padStart(5)}  ${(row.attn ?? "-").padEnd(7)} ${row.ffn ?? "-"}`);
  }
  return lines;
}
