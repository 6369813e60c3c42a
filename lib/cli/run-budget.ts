/**
 * The work a `quantize` run will do, counted before it starts (issue 26's ETA): the texts are
 * tokenized (vocabulary only, no weights), the probes counted from the model's tensors. RunEta
 * prices it with the rates the run measures.
 */
import { planUnits } from "../gguf/units.js";
import { countTokens } from "../ops/tokens.js";
import type { Session } from "../pipeline/session.js";
import { DEFAULT_SCORE_CTX, type ScoreOptions } from "../pipeline/scores.js";
import { pipelineStepCost, RunEta } from "./eta.js";
import type { PipelineSettings } from "./pipeline-options.js";

export interface QuantizeWork {
  readonly types: number;
  readonly measure: ScoreOptions["measure"];
  /** the result is measured too (its latency and perplexity) */
  readonly measureResult: boolean;
  /** files whose perplexity / latency is measured, when not the uniform set, the source and the result (profile) */
  readonly perplexityFiles?: number;
  readonly latencyFiles?: number;
  /** whether the calibration pass runs (default true; profile runs it only for the importance matrix) */
  readonly calibrationPass?: boolean;
}

/** Tokens of a text with the model's tokenizer (0 when it cannot be tokenized: the run will say why). */
async function tokensOf(model: string, text: string, signal?: AbortSignal): Promise<number> {
  if (text.length === 0) return 0;
  try {
    return (await countTokens({ model, text, ...(signal ? { signal } : {}) })).tokens;
  } catch {
    return 0;
  }
}

/**
 * The share of the model a probe computes, before any is timed: it starts at its unit's block, so
 * over units spread evenly across the blocks about half of them (the head and embeddings aside).
 */
export const PRIOR_PROBE_SHARE_OF_MODEL = 0.5;

/** An ETA for a quantize run in session `s`. */
export async function quantizeEta(s: Session, settings: PipelineSettings, work: QuantizeWork): Promise<RunEta> {
  const calibrationTokens = await tokensOf(s.model, settings.score.calibration.prompts.join("\n\n"), s.signal);
  const calibrationPass = work.calibrationPass ?? true;
  const evalAll = await tokensOf(s.model, settings.accuracy.evalText.text, s.signal);
  const nCtx = settings.accuracy.nCtx;
  const evalTokens = settings.accuracy.chunks !== undefined ? Math.min(evalAll, settings.accuracy.chunks * nCtx) : evalAll;
  // perplexity of each uniform file, the source, and the result (KLD runs the source beside: twice the tokens)
  const perplexities = work.perplexityFiles ?? work.types + 1 + (work.measureResult ? 1 : 0);
  const kldFactor = settings.accuracy.kld ? 2 : 1;
  let probeTokens = 0;
  let probeCapMs: number | undefined;
  let extraQuantizations = 0;
  if (work.measure?.kind === "measured") {
    // units outside the blocks (tensor granularity) are probed from uniform files that differ in
    // their non-layer type: one more quantization per type but the reference's (sensitivity.ts)
    if (planUnits(s.info.tensors, work.measure.granularity).some((u) => u.block === null)) extraQuantizations = Math.max(0, work.measure.types.length - 1);
    const probeCtx = settings.score.nCtx ?? DEFAULT_SCORE_CTX;
    const perProbe = work.measure.chunks !== undefined ? Math.min(calibrationTokens, work.measure.chunks * probeCtx) : calibrationTokens;
    // a unit at the reference type is the reference itself (sensitivity.ts): not probed again
    const probes = planUnits(s.info.tensors, work.measure.granularity).length * Math.max(0, work.measure.types.length - 1) + 1;
    // a probe runs the probed model and reads the reference's logits: one forward pass of its tokens,
    // from the probed unit's block on (native/probe.cpp): on average about half the blocks
    probeTokens = probes * perProbe * PRIOR_PROBE_SHARE_OF_MODEL;
    // within a budget (the default), the planner spends at most the budget's forward-equivalent
    // tokens, and stops at its time cap whatever the tokens (capsMs below); it often stops sooner,
    // once the choice settles, which it forecasts round by round (planSensitivity's progress)
    const budget = work.measure.budget;
    if (budget?.kind === "tokens") probeTokens = Math.min(probeTokens, budget.tokens);
    if (budget?.kind === "share") probeTokens *= Math.min(1, budget.share);
    const seconds = budget?.kind === "seconds" ? budget.seconds : budget?.kind === "share" ? budget.maxSeconds : undefined;
    if (seconds !== undefined) probeCapMs = seconds * 1000;
  }
  const { nGen, nPrompt, reps } = settings.latency;
  // a warm-up round and `reps` rounds, each nGen decode tokens and an nPrompt prefill (batched: a quarter as dear)
  const latencyTokensPerFile = (reps + 1) * (nGen + nPrompt / 4);
  const latencyFiles = work.latencyFiles ?? work.types + 1 + (work.measureResult ? 1 : 0);
  const modelBytes = s.info.fileSize;
  return new RunEta(
    {
      tokens: (calibrationPass ? calibrationTokens : 0) + perplexities * evalTokens * kldFactor,
      probe: probeTokens,
      decode: latencyFiles * latencyTokensPerFile,
      bytes: (work.types + extraQuantizations) * modelBytes,
    },
    pipelineStepCost({ modelBytes, evalTokens: evalTokens * kldFactor, calibrationTokens, probeTokens, latencyTokensPerFile }),
    modelBytes,
    probeCapMs !== undefined ? { probe: probeCapMs } : {},
  );
}
