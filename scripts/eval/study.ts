// Issue 7: the paper's experiment on the models we have, and what the paper did not check.
//
//   npx vite-node scripts/eval/study.ts [--chunks 16] [--reps 5] [--passes 5] [--threads 1] [--quick]
//
// Writes docs/results.md, its figures under docs/results/ and the raw numbers in
// docs/results/study.json (with --quick: .cache/study/quick/ instead, so a smoke run never
// overwrites the published numbers). Everything is cached under .cache/study (git-ignored), so a
// rerun only measures what changed. `--help` lists the options.
import { createHash } from "node:crypto";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  FIXTURE_SHAPES,
  PAPER_WEIGHTINGS,
  allocate,
  assembleMix,
  bench,
  inspect,
  measureAccuracy,
  measureLatency,
  measureMemory,
  measureModel,
  keyFor,
  openSession,
  orderTypes,
  planSweep,
  profileModel,
  quantize,
  rankLayers,
  readCalibration,
  readEvalText,
  scoreLayers,
  sweep,
  toMethodProfile,
  writeRandomModel,
  type AccuracySettings,
  type CalibrationSet,
  type EstimatorName,
  type GgmlType,
  type LatencySettings,
  type LayerName,
  type MeasuredModel,
  type Profile,
  type PlanResult,
  type ScoresFile,
  type Session,
  type Weighting,
} from "../../lib/all.js";
import { estimates, frontSectionOnly, writeStudy, type Study } from "./study-doc.js";
import { FRONT_GRANULARITIES, FRONT_PRESETS, runFrontStage, type FrontStudy } from "./study-front.js";
import { prng } from "../shared/prng.js";
import { STUDY_ESTIMATORS, type DebianResult, type LatencySample, type ModelRecord, type RealisticResult, type VariantRun } from "./study-types.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const started = Date.now();

// ---------------------------------------------------------------------------------------------
// options

const { values: flags } = parseArgs({
  options: {
    chunks: { type: "string" },
    ctx: { type: "string" },
    reps: { type: "string" },
    passes: { type: "string" },
    threads: { type: "string" },
    "quant-threads": { type: "string" },
    "n-gen": { type: "string" },
    "n-prompt": { type: "string" },
    "calib-paragraphs": { type: "string" },
    ablation: { type: "string" },
    "ablation-random": { type: "string" },
    "skip-debian": { type: "boolean" },
    "skip-realistic": { type: "boolean" },
    "skip-presets": { type: "boolean" },
    "skip-front": { type: "boolean" },
    "front-only": { type: "boolean" },
    "front-chunks": { type: "string" },
    "probe-chunks": { type: "string" },
    "front-presets": { type: "string" },
    "front-sides": { type: "string" },
    "front-granularities": { type: "string" },
    "front-hv": { type: "string" },
    "front-paper-ppl": { type: "boolean" },
    "front-rounds": { type: "string" },
    "front-imatrix-granularities": { type: "string" },
    "llama-blocks": { type: "string" },
    "qwen-blocks": { type: "string" },
    "realistic-chunks": { type: "string" },
    "skip-realistic-sweep": { type: "boolean" },
    "cache-dir": { type: "string" },
    "shared-dir": { type: "string" },
    out: { type: "string" },
    quick: { type: "boolean" },
    help: { type: "boolean" },
  },
  strict: true,
});

if (flags.help) {
  console.log(`usage: npx vite-node scripts/eval/study.ts [options]
  --chunks N            perplexity/KLD chunks of wiki.test.raw for debian-prose-11m (default 40, as the
                        reference perplexities in ../shared/README.md; --quick 8)
  --ctx N               perplexity chunk size, tokens (default 256, the model's context)
  --reps N              latency repetitions per measurement, llama-bench -r (default 5; --quick 2)
  --passes N            latency passes over every model, ≥ 2 (default 5; --quick 2)
  --threads N           threads for inference (default 1: on a shared 2-core VM one thread is faster and steadier)
  --quant-threads N     threads for quantization (default 2)
  --n-gen N --n-prompt N   latency test sizes (default 128, 128)
  --calib-paragraphs N  WikiText-2 validation paragraphs for the similarity capture (default 64)
  --ablation N          distributions for the ranking ablation (default 3; 0 skips)
  --ablation-random N   random rankings per distribution (default 1)
  --skip-debian --skip-realistic --skip-presets --skip-front
  --front-only          run only the front stage (issue 15) and merge it into the existing study.json
                        beside --out, replacing that document's front section; nothing else is re-measured
  --front-chunks N      KLD chunks of wiki.test.raw for the front stage (default 100; --quick 2)
  --probe-chunks N      calibration chunks per probe for the front's Δ tables (default 8; --quick 1)
  --front-presets A,B   presets matched (default ${FRONT_PRESETS.join(",")})
  --front-sides S       plain,imatrix (default both)
  --front-granularities G   sublayer,tensor (default both)   --front-hv G (default tensor)
  --front-rounds N      interleaved latency rounds in the front stage (default 6: a 95% interval for the median; --quick 2)
  --front-imatrix-granularities G   those of the imatrix side (default: --front-granularities)
  --front-paper-ppl     also the paper method planning with perplexity (the CLI's column) at matched bytes
  --llama-blocks N      blocks of the Llama-3.2-1B-like fixture (default 2; the real model has 16)
  --qwen-blocks N       blocks of the Qwen3-0.6B-like fixture (default 28, all; --quick 2)
  --realistic-chunks N  KLD chunks (ctx 256) for the random-weight models (default 2)
  --skip-realistic-sweep   no short sweep (7 weightings, KLD as accuracy) on the random-weight models
  --cache-dir DIR       (default .cache/study)   --shared-dir DIR (default ../shared)
  --out FILE            (default docs/results.md; --quick: .cache/study/quick/results.md)
  --quick               a smoke run: small sizes, written under .cache/study/quick/`);
  process.exit(0);
}

function int(name: string, fallback: number, min = 0): number {
  const v = flags[name as keyof typeof flags];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || n < min) throw new Error(`--${name}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function list(name: string, fallback: readonly string[], allowed?: readonly string[]): string[] {
  const v = flags[name as keyof typeof flags];
  if (v === undefined) return [...fallback];
  const items = String(v).split(",").filter((x) => x !== "");
  for (const x of items) if (allowed && !allowed.includes(x)) throw new Error(`--${name}: ${JSON.stringify(x)} is not one of ${allowed.join(", ")}`);
  return items;
}

const quick = flags.quick ?? false;
const settings = {
  quick,
  chunks: int("chunks", quick ? 8 : 40, 1),
  ctx: int("ctx", 256, 16),
  reps: int("reps", quick ? 2 : 5, 1),
  passes: int("passes", quick ? 2 : 5, 2),
  threads: int("threads", 1, 0),
  quantThreads: int("quant-threads", 2, 0),
  nGen: int("n-gen", 128, 1),
  nPrompt: int("n-prompt", 128, 0),
  calibParagraphs: int("calib-paragraphs", quick ? 16 : 64, 1),
  ablation: int("ablation", quick ? 1 : 3, 0),
  ablationRandom: int("ablation-random", 1, 0),
  llamaBlocks: int("llama-blocks", quick ? 1 : 2, 1),
  qwenBlocks: int("qwen-blocks", quick ? 2 : FIXTURE_SHAPES["qwen3-0.6b"].nLayer, 1),
  realisticChunks: int("realistic-chunks", 2, 1),
  realisticSweep: !(flags["skip-realistic-sweep"] ?? false),
  realistic: !(flags["skip-realistic"] ?? false),
  debian: !(flags["skip-debian"] ?? false),
  presets: !(flags["skip-presets"] ?? false),
  realisticLatency: { nGen: 32, nPrompt: 128, reps: quick ? 2 : 3 },
  front: !(flags["skip-front"] ?? false),
  frontOnly: flags["front-only"] ?? false,
  frontChunks: int("front-chunks", quick ? 2 : 100, 1),
  probeChunks: int("probe-chunks", quick ? 1 : 8, 1),
  frontRounds: int("front-rounds", quick ? 2 : 6, 2),
  frontPresets: list("front-presets", FRONT_PRESETS),
  frontSides: list("front-sides", ["plain", "imatrix"], ["plain", "imatrix"]),
  frontGranularities: list("front-granularities", FRONT_GRANULARITIES, FRONT_GRANULARITIES),
  frontHv: list("front-hv", ["tensor"], FRONT_GRANULARITIES),
};
const cacheDir = path.resolve(root, flags["cache-dir"] ?? ".cache/study");
const sharedDir = path.resolve(root, flags["shared-dir"] ?? "../shared");
const outFile = path.resolve(root, flags.out ?? (quick ? path.join(cacheDir, "quick", "results.md") : "docs/results.md"));
const figDir = path.join(path.dirname(outFile), "results");
const workDir = path.join(cacheDir, quick ? "work-quick" : "work");

const TYPES: readonly GgmlType[] = orderTypes(["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]);
const PRESETS = ["Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M"] as const;
const REALISTIC_WEIGHTINGS = PAPER_WEIGHTINGS.filter((w) => w.category === "fairness" || w.id.endsWith("-0.8"));

// ---------------------------------------------------------------------------------------------
// logging and timing

const stages: { name: string; seconds: number }[] = [];
function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(5);
  console.error(`[${t}s] ${message}`);
}
async function stage<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  log(`▶ ${name}`);
  try {
    return await f();
  } finally {
    const seconds = (Date.now() - t0) / 1000;
    stages.push({ name, seconds });
    log(`✔ ${name} (${seconds.toFixed(0)} s)`);
  }
}
let lastStep = "";
function onStep(step: string, fraction: number): void {
  if (fraction >= 1 && step !== lastStep) {
    lastStep = step;
    log(`  ${step}`);
  }
}

// ---------------------------------------------------------------------------------------------
// records: one per distinct measured file



const records = new Map<string, ModelRecord>();

async function record(s: Session, file: string, label: string, kind: ModelRecord["kind"], m: Partial<MeasuredModel>): Promise<ModelRecord> {
  const key = await s.cache.modelHash(file);
  const existing = records.get(key);
  if (existing) return existing;
  const mi = await inspect(file);
  const layerTensors = new Set(mi.layers.flatMap((l) => l.tensors));
  const layerBytes = mi.layers.reduce((a, l) => a + l.bytes, 0);
  const layerParams = mi.layers.reduce((a, l) => a + l.parameters, 0);
  const nonLayer: Record<string, string> = {};
  const layerTypes: Record<string, number> = {};
  for (const t of mi.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (layerTensors.has(t.name)) {
      if (t.quantizable) layerTypes[t.type] = (layerTypes[t.type] ?? 0) + n;
    } else if (t.name === "token_embd.weight" || t.name === "output.weight") nonLayer[t.name.replace(".weight", "")] = t.type;
  }
  const rec: ModelRecord = {
    key,
    label,
    kind,
    file,
    memoryBytes: m.memoryBytes ?? mi.tensors.reduce((a, t) => a + t.bytes, 0),
    layerBytes,
    layerParams,
    bpw: (8 * layerBytes) / layerParams,
    nonLayer,
    layerTypes,
    latency: [],
    ...(m.perplexity !== undefined ? { perplexity: m.perplexity, perplexityStderr: m.perplexityStderr!, evalTokens: m.evalTokens! } : {}),
    ...(m.kld !== undefined ? { kld: m.kld } : {}),
  };
  if (m.latencyMsPerToken !== undefined) {
    rec.latency.push({ msPerToken: m.latencyMsPerToken, sd: m.latencyMsPerTokenSd ?? 0, promptTokensPerSecond: m.promptTokensPerSecond ?? null });
  }
  records.set(key, rec);
  return rec;
}

/** Latency pass k ≥ 2 of a file: a fresh bench() run, cached per pass so reruns are incremental. */
async function latencyPass(s: Session, rec: ModelRecord, pass: number, o: LatencySettings): Promise<LatencySample> {
  // tg only: pp is reported from pass 1, and the hypervolume uses tg alone
  const settings = { pass, nGen: o.nGen, nPrompt: 0, reps: o.reps, threads: o.threads ?? 0 };
  const key = keyFor(s, "measurement", "study-latency-pass", settings, { device: true, modelSha256: rec.key });
  const entry = await s.cache.getOrCreate(
    key,
    async (dir) => {
      const load = os.loadavg()[0];
      const r = await bench({ model: rec.file, nGen: o.nGen, nPrompt: 0, reps: o.reps, threads: o.threads ?? 0 });
      const sample: LatencySample = {
        msPerToken: r.tg!.msPerToken.mean,
        sd: r.tg!.msPerToken.sd,
        promptTokensPerSecond: r.pp ? r.pp.tokensPerSecond.mean : null,
        loadAverage: load,
      };
      await fs.writeFile(path.join(dir, "result.json"), JSON.stringify(sample));
    },
    { description: `study latency pass ${pass} of ${rec.label}` },
  );
  return JSON.parse(await fs.readFile(path.join(entry.dir, "result.json"), "utf8")) as LatencySample;
}

/** Latency passes 2..P for every record (model order rotated each pass, so no model always runs first). */
async function latencyPasses(s: Session, recs: readonly ModelRecord[], o: LatencySettings): Promise<void> {
  for (let pass = 2; pass <= settings.passes; pass++) {
    const order = recs.map((_, i) => recs[(i + pass * 7) % recs.length]!);
    for (const rec of order) {
      while (rec.latency.length < pass - 1) throw new Error(`${rec.label} lacks latency pass ${rec.latency.length + 1}`);
      if (rec.latency.length >= pass) continue;
      rec.latency.push(await latencyPass(s, rec, pass, o));
    }
    log(`  latency pass ${pass}/${settings.passes} done`);
  }
}

// ---------------------------------------------------------------------------------------------
// method helpers

/** The method profile with `perplexity` replaced by the mean KL divergence (the KLD variant). */
function kldProfile(p: Profile, uniform: ReadonlyMap<GgmlType, ModelRecord>): Profile {
  const types: Partial<Record<GgmlType, Profile["types"][GgmlType]>> = {};
  for (const [type, entry] of Object.entries(p.types) as [GgmlType, NonNullable<Profile["types"][GgmlType]>][]) {
    const kld = uniform.get(type)?.kld?.mean;
    if (kld === undefined || !(kld > 0)) throw new Error(`no positive KLD for uniform ${type}`);
    types[type] = { ...entry, perplexity: kld };
  }
  return { ...p, types };
}


function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rnd = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}


/** Plans every weighting under `profile`, assembles each distinct allocation once and measures it. */
async function planAndMeasure(
  s: Session,
  name: VariantRun["name"],
  profile: Profile,
  scores: ScoresFile,
  files: ReadonlyMap<GgmlType, string>,
  weightings: readonly Weighting[],
  outDir: string,
  measure: { latency: LatencySettings; accuracy: AccuracySettings },
  known?: { plans: readonly PlanResult[]; files: readonly string[]; measured: readonly MeasuredModel[] },
): Promise<VariantRun> {
  // apreqel's default estimator plans; the others are planned only to count where they would differ
  const plans = known?.plans ?? planSweep({ profile, scores, weightings: weightings.map((w) => w.weights), types: TYPES });
  const estimator = plans[0]!.estimator;
  const differs = Object.fromEntries(
    STUDY_ESTIMATORS.map((e) => {
      const other = planSweep({ profile, scores, weightings: weightings.map((w) => w.weights), types: TYPES, estimator: e });
      return [e, plans.filter((p, i) => JSON.stringify(p.distribution) !== JSON.stringify(other[i]!.distribution)).length];
    }),
  ) as Record<EstimatorName, number>;
  if (!known) await fs.mkdir(outDir, { recursive: true });
  const byAllocation = new Map<string, string>();
  const models: string[] = [];
  const est: Record<string, Record<EstimatorName, { memoryBytes: number; latencyMsPerToken: number; perplexity: number }>> = {};
  for (let i = 0; i < weightings.length; i++) {
    const w = weightings[i]!;
    const p = plans[i]!;
    const allocationKey = JSON.stringify(p.allocation);
    let key = byAllocation.get(allocationKey);
    if (key === undefined) {
      let file: string;
      let m: MeasuredModel;
      if (known) {
        file = known.files[i]!;
        m = known.measured[i]!;
      } else {
        file = path.join(outDir, `${w.id}.gguf`);
        await assembleMix(s, files, p.allocation, file, { weights: p.weights, distribution: p.distribution, nonLayerType: "q8_0", weighting: w.id });
        m = await measureModel(s, file, `${name} ${w.id}`, measure);
      }
      const rec = await record(s, file, w.id, "mixed", m);
      rec.allocation ??= p.allocation;
      rec.distribution ??= p.distribution;
      key = rec.key;
      byAllocation.set(allocationKey, key);
      est[key] = estimates(profile, TYPES, scores, p.distribution);
    }
    models.push(key);
  }
  return { name, weightings, plans, models, profile, estimator, differs, estimates: est };
}

// ---------------------------------------------------------------------------------------------
// texts

async function calibrationFromValidation(file: string, paragraphs: number): Promise<CalibrationSet> {
  // WikiText paragraphs are lines between " \n" separators; headings (" = Title = ") are skipped.
  const lines = readFileSync(file, "utf8").split("\n").map((l) => l.trim());
  const picked = lines.filter((l) => l.length >= 200 && !l.startsWith("=")).slice(0, paragraphs);
  const out = path.join(cacheDir, `calibration-valid-${paragraphs}.json`);
  await fs.mkdir(cacheDir, { recursive: true });
  await fs.writeFile(out, JSON.stringify(picked));
  return readCalibration(out);
}

// ---------------------------------------------------------------------------------------------
// debian-prose-11m


async function debian(evalFile: string, validFile: string): Promise<DebianResult> {
  const dir = path.join(sharedDir, "models", "debian-prose-11m");
  const f32 = path.join(dir, "debian-prose-llama-11M-F32.gguf");
  const f16 = path.join(dir, "debian-prose-llama-11M-F16.gguf");
  const s = await openSession({ model: f32, cacheDir, onStep });
  const evalText = await readEvalText(evalFile);
  const calibration = await calibrationFromValidation(validFile, settings.calibParagraphs);
  const latency: LatencySettings = { nGen: settings.nGen, nPrompt: settings.nPrompt, reps: settings.reps, threads: settings.threads };
  const accuracy: AccuracySettings = { evalText, nCtx: settings.ctx, chunks: settings.chunks, kld: true, threads: settings.threads };
  const score = { calibration, nCtx: settings.ctx, threads: settings.threads };
  const measure = { latency, accuracy };

  const r = await stage("debian-prose-11m: sweep (uniform set, capture, 28 weightings, presets)", () =>
    sweep(s, {
      // the paper's study: its method (the library's default is the front)
      method: "paper",
      types: TYPES,
      outDir: path.join(workDir, "debian", "mixed-perplexity"),
      latency,
      accuracy,
      score,
      threads: settings.quantThreads,
      ...(settings.presets ? { presets: [...PRESETS] } : {}),
    }),
  );
  const { profile, files } = await profileModel(s, { types: TYPES, latency, accuracy, threads: settings.quantThreads });
  const { scores, tokens } = await scoreLayers(s, score);
  const uniformKeys: Record<string, string> = {};
  const uniformRecs = new Map<GgmlType, ModelRecord>();
  for (const t of TYPES) {
    const rec = await record(s, files.get(t)!, t, "uniform", r.uniform[t]!);
    uniformKeys[t] = rec.key;
    uniformRecs.set(t, rec);
  }
  const reference = await stage("debian-prose-11m: F16 reference", async () =>
    record(s, f16, "F16", "reference", await measureModel(s, f16, "F16", measure)),
  );
  const presetKeys: Record<string, string> = {};
  for (const [preset, m] of Object.entries(r.presets)) {
    // sweep() keeps preset files in the cache under a key of its own; find the file by label
    const entry = (await s.cache.list()).find(
      (e) =>
        e.manifest.inputs.kind === "uniform" &&
        e.manifest.inputs.type === preset &&
        e.manifest.inputs.modelSha256 === s.sha256 &&
        JSON.stringify(e.manifest.inputs.settings) === JSON.stringify({ preset: true }),
    );
    if (!entry) throw new Error(`cannot find the cached ${preset} file`);
    presetKeys[preset] = (await record(s, path.join(entry.dir, "model.gguf"), preset, "preset", m)).key;
  }
  // The presets again with q8_0 embeddings and output head: the same non-layer bytes as every
  // uniform and mixed file, so the comparison is about the layers alone.
  const presetQ8Keys: Record<string, string> = {};
  if (settings.presets) {
    await stage("debian-prose-11m: presets with q8_0 embeddings/output", async () => {
      for (const preset of PRESETS) {
        const entry = await s.cache.getOrCreate(
          keyFor(s, "uniform", preset, { preset: true, nonLayerType: "q8_0" }),
          async (dir) => {
            await quantize({ input: s.model, output: path.join(dir, "model.gguf"), preset, tokenEmbeddingType: "q8_0", outputType: "q8_0", threads: settings.quantThreads });
          },
          { description: `${path.basename(s.model)} quantized with llama.cpp's ${preset} preset, q8_0 embeddings and output` },
        );
        const file = path.join(entry.dir, "model.gguf");
        const label = `${preset}/q8_0`;
        presetQ8Keys[preset] = (await record(s, file, label, "preset", await measureModel(s, file, label, measure))).key;
      }
    });
  }
  const methodProfile = toMethodProfile(profile, TYPES);
  const pplVariant = await planAndMeasure(s, "perplexity", methodProfile, scores, files, PAPER_WEIGHTINGS, "", measure, {
    plans: r.models.map((m) => {
      if (m.method !== "paper") throw new Error("the study's sweep runs the paper's method");
      return m.plan;
    }),
    files: r.models.map((m) => m.file),
    measured: r.models.map((m) => m.measured),
  });
  const kldVariant = await stage("debian-prose-11m: KLD variant (plan with KLD as accuracy, assemble, measure)", () =>
    planAndMeasure(s, "kld", kldProfile(methodProfile, uniformRecs), scores, files, PAPER_WEIGHTINGS, path.join(workDir, "debian", "mixed-kld"), measure),
  );

  // ranking ablation: the same distribution under the cosine ranking, its reverse and random ones
  const ranking = rankLayers(scores.layers);
  const ablation: DebianResult["ablation"][number][] = [];
  if (settings.ablation > 0) {
    await stage("debian-prose-11m: ranking ablation", async () => {
      const bitsOf = (t: string) => ({ q8_0: 8.5, q6_K: 6.5625, q5_K: 5.5, q4_K: 4.5, q3_K: 3.4375 })[t] ?? 0;
      const candidates = new Map<string, { distribution: Readonly<Partial<Record<GgmlType, number>>>; from: string; key: string }>();
      for (const v of [pplVariant, kldVariant]) {
        v.plans.forEach((p, i) => {
          const used = TYPES.filter((t) => (p.distribution[t] ?? 0) > 0);
          const d = JSON.stringify(p.distribution);
          if (used.length >= 2 && !candidates.has(d)) candidates.set(d, { distribution: p.distribution, from: `${v.name}: ${v.weightings[i]!.id}`, key: v.models[i]! });
        });
      }
      const spread = (d: Readonly<Partial<Record<GgmlType, number>>>) => {
        const used = TYPES.filter((t) => (d[t] ?? 0) > 0).map(bitsOf);
        return Math.max(...used) - Math.min(...used);
      };
      const chosen = [...candidates.values()].sort((a, b) => spread(b.distribution) - spread(a.distribution)).slice(0, settings.ablation);
      const abDir = path.join(workDir, "debian", "ablation");
      await fs.mkdir(abDir, { recursive: true });
      for (const [n, c] of chosen.entries()) {
        const rows = [{ ranking: "cosine (the method)", key: c.key }];
        const alternatives: [string, LayerName[]][] = [["reverse of cosine", [...ranking].reverse()]];
        for (let k = 1; k <= settings.ablationRandom; k++) alternatives.push([`random (seed ${k})`, shuffled(ranking, 1000 + k)]);
        for (const [label, order] of alternatives) {
          const allocation = allocate(order, c.distribution);
          const file = path.join(abDir, `d${n}-${label.replace(/[^a-z0-9]+/gi, "-")}.gguf`);
          await assembleMix(s, files, allocation, file, { weights: { memory: 1 / 3, latency: 1 / 3, accuracy: 1 / 3 }, distribution: c.distribution, nonLayerType: "q8_0", weighting: `ablation-${label}` });
          const m = await measureAccuracy(s, file, `ablation ${label}`, accuracy);
          const rec = await record(s, file, `ablation d${n} ${label}`, "ablation", { ...(await measureMemory(file)), ...m });
          rec.allocation ??= allocation;
          rec.distribution ??= c.distribution;
          rows.push({ ranking: label, key: rec.key });
        }
        ablation.push({ distribution: c.distribution, from: c.from, rows });
      }
    });
  }

  await stage(`debian-prose-11m: latency passes 2..${settings.passes}`, () =>
    latencyPasses(s, [...records.values()].filter((x) => x.kind !== "ablation" && x.latency.length > 0), latency),
  );
  if (settings.front) frontResult = await frontStage(s, evalText, calibration);
  return {
    model: { f32, f16, sha256: s.sha256, blocks: s.info.blockCount, layers: s.info.layers.length, parameters: s.info.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0) },
    calibration: { paragraphs: calibration.prompts.length, tokens },
    evalTokens: uniformRecs.get("q8_0")!.evalTokens ?? 0,
    uniform: uniformKeys,
    reference: reference.key,
    presets: presetKeys,
    presetsQ8: presetQ8Keys,
    variants: [pplVariant, kldVariant],
    scores,
    ranking,
    ablation,
    latencySettings: latency,
  };
}

// ---------------------------------------------------------------------------------------------
// the front (issue 15): matched bytes against the presets, hypervolume, estimate vs measured

let frontResult: FrontStudy | null = null;

function frontSettings() {
  return {
    chunks: settings.frontChunks,
    ctx: settings.ctx,
    threads: settings.threads,
    quantThreads: settings.quantThreads,
    probeChunks: settings.probeChunks,
    // the interleaved protocol (lib/method/latency-protocol.ts): 6 rounds give a 95% interval for the median
    latency: { nGen: settings.nGen, nPrompt: 0, reps: settings.frontRounds, threads: settings.threads },
    presets: settings.frontPresets,
    imatrix: settings.frontSides.map((x) => x === "imatrix"),
    granularities: settings.frontGranularities as FrontStudy["settings"]["granularities"],
    hvGranularities: settings.frontHv as FrontStudy["settings"]["granularities"],
    ...(flags["front-imatrix-granularities"] !== undefined ? { imatrixGranularities: list("front-imatrix-granularities", [], FRONT_GRANULARITIES) as FrontStudy["settings"]["granularities"] } : {}),
    paperPerplexity: flags["front-paper-ppl"] ?? false,
  };
}

async function frontStage(s: Session, evalText: AccuracySettings["evalText"], calibration: CalibrationSet): Promise<FrontStudy> {
  return stage("debian-prose-11m: the front at matched bytes, its hypervolume (issue 15)", () =>
    runFrontStage(s, { settings: frontSettings(), calibration, evalText, workDir: path.join(workDir, "debian"), log }),
  );
}

// ---------------------------------------------------------------------------------------------
// random-weight models of real shapes


async function realistic(evalFile: string, validFile: string | null): Promise<RealisticResult[]> {
  const evalText = await readEvalText(evalFile);
  const shapes = [
    {
      id: settings.qwenBlocks === FIXTURE_SHAPES["qwen3-0.6b"].nLayer ? "qwen3-0.6b-like" : `qwen3-0.6b-like-${settings.qwenBlocks}blk`,
      description: `Qwen3-0.6B's block shape (n_embd 1024, n_ff 3072, 16/8 heads) with ${settings.qwenBlocks === 28 ? "all 28" : `${settings.qwenBlocks} of its 28`} blocks, llama architecture, 32k SentencePiece vocab (the real model has 152k and tied embeddings)`,
      shape: { ...FIXTURE_SHAPES["qwen3-0.6b"], nLayer: settings.qwenBlocks },
    },
    {
      id: `llama-3.2-1b-like-${settings.llamaBlocks}blk`,
      description: `Llama-3.2-1B's block shape (n_embd 2048, n_ff 8192, 32/8 heads) with ${settings.llamaBlocks} of its 16 blocks, 32k SentencePiece vocab (the real model has 128k)`,
      shape: { ...FIXTURE_SHAPES["llama-3.2-1b"], nLayer: settings.llamaBlocks },
    },
  ];
  const latency: LatencySettings = { ...settings.realisticLatency, threads: settings.threads };
  const accuracy: AccuracySettings = { evalText, nCtx: 256, chunks: settings.realisticChunks, kld: true, threads: settings.threads };
  const out: RealisticResult[] = [];
  for (const sh of shapes) {
    const t0 = Date.now();
    const f16 = path.join(cacheDir, "fixtures", `${sh.id}-f16.gguf`);
    await fs.mkdir(path.dirname(f16), { recursive: true });
    if (!existsSync(f16)) await stage(`${sh.id}: write random F16 model`, () => writeRandomModel({ output: f16, ...sh.shape, type: "f16", seed: 1 }));
    const s = await openSession({ model: f16, cacheDir, onStep });
    const { profile, files } = await stage(`${sh.id}: uniform set (quantize, memory, latency, KLD)`, () =>
      profileModel(s, { types: TYPES, latency, accuracy, threads: settings.quantThreads }),
    );
    const uniform: Record<string, string> = {};
    const uniformRecs = new Map<GgmlType, ModelRecord>();
    for (const t of TYPES) {
      const rec = await record(s, files.get(t)!, `${sh.id} ${t}`, "uniform", profile.types[t] as unknown as MeasuredModel);
      uniform[t] = rec.key;
      uniformRecs.set(t, rec);
    }
    const ref = await record(s, f16, `${sh.id} F16`, "reference", { ...(await measureMemory(f16)), ...(await measureLatency(s, f16, "F16", latency)) });
    uniform["f16"] = ref.key;
    let sweepResult: RealisticResult["sweep"];
    if (settings.realisticSweep && validFile) {
      sweepResult = await stage(`${sh.id}: short sweep (${REALISTIC_WEIGHTINGS.length} weightings, KLD as accuracy)`, async () => {
        const calibration = await calibrationFromValidation(validFile, 8);
        const { scores, tokens } = await scoreLayers(s, { calibration, nCtx: 128, threads: settings.threads });
        const variant = await planAndMeasure(s, "kld", kldProfile(toMethodProfile(profile, TYPES), uniformRecs), scores, files, REALISTIC_WEIGHTINGS, path.join(workDir, sh.id), {
          latency,
          accuracy,
        });
        return { variant, calibrationTokens: tokens };
      });
    }
    await stage(`${sh.id}: latency passes 2..${settings.passes}`, () =>
      latencyPasses(s, [...new Set([...Object.values(uniform), ...(sweepResult?.variant.models ?? [])])].map((k) => records.get(k)!), latency),
    );
    const parameters = s.info.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    out.push({
      id: sh.id,
      description: sh.description,
      shape: sh.shape,
      parameters,
      layerParameters: s.info.layers.reduce((a, l) => a + l.parameters, 0),
      f16,
      uniform,
      ...(sweepResult ? { sweep: sweepResult } : {}),
      seconds: (Date.now() - t0) / 1000,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// main

const evalFile = path.join(sharedDir, "data", "wikitext-2-raw", "wiki.test.raw");
const validFile = path.join(sharedDir, "data", "wikitext-2-raw", "wiki.valid.raw");
const haveShared = existsSync(evalFile) && existsSync(validFile) && existsSync(path.join(sharedDir, "models", "debian-prose-11m", "debian-prose-llama-11M-F32.gguf"));
const loadStart = os.loadavg();
log(`study: settings ${JSON.stringify(settings)}; cache ${cacheDir}; writing ${outFile}`);

if (settings.frontOnly) {
  // the front stage alone, merged into the published study.json and its section of the document
  if (!haveShared) throw new Error(`--front-only needs ${sharedDir} (models/debian-prose-11m and data/wikitext-2-raw)`);
  const jsonFile = path.join(figDir, "study.json");
  if (!existsSync(jsonFile)) throw new Error(`--front-only merges into ${jsonFile}, which does not exist: run the whole study first`);
  const s = await openSession({ model: path.join(sharedDir, "models", "debian-prose-11m", "debian-prose-llama-11M-F32.gguf"), cacheDir, onStep });
  const f = await frontStage(s, await readEvalText(evalFile), await calibrationFromValidation(validFile, settings.calibParagraphs));
  const command = `npx vite-node scripts/eval/study.ts${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}`;
  await frontSectionOnly(jsonFile, { ...f, command, date: new Date().toISOString(), loadStart, loadEnd: os.loadavg() }, { outFile, root });
  log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${path.relative(root, outFile)} (front section) and ${path.relative(root, jsonFile)} (front)`);
  process.exit(0);
}

let debianResult: DebianResult | null = null;
let skipped: string | null = null;
if (!settings.debian) skipped = "skipped by --skip-debian";
else if (!haveShared) skipped = `${sharedDir} (models/debian-prose-11m and data/wikitext-2-raw) is absent`;
if (skipped) log(`debian-prose-11m: ${skipped}`);
else debianResult = await debian(evalFile, validFile);

let realisticResults: RealisticResult[] = [];
let realisticSkipped: string | null = null;
if (!settings.realistic) realisticSkipped = "skipped by --skip-realistic";
else if (!existsSync(evalFile)) realisticSkipped = `${evalFile} is absent (the KLD text)`;
else realisticResults = await realistic(evalFile, existsSync(validFile) ? validFile : null);
if (realisticSkipped) log(`realistic shapes: ${realisticSkipped}`);

const study: Study = {
  command: `npx vite-node scripts/eval/study.ts${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}`,
  settings,
  types: TYPES,
  presets: [...PRESETS],
  weightings: PAPER_WEIGHTINGS,
  realisticWeightings: REALISTIC_WEIGHTINGS,
  machine: {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadStart,
    loadEnd: os.loadavg(),
    date: new Date().toISOString(),
    build: JSON.parse(readFileSync(path.join(root, "vendor", "llama.cpp.pin.json"), "utf8")) as Record<string, unknown>,
  },
  records: Object.fromEntries(records),
  debian: debianResult,
  // (assigned inside debian(): TypeScript's narrowing of the module variable does not see it)
  ...((frontResult as FrontStudy | null) ? { front: { ...(frontResult as unknown as FrontStudy), command: "", date: new Date().toISOString(), loadStart, loadEnd: os.loadavg() } } : {}),
  debianSkipped: skipped,
  realistic: realisticResults,
  realisticSkipped,
  stages,
  seconds: (Date.now() - started) / 1000,
};
// the first (cold-cache) time of every stage is kept, so a document written by an incremental
// rerun still says what the whole study costs
// (per settings: the slowest time seen for each stage is the cold-cache one)
const settingsId = createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 12);
const timesFile = path.join(cacheDir, `stage-times-${settingsId}.json`);
const firstTimes = existsSync(timesFile) ? (JSON.parse(readFileSync(timesFile, "utf8")) as Record<string, number>) : {};
for (const st of stages) if (!(st.name in firstTimes) || firstTimes[st.name]! < st.seconds) firstTimes[st.name] = st.seconds;
await fs.writeFile(timesFile, JSON.stringify(firstTimes, null, 1));
(study as { firstStageTimes?: Record<string, number> }).firstStageTimes = firstTimes;
await stage("write results", () => writeStudy(study, { outFile, figDir, root }));
log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${path.relative(root, outFile)}`);
