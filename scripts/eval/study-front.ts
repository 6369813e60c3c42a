// Issue 15 §5: the front stage of the study (study.ts runs it; study-doc.ts renders it with
// frontSection below). On the F32 model, at the study's evaluation settings:
// - matched bytes: every llama.cpp K-quant preset (as users get it, and re-made with q8_0 token
//   embeddings/output) beside the front's most accurate mix at ≤ its file bytes (sub-layer and
//   tensor granularity) and the paper method's (enumeration + TOPSIS, weights 0,0,1, a max-memory
//   limit that leaves room for the file's header), without and with an imatrix on both sides;
// - the front's chosen mixes for the 28 paper weightings, measured, and the hypervolume they add
//   to uniform ∪ presets (2-D memory × KLD and 3-D with latency);
// - estimate vs measured for those mixes.
// Everything goes through the library (modelFront, paretoFront, chooseOnFront, assembleFrontMix,
// planSweep, assembleMix, measureAccuracy, measureLatencies); this file only arranges and records.
import { promises as fs } from "node:fs";
import path from "node:path";
import {
  PAPER_WEIGHTINGS,
  assembleMix,
  inspect,
  measureAccuracy,
  measureLatencies,
  modelFront,
  planSweep,
  quantize,
  toMethodProfile,
  type AccuracySettings,
  type CalibrationSet,
  type GgmlType,
  type LatencySettings,
  type Profile,
  type Session,
} from "../../lib/all.js";
import { captureSimilarity } from "../../lib/ops/capture.js";
import { chooseOnFront, type FrontChoice } from "../../lib/method/choose.js";
import { frontBounds, frontConstraints } from "../../lib/method/front-limits.js";
import { paretoFront } from "../../lib/method/front.js";
import { hypervolume } from "../../lib/method/hypervolume.js";
import { assembleFrontMix, metadataAllowance, type ModelFront } from "../../lib/pipeline/front.js";
import { calibrationText } from "../../lib/pipeline/sensitivity.js";
import { hashFile } from "../../lib/cache/index.js";
import { keyFor } from "../../lib/pipeline/session.js";
import type { UniformOptions } from "../../lib/pipeline/uniform.js";
import type { Granularity } from "../../lib/gguf/units.js";

/** The presets matched (issue 15: Q3_K_S … Q5_K_M). */
export const FRONT_PRESETS = ["Q3_K_S", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M"] as const;
/** The study's types plus q2_K, so the front reaches below Q3_K_S's bytes. */
export const FRONT_TYPES: readonly GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K", "q2_K"];
export const FRONT_GRANULARITIES: readonly Granularity[] = ["sublayer", "tensor"];
const ACCURACY_ONLY = { memory: 0, latency: 0, accuracy: 1 } as const;

export interface FrontStageSettings {
  readonly chunks: number;
  readonly ctx: number;
  readonly threads: number;
  readonly quantThreads: number;
  /** calibration chunks of ctx tokens per probe (the Δ tables) */
  readonly probeChunks: number;
  /** latency of the uniform files (the front's latency column) and of the hypervolume set, interleaved */
  readonly latency: LatencySettings;
  readonly presets: readonly string[];
  /** without and/or with an imatrix */
  readonly imatrix: readonly boolean[];
  readonly granularities: readonly Granularity[];
  /** the granularities of the imatrix side (default: the same) */
  readonly imatrixGranularities?: readonly Granularity[];
  /** granularities whose 28 weighting choices are measured for the hypervolume (no-imatrix side) */
  readonly hvGranularities: readonly Granularity[];
  /** also the paper method with perplexity as its accuracy column (what the CLI plans with); each costs one more measured file per preset unless its mix is the KLD column's */
  readonly paperPerplexity: boolean;
}

/** One measured file. */
export interface FrontMeasured {
  readonly label: string;
  readonly file: string;
  readonly fileBytes: number;
  readonly perplexity: number;
  readonly perplexityStderr: number;
  readonly kld: { readonly mean: number; readonly stderr: number; readonly sameTopPercent: number };
  /** token_embd / output types */
  readonly nonLayer: Readonly<Record<string, string>>;
}

export interface MixRow extends FrontMeasured {
  /** what the method estimated (file bytes, latency, KLD on the calibration text) */
  readonly estimate: { readonly sizeBytes: number; readonly latencyMsPerToken: number; readonly kld: number };
  /** units (front) or layers (paper) per type */
  readonly distribution: Readonly<Partial<Record<GgmlType, number>>>;
}

export type MixOutcome = MixRow | { readonly error: string };

export interface MatchedRow {
  readonly preset: string;
  readonly embeddings: "own" | "q8_0";
  readonly presetFile: FrontMeasured;
  readonly front: Readonly<Record<string, MixOutcome>>;
  /** the paper method's mix at ≤ the same bytes: KLD as its accuracy column, and perplexity (the CLI's) */
  readonly paperKld: MixOutcome;
  readonly paperPerplexity: MixOutcome | null;
}

export interface FrontInfo {
  readonly units: number;
  readonly points: number;
  readonly toleranceBytes: number;
  readonly costs: string;
  readonly seconds: number;
}

export interface FrontSide {
  readonly imatrix: { readonly tokens: number; readonly sha256: string } | null;
  readonly uniform: Readonly<Record<string, FrontMeasured & { readonly latencyMsPerToken: number }>>;
  readonly fronts: Readonly<Record<string, FrontInfo>>;
  readonly matched: readonly MatchedRow[];
}

export interface HvMix extends MixRow {
  readonly weightings: readonly string[];
  readonly latency: { readonly median: number; readonly low: number; readonly high: number };
}

export interface FrontStudy {
  readonly settings: FrontStageSettings;
  readonly types: readonly GgmlType[];
  readonly calibration: { readonly paragraphs: number; readonly sha256: string };
  readonly sides: readonly FrontSide[];
  /** granularity → the distinct chosen mixes of the 28 weightings, measured */
  readonly hv: Readonly<Record<string, readonly HvMix[]>>;
  /** label → interleaved latency (median, interval) of the uniform files and presets in the hypervolume run */
  readonly hvLatency: Readonly<Record<string, { readonly median: number; readonly low: number; readonly high: number }>>;
  readonly seconds: number;
}

type Log = (message: string) => void;

async function measured(s: Session, file: string, label: string, accuracy: AccuracySettings): Promise<FrontMeasured> {
  const a = await measureAccuracy(s, file, label, accuracy);
  const info = await inspect(file);
  const nonLayer: Record<string, string> = {};
  for (const t of info.tensors) if (t.name === "token_embd.weight" || t.name === "output.weight") nonLayer[t.name.replace(".weight", "")] = t.type;
  return { label, file, fileBytes: info.fileSize, perplexity: a.perplexity, perplexityStderr: a.perplexityStderr, kld: a.kld!, nonLayer };
}

/** llama-imatrix's statistics over the calibration text (wiki.valid only), cached. */
async function imatrixFor(s: Session, calibration: CalibrationSet, nCtx: number, threads: number): Promise<{ path: string; sha256: string; tokens: number }> {
  const entry = await s.cache.getOrCreate(
    keyFor(s, "measurement", "imatrix", { calibrationSha256: calibration.sha256, nCtx, chunked: true }),
    async (dir) => {
      const r = await captureSimilarity({ model: s.model, texts: [calibrationText(calibration)], nCtx, threads, similarity: false, chunked: true, imatrix: path.join(dir, "imatrix.gguf"), dataset: "wiki.valid.raw" });
      await fs.writeFile(path.join(dir, "meta.json"), JSON.stringify({ tokens: r.tokens }));
    },
    { description: `imatrix of ${path.basename(s.model)} over the calibration text` },
  );
  const file = path.join(entry.dir, "imatrix.gguf");
  const meta = JSON.parse(await fs.readFile(path.join(entry.dir, "meta.json"), "utf8")) as { tokens: number };
  return { path: file, sha256: await hashFile(file), tokens: meta.tokens };
}

/** A preset file (cached): as users get it, or with q8_0 embeddings and output; with the imatrix when given. */
async function presetFile(s: Session, preset: string, q8: boolean, uniform: UniformOptions, threads: number): Promise<string> {
  // the same keys as sweep() and study.ts use without an imatrix, so the study's cache is shared
  const settings = { preset: true, ...(q8 ? { nonLayerType: "q8_0" } : {}), ...(uniform.imatrix ? { imatrixSha256: uniform.imatrix.sha256 } : {}) };
  const entry = await s.cache.getOrCreate(
    keyFor(s, "uniform", preset, settings),
    async (dir) => {
      await quantize({
        input: s.model,
        output: path.join(dir, "model.gguf"),
        preset,
        ...(q8 ? { tokenEmbeddingType: "q8_0", outputType: "q8_0" } : {}),
        ...(uniform.imatrix ? { imatrix: uniform.imatrix.path } : {}),
        threads,
      });
    },
    { description: `${path.basename(s.model)} quantized with llama.cpp's ${preset} preset${q8 ? ", q8_0 embeddings and output" : ""}${uniform.imatrix ? ", with an imatrix" : ""}` },
  );
  return path.join(entry.dir, "model.gguf");
}

function estimateOf(c: FrontChoice): MixRow["estimate"] {
  return { sizeBytes: c.estimate.sizeBytes, latencyMsPerToken: c.estimate.latencyMsPerToken, kld: c.estimate.kld };
}

/** The front's most accurate mix at ≤ `bytes` (file bytes), assembled and measured. */
async function frontAt(s: Session, m: ModelFront, bytes: number, file: string, label: string, accuracy: AccuracySettings): Promise<MixOutcome> {
  try {
    const limits = { targetSizeBytes: bytes };
    // the DP grid spent inside the target, as quantizeFront does
    const front = paretoFront(m.costs.table, { bounds: frontBounds(limits) });
    const choice = chooseOnFront(front, { weights: ACCURACY_ONLY, constraints: frontConstraints(limits, m.costs.accuracy) });
    await assembleFrontMix(s, { ...m, front }, choice, file, { weighting: "matched-bytes" });
    const r = await measured(s, file, label, accuracy);
    if (r.fileBytes > bytes) throw new Error(`the front's mix has ${r.fileBytes} bytes, more than the target ${bytes}`);
    return { ...r, estimate: estimateOf(choice), distribution: choice.distribution };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0]!.slice(0, 300) };
  }
}

/**
 * The paper method's most accurate mix at ≤ `bytes` file bytes: its enumeration and TOPSIS with
 * accuracy-only weights (0, 0, 1) under a max-memory limit (the profile's memory is tensor bytes:
 * the limit is the target less the uniform file's header and the mix's own metadata allowance),
 * allocated by Algorithm 1 and assembled with q8_0 embeddings/output (the paper's files).
 */
async function paperAt(
  s: Session,
  p: { readonly profile: Profile; readonly scores: ModelFront["scores"]; readonly files: ReadonlyMap<GgmlType, string>; readonly headerBytes: number; readonly alignment: number },
  bytes: number,
  file: string,
  label: string,
  accuracy: AccuracySettings,
): Promise<MixOutcome> {
  try {
    let limit = bytes - p.headerBytes - metadataAllowance(s.info.layers.map((l) => l.name), FRONT_TYPES, p.alignment);
    for (let attempt = 0; attempt < 3; attempt++) {
      // the paper's method: cosine scores and the `sensitivity` estimator (scores carrying a Δ
      // table would make planSweep's default the measured estimator: not the paper's)
      const [plan] = planSweep({ profile: p.profile, scores: p.scores, estimator: "sensitivity", weightings: [ACCURACY_ONLY], types: FRONT_TYPES, constraints: { maxMemoryBytes: limit } });
      await assembleMix(s, p.files, plan!.allocation, file, { weights: plan!.weights, distribution: plan!.distribution, nonLayerType: "q8_0", weighting: "matched-bytes" });
      const size = (await fs.stat(file)).size;
      if (size > bytes) {
        limit -= size - bytes;
        await fs.rm(file);
        continue;
      }
      const r = await measured(s, file, label, accuracy);
      return {
        ...r,
        estimate: { sizeBytes: plan!.estimate.memoryBytes + p.headerBytes, latencyMsPerToken: plan!.estimate.latencyMsPerToken, kld: plan!.estimate.perplexity },
        distribution: plan!.distribution,
      };
    }
    throw new Error(`no paper mix at ≤ ${bytes} bytes after 3 tries`);
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0]!.slice(0, 300) };
  }
}

/** The method profile with the uniform KLD mean in the accuracy column (the study's KLD variant). */
function kldColumn(p: Profile, uniform: Readonly<Record<string, FrontMeasured>>): Profile {
  const types: Partial<Record<GgmlType, Profile["types"][GgmlType]>> = {};
  for (const [type, entry] of Object.entries(p.types) as [GgmlType, NonNullable<Profile["types"][GgmlType]>][]) {
    types[type] = { ...entry, perplexity: uniform[type]!.kld.mean };
  }
  return { ...p, types };
}

export async function runFrontStage(
  s: Session,
  o: { readonly settings: FrontStageSettings; readonly calibration: CalibrationSet; readonly evalText: AccuracySettings["evalText"]; readonly workDir: string; readonly log: Log },
): Promise<FrontStudy> {
  const started = Date.now();
  const S = o.settings;
  const accuracy: AccuracySettings = { evalText: o.evalText, nCtx: S.ctx, chunks: S.chunks, kld: true, threads: S.threads };
  const sides: FrontSide[] = [];
  const hv: Record<string, HvMix[]> = {};
  const hvLatency: Record<string, { median: number; low: number; high: number }> = {};
  for (const withImatrix of S.imatrix) {
    const tag = withImatrix ? "imatrix" : "plain";
    const dir = path.join(o.workDir, "front", tag);
    await fs.mkdir(dir, { recursive: true });
    const im = withImatrix ? await imatrixFor(s, o.calibration, S.ctx, S.threads) : null;
    if (im) o.log(`  imatrix: ${im.tokens} tokens of the calibration text`);
    const uniformOptions: UniformOptions = { nonLayerType: "q8_0", threads: S.quantThreads, ...(im ? { imatrix: { path: im.path, sha256: im.sha256 } } : {}) };
    const fronts: Record<string, FrontInfo> = {};
    const models: Record<string, ModelFront> = {};
    const granularities = (withImatrix ? S.imatrixGranularities : undefined) ?? S.granularities;
    for (const granularity of granularities) {
      const t0 = Date.now();
      const m = await modelFront(s, {
        types: FRONT_TYPES,
        latency: S.latency,
        accuracy,
        ...uniformOptions,
        score: { calibration: o.calibration, nCtx: S.ctx, threads: S.threads, measure: { kind: "measured", granularity, types: FRONT_TYPES, uniform: uniformOptions, chunks: S.probeChunks } },
      });
      models[granularity] = m;
      fronts[granularity] = { units: m.front.table.units, points: m.front.points.length, toleranceBytes: m.front.tolerance.sizeBytes, costs: m.costs.source, seconds: (Date.now() - t0) / 1000 };
      o.log(`  ${tag} ${granularity}: front of ${m.front.points.length} mixes over ${m.front.table.units} units (${fronts[granularity]!.seconds.toFixed(0)} s with the probes)`);
    }
    const any = models[granularities[0]!]!;
    const uniform: Record<string, FrontMeasured & { latencyMsPerToken: number }> = {};
    for (const t of FRONT_TYPES) {
      uniform[t] = { ...(await measured(s, any.files.get(t)!, `${t}${im ? " (imatrix)" : ""}`, accuracy)), latencyMsPerToken: any.profile.types[t]!.latencyMsPerToken! };
    }
    const reference = await inspect(any.files.get(FRONT_TYPES[0]!)!);
    const { sensitivity: _table, ...cosineScores } = any.scores;
    const paperInput = {
      scores: cosineScores,
      files: any.files,
      headerBytes: reference.fileSize - reference.tensors.reduce((a, t) => a + t.bytes, 0),
      alignment: reference.alignment,
    };
    const methodProfile = toMethodProfile(any.profile, FRONT_TYPES);
    const matched: MatchedRow[] = [];
    for (const preset of S.presets) {
      for (const q8 of [false, true]) {
        const name = `${preset}${q8 ? "-q8" : ""}`;
        const pf = await presetFile(s, preset, q8, uniformOptions, S.quantThreads);
        const pm = await measured(s, pf, `${preset}${q8 ? "/q8_0" : ""}${im ? " (imatrix)" : ""}`, accuracy);
        const front: Record<string, MixOutcome> = {};
        for (const g of granularities) front[g] = await frontAt(s, models[g]!, pm.fileBytes, path.join(dir, `front-${g}-at-${name}.gguf`), `front ${g} at ${name}`, accuracy);
        const paperKld = await paperAt(s, { ...paperInput, profile: kldColumn(methodProfile, uniform) }, pm.fileBytes, path.join(dir, `paper-at-${name}.gguf`), `paper (KLD) at ${name}`, accuracy);
        const paperPerplexity = !S.paperPerplexity ? null : await paperAt(s, { ...paperInput, profile: methodProfile }, pm.fileBytes, path.join(dir, `paper-ppl-col-at-${name}.gguf`), `paper (PPL) at ${name}`, accuracy);
        matched.push({ preset, embeddings: q8 ? "q8_0" : "own", presetFile: pm, front, paperKld, paperPerplexity });
        const r = (x: MixOutcome) => ("error" in x ? "—" : (x.kld.mean / pm.kld.mean).toFixed(2));
        o.log(`  ${tag} ${name}: KLD ${pm.kld.mean.toFixed(5)}; front/preset ${granularities.map((g) => `${g} ${r(front[g]!)}`).join(", ")}; paper/preset ${r(paperKld)} (KLD col)${paperPerplexity ? `, ${r(paperPerplexity)} (PPL col)` : ""}`);
      }
    }
    sides.push({ imatrix: im ? { tokens: im.tokens, sha256: im.sha256 } : null, uniform, fronts, matched });

    if (withImatrix || S.hvGranularities.length === 0) continue;
    // the hypervolume set: the 28 weightings chosen on each granularity's front (no imatrix)
    const hvFiles: { file: string; label: string }[] = [
      ...FRONT_TYPES.map((t) => ({ file: any.files.get(t)!, label: t })),
      ...matched.map((r) => ({ file: r.presetFile.file, label: r.presetFile.label })),
    ];
    const pending: { g: string; mix: Omit<HvMix, "latency"> }[] = [];
    for (const g of S.hvGranularities) {
      const m = models[g]!;
      const byMix = new Map<string, { choice: FrontChoice; ids: string[] }>();
      for (const w of PAPER_WEIGHTINGS) {
        const choice = chooseOnFront(m.front, { weights: w.weights });
        const k = JSON.stringify(choice.assignment);
        const seen = byMix.get(k);
        if (seen) seen.ids.push(w.id);
        else byMix.set(k, { choice, ids: [w.id] });
      }
      o.log(`  hypervolume set, ${g}: ${byMix.size} distinct mixes for ${PAPER_WEIGHTINGS.length} weightings`);
      let n = 0;
      for (const { choice, ids } of byMix.values()) {
        const file = path.join(dir, `hv-${g}-${n++}.gguf`);
        await assembleFrontMix(s, m, choice, file, { weighting: ids[0]! });
        const r = await measured(s, file, `front ${g} ${ids[0]}`, accuracy);
        pending.push({ g, mix: { ...r, estimate: estimateOf(choice), distribution: choice.distribution, weightings: ids } });
        hvFiles.push({ file, label: r.label });
      }
    }
    o.log(`  latency of ${hvFiles.length} files, interleaved (${S.latency.reps} rounds)`);
    const lat = await measureLatencies(s, hvFiles, S.latency);
    const latOf = (i: number) => {
      const l = lat[i]!;
      return { median: l.latencyMsPerToken, low: l.latencyInterval?.low ?? l.latencyMsPerToken, high: l.latencyInterval?.high ?? l.latencyMsPerToken };
    };
    const base = hvFiles.length - pending.length;
    for (let i = 0; i < base; i++) hvLatency[hvFiles[i]!.label] = latOf(i);
    pending.forEach((p, j) => (hv[p.g] ??= []).push({ ...p.mix, latency: latOf(base + j) }));
  }
  return {
    settings: S,
    types: FRONT_TYPES,
    calibration: { paragraphs: o.calibration.prompts.length, sha256: o.calibration.sha256 },
    sides,
    hv,
    hvLatency,
    seconds: (Date.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// hypervolume (pure, from the recorded numbers)

type P = readonly number[];
/** Volume of `points` normalised by the uniform set's min and max (reference: its worst value, 1 per axis), as the study's other tables. */
function normalisedVolume(uniform: readonly P[], points: readonly P[]): number {
  const d = uniform[0]!.length;
  const lo = Array.from({ length: d }, (_, k) => Math.min(...uniform.map((p) => p[k]!)));
  const hi = Array.from({ length: d }, (_, k) => Math.max(...uniform.map((p) => p[k]!)));
  return hypervolume(points.map((p) => p.map((x, k) => (x - lo[k]!) / (hi[k]! - lo[k]!))), Array(d).fill(1));
}

export interface FrontHv {
  readonly dims: 2 | 3;
  readonly uniformTypes: readonly string[];
  readonly base: number;
  readonly all: number;
  /** (HV(uniform ∪ presets ∪ mixes) − HV(uniform ∪ presets)) / HV(uniform ∪ presets) */
  readonly added: number;
}

/** What the chosen mixes add to uniform ∪ presets (both embeddings variants), memory = file bytes. */
export function frontHypervolume(f: FrontStudy, granularity: string, dims: 2 | 3, uniformTypes: readonly string[]): FrontHv {
  const side = f.sides.find((x) => x.imatrix === null)!;
  const pt = (r: FrontMeasured, latency: number): P => (dims === 2 ? [r.fileBytes, r.kld.mean] : [r.fileBytes, latency, r.kld.mean]);
  const uniform = uniformTypes.map((t) => pt(side.uniform[t]!, f.hvLatency[side.uniform[t]!.label]!.median));
  const presets = side.matched.map((r) => pt(r.presetFile, f.hvLatency[r.presetFile.label]!.median));
  const mixes = (f.hv[granularity] ?? []).map((m) => pt(m, m.latency.median));
  const base = normalisedVolume(uniform, [...uniform, ...presets]);
  const all = normalisedVolume(uniform, [...uniform, ...presets, ...mixes]);
  return { dims, uniformTypes, base, all, added: (all - base) / base };
}
