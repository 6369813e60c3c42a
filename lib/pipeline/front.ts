/**
 * `--method front`: the uniform files and their profile (cached, as for the paper's method) →
 * a per-unit cost table → the Pareto front (lib/method/front.ts) → one mix chosen on it under
 * the user's weights and limits (lib/method/choose.ts) → a per-tensor assignment assembled from
 * the cached uniform files. The paper's method (adaptive.ts) is untouched.
 *
 * The cost table: when scores.json carries a measured Δ table (`--sensitivity measured`), its
 * units (sub-layers or tensors) with Δ KLD per type, exact bytes per unit and type from the
 * uniform files' headers, and each unit's parameter share of the uniform latency (as the
 * `weighted` estimator splits it). Otherwise today's estimators as a sub-layer table
 * (costTableFromProfile), whose accuracy column is then the profile's perplexity, not KLD.
 * Latency is the criterion's (decode or prefill, latency-criterion.ts); with `latencyModel: "unit"`
 * the latency column is the per-unit model measured on this device (unit-latency.ts) instead of
 * the parameter-share split.
 */
import { requireOutputPath } from "../core/files.js";
import { runInputs } from "./output-inputs.js";
import type { AssembleResult } from "../ops/assemble.js";
import { inspect } from "../ops/inspect.js";
import type { CostTable } from "../method/cost-table.js";
import { frontBounds, frontConstraints, type AccuracyColumn, type FrontLimits } from "../method/front-limits.js";
import { chooseOnFront, type FrontChoice } from "../method/choose.js";
import { paretoFront, type Front, type FrontOptions } from "../method/front.js";
import { costTableFromProfile } from "../method/profile-costs.js";
import type { ScoresFile } from "../method/scores.js";
import type { GgmlType } from "../method/types.js";
import type { Weights } from "../method/weights.js";
import { assembleTensors } from "./mixed.js";
import { profileOrGiven, type ProfileOptions } from "./profile.js";
import type { SourceModel } from "./source.js";
import { measureOutcome, type MixOutcome } from "./outcome.js";
import { toMethodProfile, type ProfileFile } from "./profile-file.js";
import { DEFAULT_SCORE_CTX, scoreLayers, type ScoreOptions } from "./scores.js";
import { verifyChoice, type VerifiedChoice } from "./verify.js";
import { requireContext, settingsContextUse, type Session } from "./session.js";
import { DEFAULT_NON_LAYER_TYPE, uniformModels, type UniformOptions } from "./uniform.js";
import { planUnits } from "../gguf/units.js";
import { costTableFromMeasured } from "../method/measured-costs.js";
import { describeSensitivity, type SensitivityTable } from "../method/sensitivity.js";
import { asInputError, InputError } from "../core/errors.js";
import type { LatencyFit } from "../method/latency-model.js";
import type { LatencyCriterion } from "./latency-criterion.js";
import { unitLatencyModel, unitLatencyTable, type LatencyModelName } from "./unit-latency.js";


/** A cost table and where it came from. */
export interface UnitCosts {
  readonly table: CostTable;
  readonly accuracy: AccuracyColumn;
  /** "profile" (today's estimators per sub-layer) or the measured table's granularity */
  readonly source: "profile" | "measured sublayer" | "measured tensor";
  /** type → a file whose non-layer tensors have that type (tensor units outside the blocks) */
  readonly nonLayerFiles: ReadonlyMap<GgmlType, string>;
}

/**
 * The per-unit cost table of a model whose uniform files and profile exist (see the module comment).
 * Every unit carries its tensor names (for the assignment and the recipe).
 */
export async function unitCosts(
  s: Session,
  o: { readonly profile: ProfileFile; readonly scores: ScoresFile; readonly types: readonly GgmlType[]; readonly files: ReadonlyMap<GgmlType, string>; readonly uniform?: UniformOptions },
): Promise<UnitCosts> {
  const sensitivity = o.scores.sensitivity;
  // the proxy ranks but gives no KLD: only a measured table replaces today's estimators, or a
  // planned one (a probe budget of 0 plans on the proxy alone and says so in its note)
  if (sensitivity !== undefined && (sensitivity.kind === "measured" || sensitivity.probes !== undefined)) return measuredCosts(s, { ...o, sensitivity });
  const table = costTableFromProfile({ profile: toMethodProfile(o.profile, o.types), scores: o.scores, types: o.types });
  const tensorsOf = new Map(s.info.layers.map((l) => [l.name as string, l.tensors]));
  // exact file bytes: the header and metadata outside the tensors count too (profile bytes are tensor bytes)
  const reference = await inspect(o.files.get(table.types[0]!)!);
  const headerBytes = reference.fileSize - reference.tensors.reduce((a, t) => a + t.bytes, 0);
  return {
    table: {
      ...table,
      units: table.units.map((u) => ({ ...u, tensors: tensorsOf.get(u.name) ?? [] })),
      fixed: { ...table.fixed, bytes: table.fixed.bytes + Math.max(0, headerBytes) + metadataAllowance(table.units.map((u) => u.name), o.types, reference.alignment) },
    },
    accuracy: "perplexity",
    source: "profile",
    nonLayerFiles: new Map(),
  };
}

/**
 * The cost table of a measured Δ table: its units (planUnits at its granularity), exact bytes per
 * unit and type from the uniform files' headers (a unit outside the blocks from the file whose
 * non-layer tensors have that type, as the probe took it), the parameter-share split of each
 * uniform model's latency.
 */
async function measuredCosts(
  s: Session,
  o: { readonly profile: ProfileFile; readonly sensitivity: SensitivityTable; readonly types: readonly GgmlType[]; readonly files: ReadonlyMap<GgmlType, string>; readonly uniform?: UniformOptions },
): Promise<UnitCosts> {
  const table = o.sensitivity;
  const units = planUnits(s.info.tensors, table.granularity).filter((u) => table.units.includes(u.name));
  const unitTensors = Object.fromEntries(units.map((u) => [u.name, u.tensors]));
  const outside = units.some((u) => u.block === null);
  const nonLayerFiles = new Map<GgmlType, string>();
  if (outside) {
    for (const t of o.types) nonLayerFiles.set(t, (await uniformModels(s, [o.types[0]!], { ...o.uniform, nonLayerType: t })).get(o.types[0]!)!);
  }
  const inBlocks = new Set(units.filter((u) => u.block !== null).flatMap((u) => u.tensors));
  const tensorBytes: Partial<Record<GgmlType, Record<string, number>>> = {};
  for (const t of o.types) {
    const sizes: Record<string, number> = {};
    for (const x of (await inspect(o.files.get(t)!)).tensors) if (inBlocks.has(x.name)) sizes[x.name] = x.bytes;
    if (outside) for (const x of (await inspect(nonLayerFiles.get(t)!)).tensors) if (!inBlocks.has(x.name)) sizes[x.name] = x.bytes;
    tensorBytes[t] = sizes;
  }
  const latencyMsPerToken = Object.fromEntries(o.types.map((t) => [t, o.profile.types[t]?.latencyMsPerToken]));
  const reference = await inspect(o.files.get(o.types[0]!)!);
  const planned = new Set(units.flatMap((u) => u.tensors));
  const fixedBytes = reference.fileSize - reference.tensors.filter((x) => planned.has(x.name)).reduce((a, x) => a + x.bytes, 0);
  const costs = asInputError(
    () =>
      costTableFromMeasured({
        sensitivity: table,
        types: o.types,
        unitTensors,
        tensorParams: Object.fromEntries(s.info.tensors.map((x) => [x.name, x.shape.reduce((a, b) => a * b, 1)])),
        tensorBytes,
        latencyMsPerToken: latencyMsPerToken as Partial<Record<GgmlType, number>>,
        fixedBytes: fixedBytes + metadataAllowance(units.map((u) => u.name), o.types, reference.alignment),
      }),
    "scores.sensitivity",
  );
  return { table: costs, accuracy: "kld", source: table.granularity === "tensor" ? "measured tensor" : "measured sublayer", nonLayerFiles };
}

/**
 * An upper bound on the bytes the mix's own metadata (apreqel.*, mixed.ts) adds to the uniform
 * file's header: the per-unit allocation JSON at the longest type name, 1 KiB for the other keys
 * (weights, distribution, version, hash), and one alignment's padding. With it a file's size is
 * never above its estimate, so a size target holds for the file written.
 */
export function metadataAllowance(units: readonly string[], types: readonly string[], alignment: number): number {
  const longest = Math.max(...types.map((t) => t.length));
  const allocation = 2 + units.reduce((a, name) => a + JSON.stringify(name).length + longest + 4, 0);
  return allocation + 1024 + alignment;
}

export interface FrontQuantizeOptions extends Omit<ProfileOptions, "only"> {
  readonly output: string;
  readonly weights: Weights;
  readonly weighting?: string;
  readonly limits?: FrontLimits;
  readonly score: ScoreOptions;
  /** measure the mixed model too (default true) */
  readonly measureResult?: boolean;
  /** a profile to use instead of profiling here (e.g. latency measured on the edge device) */
  readonly profile?: ProfileFile;
  /** the latency the front optimizes (default decode) */
  readonly latencyCriterion?: LatencyCriterion;
  /** the front's latency column: the parameter-share split of the uniform latency (default) or the per-unit model */
  readonly latencyModel?: LatencyModelName;
  /** with a KLD table: measure up to this many chosen mixes on the calibration chunks and re-plan on the corrected estimate (verify.ts; default 0) */
  readonly verify?: number;
}

/** How the front's latency column was made. */
export interface FrontLatency {
  readonly criterion: LatencyCriterion;
  readonly model: LatencyModelName;
  /** the per-unit model's fit (model "unit"): fixed part, scale, the uniform files' residuals */
  readonly fit?: LatencyFit;
}

/** The model's cost table and front, from the cached uniform files, profile and scores. */
export interface ModelFront {
  /** the profile, its latency the criterion's */
  readonly profile: ProfileFile;
  readonly scores: ScoresFile;
  readonly files: Map<GgmlType, string>;
  readonly costs: UnitCosts;
  readonly front: Front;
  readonly latency: FrontLatency;
  /** the source model, when `source` was asked of the profiling run (profile.ts) */
  readonly source?: SourceModel;
}

/** Profiles (cached), scores (cached) and builds the front, its grid spent inside `bounds`. */
export async function modelFront(s: Session, o: Omit<FrontQuantizeOptions, "output" | "weights">, bounds?: FrontOptions["bounds"]): Promise<ModelFront> {
  const { profile, files, source } = await profileOrGiven(s, o);
  const criterion = o.latencyCriterion ?? "decode";
  const { scores } = await scoreLayers(s, o.score);
  let costs = await unitCosts(s, { profile, scores, types: o.types, files, uniform: o });
  let latency: FrontLatency = { criterion, model: "share" };
  if (o.latencyModel === "unit") {
    const model = await unitLatencyModel(s, { files, profile, types: o.types, latency: o.latency, criterion });
    costs = { ...costs, table: unitLatencyTable(costs.table, model) };
    latency = { criterion, model: "unit", fit: model.fit };
  }
  s.onStep?.("front", 0);
  const front = paretoFront(costs.table, bounds ? { bounds } : {});
  s.onStep?.("front", 1);
  return { profile, scores, files, costs, front, latency, ...(source ? { source } : {}) };
}

export interface FrontResult extends MixOutcome {
  readonly model: ModelFront;
  readonly choice: FrontChoice;
  /** tensor name → type */
  readonly tensorTypes: Readonly<Record<string, GgmlType>>;
  readonly output: AssembleResult;
  readonly nonLayerType: string;
  /** the verify step's measurements and corrected estimate, when it ran */
  readonly verified?: VerifiedChoice;
}

/** Type per tensor of a mix given per unit. */
export function tensorTypesOf(table: CostTable, assignment: Readonly<Record<string, GgmlType>>): Record<string, GgmlType> {
  const out: Record<string, GgmlType> = {};
  for (const unit of table.units) {
    const type = assignment[unit.name];
    if (type === undefined) throw new Error(`the mix has no type for ${unit.name}`);
    for (const t of unit.tensors ?? []) out[t] = type;
  }
  return out;
}

/** Assembles one front mix into `output` from the cached uniform files. */
export async function assembleFrontMix(s: Session, m: ModelFront, choice: FrontChoice, output: string, o: { readonly weighting?: string; readonly nonLayerType?: string }): Promise<{ output: AssembleResult; tensorTypes: Record<string, GgmlType> }> {
  const tensorTypes = tensorTypesOf(m.costs.table, choice.assignment);
  const r = await assembleTensors(
    s,
    m.files,
    tensorTypes,
    output,
    {
      weights: choice.weights,
      distribution: choice.distribution,
      nonLayerType: o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE,
      allocation: choice.assignment,
      ...(o.weighting ? { weighting: o.weighting } : {}),
      ...(m.scores.sensitivity?.probes ? { sensitivity: describeSensitivity(m.scores.sensitivity) } : {}),
    },
    m.costs.nonLayerFiles,
  );
  return { output: r, tensorTypes };
}

/** `quantize --method front`: the front, one choice on it, assembled and (by default) measured. */
export async function quantizeFront(s: Session, o: FrontQuantizeOptions): Promise<FrontResult> {
  requireContext(s, settingsContextUse(o));
  await requireOutputPath(o.output, "output", runInputs(s.model, o));
  // a planned table spends its probes where the choice at the user's target size depends on them
  const target = o.limits?.targetSizeBytes;
  const score = target !== undefined && o.score.measure?.budget !== undefined && o.score.measure.sizes === undefined ? { ...o.score, measure: { ...o.score.measure, sizes: [target] } } : o.score;
  const m = await modelFront(s, { ...o, score, source: true }, frontBounds(o.limits ?? {}));
  const constraints = frontConstraints(o.limits ?? {}, m.costs.accuracy);
  const rule = (front: Front) => chooseOnFront(front, { weights: o.weights, constraints });
  const verified =
    (o.verify ?? 0) > 0 && m.costs.accuracy === "kld" && m.scores.sensitivity?.kind === "measured"
      ? await verifyChoice(s, { table: m.costs.table, front: m.front, assemble: (c, file) => assembleFrontMix(s, m, c, file, o) }, rule, {
          calibration: o.score.calibration,
          nCtx: o.score.nCtx ?? DEFAULT_SCORE_CTX,
          ...(o.score.measure?.chunks !== undefined ? { chunks: o.score.measure.chunks } : {}),
          ...(o.score.threads !== undefined ? { threads: o.score.threads } : {}),
          rounds: o.verify!,
          ...(frontBounds(o.limits ?? {}) ? { bounds: frontBounds(o.limits ?? {}) } : {}),
        })
      : undefined;
  const choice = verified?.choice ?? rule(m.front);
  const { output, tensorTypes } = await assembleFrontMix(s, m, choice, o.output, o);
  const outcome = await measureOutcome(s, output.output, { ...o, profile: m.profile, profiled: m.source });
  return { model: m, choice, tensorTypes, output, nonLayerType: o.nonLayerType ?? DEFAULT_NON_LAYER_TYPE, ...(verified ? { verified } : {}), ...outcome };
}
