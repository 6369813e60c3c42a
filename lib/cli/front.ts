/** What `quantize --method front` prints and writes: the choice, its JSON, the llama-quantize recipe. */
import { promises as fs } from "node:fs";
import { formatBytes, formatNumber } from "../core/format.js";
import { writeAtomically } from "../core/files.js";
import { quantizeRecipe, type Recipe } from "../method/recipe.js";
import type { GgmlType } from "../method/types.js";
import type { FrontResult } from "../pipeline/front.js";
import type { Session } from "../pipeline/session.js";
import type { RunWeights } from "../pipeline/settings.js";
import { describeSensitivity } from "../method/sensitivity.js";

/** The `--json` output of a front choice. */
export function frontJson(r: FrontResult, choice: RunWeights): Record<string, unknown> {
  const { front, costs } = r.model;
  return {
    method: "front",
    weights: r.choice.weights,
    ...(choice.source === "priority" ? { priority: { name: choice.priority, weighting: choice.weightingId } } : {}),
    ...(choice.source === "budget" ? { budget: "the most accurate mix within the size target (no --weights or --priority given)" } : {}),
    costs: costs.source,
    accuracyMetric: costs.accuracy,
    latency: r.model.latency,
    frontPoints: front.points.length,
    tolerance: front.tolerance,
    candidates: r.choice.candidates,
    score: r.choice.score,
    distribution: r.choice.distribution,
    estimate: r.choice.estimate,
    // type per unit, under the name the paper's method uses for its (sub-layer) units
    allocation: r.choice.assignment,
  };
}

/**
 * The readable summary of a front choice.
 *
 * @example
 * describeFrontChoice(r, choice)[1] // "front: 212 mixes of 24 units (costs: profile), ε ≤ 1.2 KB, 0.01 ms"
 */
export function describeFrontChoice(r: FrontResult, choice: RunWeights): string[] {
  const w = r.choice.weights;
  const { front, costs } = r.model;
  const e = r.choice.estimate;
  const origin = choice.source === "priority" ? ` (--priority ${choice.priority})` : choice.source === "budget" ? " (a size target is a budget: the most accurate mix within it)" : "";
  const accuracy = costs.accuracy === "kld" ? `KLD ${formatNumber(e.kld)}` : `perplexity ${formatNumber(e.kld)}`;
  return [
    `weights: memory ${formatNumber(w.memory)}, latency ${formatNumber(w.latency)}, accuracy ${formatNumber(w.accuracy)}${origin}`,
    `front: ${front.points.length} mixes of ${front.table.units} units (costs: ${costs.source}), ε ≤ ${formatBytes(front.tolerance.sizeBytes)}, ${formatNumber(front.tolerance.latencyMs)} ms; ${r.choice.candidates} meet the limits`,
    `distribution: ${Object.entries(r.choice.distribution)
      .map(([type, count]) => `${type} ${count}`)
      .join(", ")}`,
    `estimate: ${formatBytes(e.sizeBytes)} (${formatNumber(e.bitsPerWeight)} bpw), latency ${formatNumber(e.latencyMsPerToken)} ms/token, ${accuracy}`,
    `latency: ${r.model.latency.criterion}, ${r.model.latency.fit ? `per-unit model (fixed ${formatNumber(r.model.latency.fit.fixedMs)} ms + ${formatNumber(r.model.latency.fit.scale)} × Σ unit matmuls)` : "parameter-share split of the uniform files' latency"}`,
    `TOPSIS score ${formatNumber(r.choice.score)}`,
    ...(r.model.scores.sensitivity?.probes ? [`sensitivity: ${describeSensitivity(r.model.scores.sensitivity)}`] : []),
  ];
}

/**
 * Writes the chosen mix as a llama-quantize recipe (atomically) and returns it with the command:
 * every unit's tensors at their type, the other quantizable tensors at the non-layer type.
 */
export async function writeRecipe(
  s: Session,
  r: FrontResult,
  o: { readonly model: string; readonly output: string; readonly recipeFile: string; readonly imatrix?: string; readonly tool?: string },
): Promise<Recipe> {
  const covered = new Set(Object.keys(r.tensorTypes));
  const fixedTypes: Record<string, GgmlType> = {};
  for (const t of s.info.tensors) if (t.quantizable && !covered.has(t.name)) fixedTypes[t.name] = r.nonLayerType as GgmlType;
  const recipe = quantizeRecipe(r.model.front.table, r.choice.point.mix, {
    input: o.model,
    output: o.output.replace(/\.gguf$/, "") + "-llama-quantize.gguf",
    recipeFile: o.recipeFile,
    fixedTypes,
    ...(o.imatrix ? { imatrix: o.imatrix } : {}),
    ...(o.tool ? { tool: o.tool } : {}),
  });
  await writeAtomically(o.recipeFile, (temp) => fs.writeFile(temp, recipe.text));
  return recipe;
}
