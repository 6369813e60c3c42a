/**
 * Options of the commands that run the pipeline (quantize, profile, score, sweep, eval, demo):
 * one table, one usage text, one parser, so every command spells and validates them alike.
 */
import { hashFile } from "../cache/cache.js";
import os from "node:os";
import { requireInputFile, type InputRef, type OutputClaim } from "../core/files.js";
import type { AccuracySettings, LatencySettings } from "../pipeline/measure-file.js";
import { type Session, type SessionOptions, type StepReporter } from "../pipeline/session.js";
import { runOnModel } from "../pipeline/runner.js";
import { requireEvalTokens, requireProbeTokens } from "../pipeline/preflight.js";
import { readCalibration, readEvalText, BUILTIN_EVAL_NOTE } from "../pipeline/texts.js";
import type { UniformOptions } from "../pipeline/uniform.js";
import type { ModelInfo } from "../ops/inspect.js";
import type { JobOptions } from "../core/job-options.js";
import type { ScoreOptions } from "../pipeline/scores.js";
import { CRITERION_UNIT, LATENCY_CRITERIA, type LatencyCriterion } from "../pipeline/latency-criterion.js";
import type { LatencyModelName } from "../pipeline/unit-latency.js";
import { quantizeTypes, requireGgmlType } from "../ops/ggml-types.js";
import { buildInfo } from "../ops/build-info.js";
import { invalidOption, unknownName } from "../core/errors.js";
import type { Granularity } from "../gguf/units.js";
import type { GgmlType } from "../method/types.js";
import { accuracyFor, DEFAULTS, readModelFacts, resolveRunSettings, sensitivityFor, type MethodName, type ModelFacts, type RunSettingsOptions, type SensitivityChoice, type SettingsOptions } from "../pipeline/settings.js";
import { parsePositiveNumber } from "./options.js";
import type { CommandContext } from "./args.js";
import type { RunEta } from "./eta.js";
import { estimateRemainingMs, formatDuration, progressMode, startProgress, type StepProgress } from "./progress.js";
import { OptionError } from "../core/errors.js";
import { nameIgnoringCase, parseInteger } from "../core/validate.js";
import { DEFAULT_PROBE_BUDGET, describeProbeBudget, parseProbeBudget, type ProbeBudget } from "../method/probe-plan.js";

export const PIPELINE_OPTIONS = {
  calibration: { type: "string" },
  "eval-text": { type: "string" },
  imatrix: { type: "string" },
  "no-imatrix": { type: "boolean" },
  "non-layer-type": { type: "string" },
  "gpu-layers": { type: "string" },
  threads: { type: "string" },
  "cache-dir": { type: "string" },
  ctx: { type: "string" },
  chunks: { type: "string" },
  "n-gen": { type: "string" },
  "n-prompt": { type: "string" },
  reps: { type: "string" },
  latency: { type: "string" },
  "latency-model": { type: "string" },
  gamma: { type: "string" },
  kld: { type: "boolean" },
  json: { type: "boolean" },
  force: { type: "boolean" },
} as const;

/** Each usage entry with the options it describes (a command's --help lists only those it uses). */
const PIPELINE_USAGE_ENTRIES: readonly { readonly options: readonly PipelineOption[]; readonly text: string }[] = [
  { options: ["calibration"], text: `  --calibration FILE    calibration prompts (JSON array, or paragraphs separated by blank lines);
                        default: the built-in set of 72 prompts` },
  { options: ["eval-text"], text: `  --eval-text FILE      text perplexity is measured on; default: a small built-in text (indicative only)` },
  { options: ["imatrix", "no-imatrix"], text: `  --imatrix FILE        importance matrix (GGUF, llama-imatrix's or \`apreqel imatrix\`'s) for the
                        uniform files; default: the one the calibration pass collects (cached)
  --no-imatrix          quantize without an importance matrix (as the paper did)` },
  { options: ["non-layer-type"], text: `  --non-layer-type T    type of token embeddings and output head in every file (default ${DEFAULTS.nonLayerType})` },
  { options: ["gpu-layers"], text: `  -ngl, --gpu-layers N  layers to offload to the GPU (CUDA builds; -1 = all)` },
  { options: ["threads"], text: `  -t, --threads N       CPU threads (default: all cores)` },
  { options: ["cache-dir"], text: `  --cache-dir DIR       cache of uniform files and measurements (default $APREQEL_CACHE_DIR,
                        $XDG_CACHE_HOME/apreqel or ~/.cache/apreqel)` },
  { options: ["ctx"], text: `  -c, --ctx N           perplexity chunk and calibration window, tokens (default ${DEFAULTS.nCtx}, or the
                        model's context when shorter)` },
  { options: ["chunks"], text: `  --chunks N            perplexity chunks to evaluate (default: all)` },
  { options: ["n-gen", "n-prompt", "reps"], text: `  --n-gen N, --n-prompt N, --reps N
                        latency test: generated tokens (${DEFAULTS.latency.nGen}), prompt tokens (${DEFAULTS.latency.nPrompt}; quantize times
                        none for a decode plan), interleaved rounds (${DEFAULTS.latency.reps})` },
  { options: ["latency", "latency-model"], text: `  --latency L           the latency plans and fronts optimize: decode (ms per generated token, as
                        the paper measures; the default) | prefill (ms per prompt token)
  --latency-model M     --method front's latency column: share (each unit's parameter share of the
                        uniform files' latency; the default) | unit (each unit's matmuls timed on
                        this device, fixed part and scale fitted on the uniform files; docs/method.md)` },
  { options: ["gamma"], text: `  --gamma G             layer-score threshold γ (default ${DEFAULTS.gamma})` },
  { options: ["kld"], text: `  --kld                 also measure KL divergence from the source model` },
  { options: ["json"], text: `  --json                print only the final JSON on stdout` },
  { options: ["force"], text: `  --force               replace an existing output file that apreqel did not write` },
];

export const PIPELINE_OPTIONS_USAGE = PIPELINE_USAGE_ENTRIES.map((e) => e.text).join("\n");

type PipelineOption = keyof typeof PIPELINE_OPTIONS;

/** The commands that take the pipeline options, and the options each has no use for. */
const UNUSED_OPTIONS = {
  quantize: [],
  sweep: ["latency-model"],
  profile: ["gamma", "latency", "latency-model"],
  score: ["eval-text", "chunks", "kld", "n-gen", "n-prompt", "reps", "non-layer-type", "latency", "latency-model"],
  eval: ["calibration", "gamma", "non-layer-type", "imatrix", "no-imatrix", "latency", "latency-model"],
} as const satisfies Record<string, readonly PipelineOption[]>;

export type PipelineCommand = keyof typeof UNUSED_OPTIONS;

/** The usage text of the pipeline options `command` uses. */
export function pipelineOptionsUsage(command: PipelineCommand): string {
  const unused: readonly string[] = UNUSED_OPTIONS[command];
  return PIPELINE_USAGE_ENTRIES.filter((e) => !e.options.every((o) => unused.includes(o))).map((e) => e.text).join("\n");
}

/**
 * Refuses an option the command would ignore (`score --kld`, `eval --gamma`): a silently ignored
 * option is a setting the user believes in and did not get.
 *
 * @example
 * rejectUnusedOptions("score", { kld: true }) // throws: --kld: score does not use this option (...)
 */
export function rejectUnusedOptions(command: PipelineCommand, values: Readonly<Record<string, unknown>>): void {
  const given = (UNUSED_OPTIONS[command] as readonly string[]).filter((o) => values[o] !== undefined);
  if (given.length === 0) return;
  const used = Object.keys(PIPELINE_OPTIONS).filter((o) => !(UNUSED_OPTIONS[command] as readonly string[]).includes(o));
  throw new OptionError(`--${given[0]}`, `${given.map((o) => `--${o}`).join(", ")}: ${command} does not use ${given.length > 1 ? "these options" : "this option"} (its pipeline options: ${used.map((o) => `--${o}`).join(", ")})`);
}

export interface PipelineValues {
  readonly calibration?: string | undefined;
  readonly "eval-text"?: string | undefined;
  readonly imatrix?: string | undefined;
  readonly "no-imatrix"?: boolean | undefined;
  readonly "non-layer-type"?: string | undefined;
  readonly "gpu-layers"?: string | undefined;
  readonly threads?: string | undefined;
  readonly "cache-dir"?: string | undefined;
  readonly ctx?: string | undefined;
  readonly chunks?: string | undefined;
  readonly "n-gen"?: string | undefined;
  readonly "n-prompt"?: string | undefined;
  readonly reps?: string | undefined;
  readonly latency?: string | undefined;
  readonly "latency-model"?: string | undefined;
  readonly gamma?: string | undefined;
  readonly kld?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly force?: boolean | undefined;
}

export interface PipelineSettings {
  readonly uniform: UniformOptions;
  readonly latency: LatencySettings;
  /** --latency: which latency plans, fronts and sweeps optimize (both are always measured) */
  readonly latencyCriterion: LatencyCriterion;
  /** --latency-model: the front's latency column */
  readonly latencyModel: LatencyModelName;
  readonly accuracy: AccuracySettings;
  readonly score: ScoreOptions;
  readonly cacheDir?: string;
  readonly json: boolean;
  /** --force: outputs may replace files apreqel did not write */
  readonly force: boolean;
  /** the files given as inputs (calibration, eval text, imatrix): no output may be one of them */
  readonly inputs: readonly InputRef[];
  /** caveats to print with the results (e.g. perplexity on the built-in text) */
  readonly notes: readonly string[];
  /** whether the command measures perplexity on the eval text (then withSession checks it is long enough) */
  readonly evalTextUsed: boolean;
  /** the command measures latency (--n-prompt, --n-gen): only then must they fit the model's context */
  readonly latencyUsed: boolean;
}

function int(text: string | undefined, option: string, fallback: number, min = 1): number {
  return text === undefined ? fallback : parseInteger(text, option, min);
}

/** Options of the commands that can measure sensitivity (score, quantize, sweep). */
export const SENSITIVITY_OPTIONS = {
  sensitivity: { type: "string" },
  granularity: { type: "string" },
  "probe-chunks": { type: "string" },
  "probe-budget": { type: "string" },
} as const;

export const SENSITIVITY_OPTIONS_USAGE = `  --sensitivity S       measured (each unit's Δ KLD measured by in-process probes over the
                        calibration text; the default with --method front) | cosine (the paper's
                        layer scores; the default with --method paper) | proxy (each unit's
                        imatrix-weighted squared quantization error: no forward pass; it ranks,
                        it does not give KLD)
  --granularity G       tensor (each weight alone, token embeddings and output head included; the
                        default with --method front) | sublayer (blk.N.attn / blk.N.ffn; the
                        default with --method paper); with --sensitivity measured or proxy
  --probe-chunks N      calibration chunks of --ctx tokens each probe runs (default ${DEFAULTS.probeChunks})
  --probe-budget B      what the probes may spend: a time (90s, 10m, 1h), forward-equivalent tokens
                        (500k, 2M), a share of the full table (25%), or all (every cell, no
                        prediction); probes go first where the choice depends on them, the other
                        cells are predicted from them and the proxy (scores.json says which);
                        0: the proxy alone. Default ${describeProbeBudget(DEFAULT_PROBE_BUDGET)}`;

export const DEFAULT_PROBE_CHUNKS = DEFAULTS.probeChunks;

/**
 * `--sensitivity`, `--granularity`, `--probe-chunks` → what scoreLayers measures (undefined: cosine
 * only), the defaults following the method the scores serve (pipeline/settings.ts, sensitivityFor).
 *
 * @example
 * sensitivitySettings({}, types, uniform, "paper")        // undefined: cosine scores only
 * sensitivitySettings({}, types, uniform, "front")?.kind  // "measured" (granularity "tensor")
 */
export function sensitivitySettings(
  v: { readonly sensitivity?: string | undefined; readonly granularity?: string | undefined; readonly "probe-chunks"?: string | undefined; readonly "probe-budget"?: string | undefined },
  types: readonly GgmlType[],
  uniform: UniformOptions,
  method: MethodName = "paper",
): ScoreOptions["measure"] {
  return sensitivityFor(sensitivityOptions(v), types, uniform, method);
}

/** The sensitivity flags in the settings' spelling (names checked there). */
export function sensitivityOptions(v: {
  readonly sensitivity?: string | undefined;
  readonly granularity?: string | undefined;
  readonly "probe-chunks"?: string | undefined;
  readonly "probe-budget"?: string | undefined;
}): Pick<SettingsOptions, "sensitivity" | "granularity" | "probeChunks" | "probeBudget"> {
  return {
    ...(v.sensitivity !== undefined ? { sensitivity: v.sensitivity as SensitivityChoice } : {}),
    ...(v.granularity !== undefined ? { granularity: v.granularity as Granularity } : {}),
    ...(v["probe-chunks"] !== undefined ? { probeChunks: parseInteger(v["probe-chunks"], "--probe-chunks", 1) } : {}),
    ...(v["probe-budget"] !== undefined ? { probeBudget: probeBudgetOption(v["probe-budget"]) } : {}),
  };
}

/**
 * `--probe-budget` → the measured table's budget (settings.ts applies the default when it is absent):
 * `all`, every cell, no prediction.
 *
 * @example
 * probeBudgetOption("10m") // { kind: "seconds", seconds: 600 }
 * probeBudgetOption("all") // "all"
 */
export function probeBudgetOption(text: string): ProbeBudget | "all" {
  if (text === "all") return "all";
  const budget = parseProbeBudget(text);
  if (budget === null) throw invalidOption("--probe-budget", "a time (90s, 10m, 1h), tokens (500k, 2M), a share (25%) or all", text);
  return budget;
}

/** What a measured Δ table needs, checked when the session opens: calibration text for two probe chunks. */
export function sensitivityChecks(settings: PipelineSettings, measure: ScoreOptions["measure"]): NonNullable<SessionOptions["checks"]> {
  if (measure?.kind !== "measured") return [];
  return [(model, _info, job) => requireProbeTokens(model, settings.score.calibration, settings.score.nCtx ?? DEFAULTS.nCtx, job)];
}

/**
 * The settings with a note when `--gpu-layers` cannot reach part of the run: the measured
 * sensitivity probes have no GPU path (native/probe.cpp swaps tensor bytes the CPU backend reads in
 * place), so they run on the CPU while the calibration pass, perplexities and latency runs offload.
 *
 * @example
 * withProbeNotes({ ...settings, latency: { ...settings.latency, gpuLayers: 99 } }, measure).notes.at(-1) // "the sensitivity probes ran on the CPU …"
 */
export function withProbeNotes<S extends Pick<PipelineSettings, "notes" | "latency">>(settings: S, measure: ScoreOptions["measure"]): S {
  if (measure?.kind !== "measured" || !settings.latency.gpuLayers) return settings;
  return { ...settings, notes: [...settings.notes, "the sensitivity probes ran on the CPU: they have no GPU path yet (--gpu-layers offloaded the calibration pass, the perplexities and the latency runs)"] };
}

/** The accuracy settings of a run (pipeline/settings.ts, accuracyFor: a measured front also measures KLD). */
export const accuracyForPlan = accuracyFor;

/**
 * `--latency` (default decode), for the pipeline commands and `plan`.
 *
 * @example
 * parseLatencyCriterion(undefined) // "decode"
 * parseLatencyCriterion("prefil")  // throws: unknown latency criterion "prefil" for option --latency; did you mean "prefill"?
 */
export function parseLatencyCriterion(text: string | undefined): LatencyCriterion {
  if (text === undefined) return DEFAULTS.latencyCriterion;
  if (!(LATENCY_CRITERIA as readonly string[]).includes(text)) throw unknownName("--latency", "latency criterion", text, LATENCY_CRITERIA);
  return text as LatencyCriterion;
}

/**
 * Validates the options and reads the texts (every check before any long work starts; the token
 * counts are checked against the model's context when withSession opens it, from its header).
 * The defaults and what follows from them are the settings module's (pipeline/settings.ts); with
 * `model`, a default window is at most its context (read from its header, if it can be read: a
 * file that cannot is reported when the session opens it).
 */
export async function pipelineSettings(v: PipelineValues, command: PipelineCommand, model?: string): Promise<PipelineSettings> {
  return (await parsePipelineOptions(v, command, model)).settings;
}

/** {@link pipelineSettings} with the options it resolved them from (the library's spelling of the flags). */
export async function parsePipelineOptions(v: PipelineValues, command: PipelineCommand, model?: string): Promise<{ readonly options: RunSettingsOptions; readonly facts: ModelFacts; readonly settings: PipelineSettings }> {
  rejectUnusedOptions(command, v as Readonly<Record<string, unknown>>);
  const cores = os.availableParallelism();
  let threads = int(v.threads, "--threads", DEFAULTS.threads, 0);
  // more threads than cores makes llama.cpp's spinning thread pool crawl (16 on 2 cores: 240×
  // slower) and a thousand of them ignore signals for minutes
  if (threads > cores && !v.force) {
    process.stderr.write(`apreqel: --threads ${threads} is more than the ${cores} cores available: using ${cores} (--force keeps ${threads})\n`);
    threads = cores;
  }
  const gpuLayers = int(v["gpu-layers"], "--gpu-layers", DEFAULTS.gpuLayers, -1);
  // refused before any long work; whether the weights fit is checked when each model is loaded
  if (gpuLayers !== 0 && !buildInfo().gpuOffload) {
    throw new OptionError("--gpu-layers", `--gpu-layers: this build of apreqel has no GPU backend (CPU only); leave it out, or build with CUDA (npx apreqel build --cuda)`);
  }
  const nCtx = v.ctx === undefined ? undefined : parseInteger(v.ctx, "--ctx", 8);
  const chunks = v.chunks === undefined ? undefined : parseInteger(v.chunks, "--chunks", 1);
  const gamma = v.gamma === undefined ? undefined : parsePositiveNumber(v.gamma, "--gamma");
  if (gamma !== undefined && gamma > 1) throw new OptionError("--gamma", `--gamma: expected a cosine threshold from 0 to 1 but received ${JSON.stringify(v.gamma)}`);
  const nonLayerType = v["non-layer-type"] === undefined ? undefined : requireGgmlType(nameIgnoringCase(v["non-layer-type"], quantizeTypes()) ?? v["non-layer-type"], "--non-layer-type", quantizeTypes());
  if (v.imatrix !== undefined && v["no-imatrix"]) throw new OptionError("--no-imatrix", "--imatrix FILE and --no-imatrix contradict each other; give one");
  const imatrixPath = v.imatrix === undefined ? undefined : await requireInputFile(v.imatrix, "--imatrix");
  // profile runs the calibration pass only for the importance matrix: without it, --calibration would be ignored
  if (command === "profile" && v.calibration !== undefined && (imatrixPath !== undefined || v["no-imatrix"])) {
    throw new OptionError("--calibration", `--calibration: profile uses the calibration text only to collect the importance matrix; with ${imatrixPath !== undefined ? "--imatrix FILE" : "--no-imatrix"} it is not used`);
  }
  const nGen = v["n-gen"] === undefined ? undefined : parseInteger(v["n-gen"], "--n-gen", 1);
  const nPrompt = v["n-prompt"] === undefined ? undefined : parseInteger(v["n-prompt"], "--n-prompt", 0);
  const reps = v.reps === undefined ? undefined : parseInteger(v.reps, "--reps", 1);
  const latencyCriterion = parseLatencyCriterion(v.latency);
  const latencyModel = v["latency-model"] as LatencyModelName | undefined;
  const [calibration, evalText] = await Promise.all([readCalibration(v.calibration), readEvalText(v["eval-text"])]);
  const options: RunSettingsOptions = {
    calibration,
    evalText,
    ...(imatrixPath !== undefined ? { imatrix: { path: imatrixPath, sha256: await hashFile(imatrixPath) } } : v["no-imatrix"] ? { imatrix: false } : {}),
    ...(nonLayerType !== undefined ? { nonLayerType } : {}),
    ...(nCtx !== undefined ? { nCtx } : {}),
    ...(chunks !== undefined ? { chunks } : {}),
    threads,
    gpuLayers,
    ...(nGen !== undefined ? { nGen } : {}),
    ...(nPrompt !== undefined ? { nPrompt } : {}),
    ...(reps !== undefined ? { reps } : {}),
    latencyCriterion,
    ...(latencyModel !== undefined ? { latencyModel } : {}),
    ...(gamma !== undefined ? { gamma } : {}),
    ...(v.kld !== undefined ? { kld: v.kld } : {}),
  };
  const facts = (nCtx === undefined || nPrompt === undefined) && model !== undefined ? await readModelFacts(model) : {};
  const run = await resolveRunSettings(options, facts);
  return {
    options,
    facts,
    settings: {
      uniform: run.uniform,
      latency: run.latency,
      latencyCriterion: run.latencyCriterion,
      latencyModel: run.latencyModel,
      accuracy: run.accuracy,
      score: run.score,
      ...(v["cache-dir"] !== undefined ? { cacheDir: v["cache-dir"] } : {}),
      json: v.json ?? false,
      force: v.force ?? false,
      inputs: [
        ...(v.calibration !== undefined ? [{ path: v.calibration, option: "--calibration" }] : []),
        ...(v["eval-text"] !== undefined ? [{ path: v["eval-text"], option: "--eval-text" }] : []),
        ...(imatrixPath !== undefined ? [{ path: imatrixPath, option: "--imatrix" }] : []),
      ],
      notes: [
        ...(evalText.source.kind === "builtin" ? [BUILTIN_EVAL_NOTE] : []),
        ...(latencyCriterion === "prefill" ? [`latency here is prefill: ${CRITERION_UNIT.prefill} (--latency prefill)`] : []),
        ...(nCtx === undefined && run.nCtx < DEFAULTS.nCtx ? [`windows of ${run.nCtx} tokens: the model's context (the default ${DEFAULTS.nCtx} is longer; --ctx sets it)`] : []),
        ...(nPrompt === undefined && run.latency.nPrompt < DEFAULTS.latency.nPrompt ? [`latency prompts of ${run.latency.nPrompt} tokens: the model's context (the default ${DEFAULTS.latency.nPrompt} is longer; --n-prompt sets it)`] : []),
      ],
      evalTextUsed: !(UNUSED_OPTIONS[command] as readonly string[]).includes("eval-text"),
      latencyUsed: !(UNUSED_OPTIONS[command] as readonly string[]).includes("n-prompt"),
    },
  };
}

/**
 * Runs a command's long work with a progress display on stderr (nothing with --json): the step
 * running when `work` rejects is shown as failed, the last one as done when it resolves.
 */
export async function withProgress<T>(json: boolean, work: (onStep: StepReporter, useEta: (eta: RunEta) => void) => Promise<T>, plannedSteps?: number): Promise<T> {
  const progress = stepProgress(json, plannedSteps);
  try {
    const result = await work(progress.onStep, progress.useEta);
    progress.finish();
    return result;
  } catch (e) {
    progress.fail();
    throw e;
  }
}

/** What a pipeline command hands {@link withSession}: its model, settings, outputs and how it reports. */
export interface CommandRun {
  readonly model: string;
  readonly settings: PipelineSettings;
  readonly context: CommandContext;
  /** every file the command writes: claimed (checked against every input, locked) before the session opens, released when `work` ends */
  readonly outputs: readonly OutputClaim[];
  /** files read besides the model and the settings' own (--calibration, --eval-text, --imatrix) */
  readonly inputs?: readonly InputRef[];
  /** the steps the progress display counts with (none: steps are shown without a count) */
  readonly steps?: number;
  /** preflight checks on the header, before the model is hashed */
  readonly checks?: NonNullable<SessionOptions["checks"]>;
  /** the run's expected work, for an ETA from work rather than step counts (issue 26) */
  readonly eta?: (s: Session) => Promise<RunEta>;
}

/**
 * The one way a pipeline command runs: the library's runner (pipeline/runner.ts) inside the
 * command's progress display: the outputs claimed, the session opened on `run.model` (cache, hash,
 * header) with the command's cache folder, interrupt signal and checks, then `work` with the
 * claimed paths; what it writes to them is covered by the claim (see {@link withProgress} for how a
 * failed step is shown).
 */
export function withSession<T>(run: CommandRun, work: (s: Session, outputs: readonly string[]) => Promise<T>): Promise<T> {
  const { model, settings, context, eta } = run;
  return withProgress(
    settings.json,
    (onStep, useEta) =>
      runOnModel(
        {
          model,
          modelOption: "MODEL",
          outputs: run.outputs,
          inputs: [...settings.inputs, ...(run.inputs ?? [])],
          force: settings.force,
          // what cannot work is found from the header before the model is hashed or anything runs
          checks: [...(settings.evalTextUsed ? [(m: string, _info: ModelInfo, job: JobOptions) => requireEvalTokens(m, settings.accuracy, job)] : []), ...(run.checks ?? [])],
          ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}),
          onStep,
          ...(context.signal ? { signal: context.signal } : {}),
          contextUse: [
            { option: "--ctx", tokens: settings.accuracy.nCtx },
            // (score times nothing: its default 512-token prompt must not refuse a 256-token model)
            ...(settings.latencyUsed
              ? [
                  { option: "--n-prompt", tokens: settings.latency.nPrompt },
                  { option: "--n-gen", tokens: settings.latency.nGen },
                ]
              : []),
          ],
        },
        async (s, outputs) => {
          // the run's work counted once the session is open
          if (eta && !settings.json) {
            try {
              useEta(await eta(s));
            } catch {
              // the ETA is a help, never a reason to fail: without it the labels extrapolate over steps
            }
          }
          return work(s, outputs);
        },
      ),
    run.steps,
  );
}

/**
 * A step's label with where the run stands: `[3/17, ETA 4m10s] quantize q4_K`. The ETA extrapolates
 * the whole run's elapsed time over the steps done (steps differ in length, so it is rough; none
 * before the first step ends). Steps answered from the cache finish at once and count as done.
 *
 * @example
 * overallLabel("latency q8_0", 3, 12, 60_000) // "[3/12, ETA 5m00s] latency q8_0"
 * overallLabel("similarity", 1, 12, 0)        // "[1/12] similarity"
 */
export function overallLabel(step: string, index: number, planned: number, elapsedMs: number): string {
  const total = Math.max(index, planned);
  const done = index - 1;
  const eta = done > 0 ? estimateRemainingMs(done / total, elapsedMs) : undefined;
  return `[${index}/${total}${eta === undefined ? "" : `, ETA ${formatDuration(eta)}`}] ${step}`;
}

/**
 * A step's label with the run's ETA from its work (RunEta), e.g. `[3/17, ETA 4m10s] quantize q4_K`:
 * no ETA until the first step has been timed.
 *
 * @example
 * etaLabel("sensitivity probes", 11, 12, 2_460_000) // "[11/12, ETA 41m00s] sensitivity probes"
 */
export function etaLabel(step: string, index: number, planned: number, etaMs: number | undefined): string {
  return `[${index}/${Math.max(index, planned)}${etaMs === undefined ? "" : `, ETA ${formatDuration(etaMs)}`}] ${step}`;
}

/**
 * A step reporter drawing one progress line/bar per step on stderr (nothing with --json); with
 * `plannedSteps`, each step's label carries the step count and the whole run's ETA (overallLabel).
 */
function stepProgress(json: boolean, plannedSteps?: number, now: () => number = Date.now): { readonly onStep: StepReporter; useEta(eta: RunEta): void; finish(): void; fail(): void } {
  const mode = progressMode({ json, isTTY: process.stderr.isTTY });
  const started = now();
  let index = 0;
  let current: { name: string; bar: StepProgress } | null = null;
  let eta: RunEta | null = null;
  const shownDone = new Set<string>();
  return {
    onStep(step, fraction, detail) {
      // a step answered again from the cache after it was shown done (each probe round looks the
      // uniform files up again) is not shown again: the step it interrupts goes on in its own line
      if (current?.name !== step && fraction >= 1 && shownDone.has(step)) return;
      eta?.step(step, fraction, now());
      if (current?.name !== step) {
        if (current) shownDone.add(current.name);
        current?.bar.done();
        index++;
        const at = index;
        // with the run's work known, the label's ETA is redrawn with every update; else fixed at the step's start
        const fixed = plannedSteps === undefined ? step : overallLabel(step, at, plannedSteps, now() - started);
        const label = eta && plannedSteps !== undefined ? () => etaLabel(step, at, plannedSteps, eta!.remainingMs(now())) : fixed;
        current = { name: step, bar: startProgress(label, { mode }) };
      }
      current.bar.update(fraction, detail);
    },
    useEta(e) {
      eta = e;
    },
    finish() {
      eta?.finish(now());
      current?.bar.done();
      current = null;
    },
    fail() {
      current?.bar.fail();
      current = null;
    },
  };
}
