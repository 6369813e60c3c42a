/**
 * The per-unit latency model on this device (issue 16), as the front's latency column:
 *   c(t, k, n) = the median time of one k×n weight matmul in type t (matmulBench: same backend,
 *                buffer type and threads as a model run), at batch 1 for decode, at the prompt's
 *                ubatch for prefill (per token);
 *   fixed, scale fitted on the uniform files' measured latency of the criterion (fitForTable);
 *   ℓ(u, t) = scale · Σ_{x ∈ u} c(x), fixed.latencyMs = fixed (lib/method/latency-model.ts).
 * The costs are cached per shape set, batch, repetitions and threads, on this hardware and build,
 * like the other latency measurements; the fit is arithmetic over the cached profile.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { CostTable } from "../method/cost-table.js";
import { costKey, fitForTable, unitShapes, unitSum, withUnitLatency, type LatencyFit, type UnitTensor } from "../method/latency-model.js";
import { median } from "../method/latency-protocol.js";
import type { GgmlType } from "../method/types.js";
import { inspect } from "../ops/inspect.js";
import { matmulBench } from "../ops/matmul-bench.js";
import { asInputError } from "../core/errors.js";
import type { LatencyCriterion } from "./latency-criterion.js";
import type { LatencySettings } from "./measure-file.js";
import type { ProfileFile } from "./profile-file.js";
import { jobOptions, keyFor, type Session } from "./session.js";
import { readCachedJson } from "../cache/read.js";
import { MATMUL_COSTS_SHAPE } from "./cached-shapes.js";

/** Which latency column the front's cost table carries. */
export type LatencyModelName = "share" | "unit";
export const LATENCY_MODELS: readonly LatencyModelName[] = ["share", "unit"];

/** llama-bench's (and llama.cpp's default) ubatch: a prompt runs through the graph this many tokens at a time. */
export const PROMPT_UBATCH = 512;

/** Repetitions per matmul shape (the median is kept). */
const MATMUL_REPS = 7;

/** The per-unit model fitted for one criterion: what the cost table needs, and what the fit left. */
export interface UnitLatencyModel {
  readonly criterion: LatencyCriterion;
  /** the token batch each matmul was timed at */
  readonly batch: number;
  readonly costs: ReadonlyMap<string, number>;
  readonly files: Readonly<Partial<Record<GgmlType, readonly UnitTensor[]>>>;
  readonly fit: LatencyFit;
}

/**
 * Times the uniform files' unit matmuls (cached) and fits fixed and scale on the profile's
 * latency, which must already be the criterion's (profileForCriterion).
 */
export async function unitLatencyModel(
  s: Session,
  o: { readonly files: ReadonlyMap<GgmlType, string>; readonly profile: ProfileFile; readonly types: readonly GgmlType[]; readonly latency: LatencySettings; readonly criterion: LatencyCriterion },
): Promise<UnitLatencyModel> {
  const files: Partial<Record<GgmlType, UnitTensor[]>> = {};
  for (const t of o.types) files[t] = (await inspect(o.files.get(t)!)).tensors.map((x) => ({ name: x.name, type: x.type, shape: x.shape }));
  const shapes = unitShapes(Object.values(files).flat()).sort((a, b) => costKey(a.type, a.k, a.n).localeCompare(costKey(b.type, b.k, b.n)));
  const batch = o.criterion === "decode" ? 1 : Math.min(o.latency.nPrompt, PROMPT_UBATCH);
  const threads = o.latency.threads ?? 0;
  const settings = { shapes: shapes.map((x) => costKey(x.type, x.k, x.n)), batch, reps: MATMUL_REPS, threads, gpu: (o.latency.gpuLayers ?? 0) !== 0 };
  const step = `unit latency (${o.criterion})`;
  const { value: cachedCosts } = await s.cache.use(
    keyFor(s, "measurement", "matmul", settings, { device: true }),
    async (dir) => {
      const timings = await matmulBench({ shapes, batches: [batch], reps: MATMUL_REPS, threads, gpu: settings.gpu, ...jobOptions(s, step) });
      const out: Record<string, number> = {};
      for (const t of timings) out[costKey(t.type, t.k, t.n)] = median(t.samplesMs) / t.batch;
      await fs.writeFile(path.join(dir, "result.json"), JSON.stringify(out));
    },
    (dir) => readCachedJson<Record<string, number>>(dir, "result.json", MATMUL_COSTS_SHAPE),
    { description: `matmul costs of ${shapes.length} (type, shape) pairs at batch ${batch}` },
  );
  s.onStep?.(step, 1);
  const costs = new Map(Object.entries(cachedCosts));
  const fit = asInputError(
    () =>
      fitForTable(
        o.types.map((t) => {
          const measured = o.profile.types[t]?.latencyMsPerToken;
          return { unitSumMs: unitSum(files[t]!, costs), measuredMs: measured as number };
        }),
      ),
    "the per-unit latency model",
  );
  return { criterion: o.criterion, batch, costs, files, fit };
}

/** The cost table with the per-unit model's latency column (see the module comment). */
export function unitLatencyTable(table: CostTable, model: UnitLatencyModel): CostTable {
  return asInputError(() => withUnitLatency(table, model), "the per-unit latency model");
}
