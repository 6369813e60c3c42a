/**
 * Checks that need the model but no long work, run when the session opens (SessionOptions.checks:
 * after the header is read, before the model is hashed): settings that cannot work fail in a
 * second, not after the uniform set was quantized and profiled.
 */
import { InputError, OptionError } from "../core/errors.js";
import { formatBytes } from "../core/format.js";
import { smallestMix } from "../method/smallest-mix.js";
import type { GgmlType } from "../method/types.js";
import { countTokens } from "../ops/tokens.js";
import type { JobOptions } from "../core/job-options.js";
import type { ModelInfo } from "../ops/inspect.js";
import type { AccuracySettings } from "./measure-file.js";
import { calibrationText } from "./sensitivity.js";
import type { CalibrationSet } from "./texts.js";

/**
 * Perplexity needs two chunks of `nCtx` tokens (llama-perplexity's rule): the evaluation text is
 * tokenized with the model's tokenizer (vocabulary only; a prefix, as perplexity does) and a
 * shorter one is refused, naming the text, its token count and what would work.
 */
export async function requireEvalTokens(model: string, o: Pick<AccuracySettings, "evalText" | "nCtx">, job: JobOptions = {}, ctxOption = "--ctx"): Promise<void> {
  const needed = 2 * o.nCtx;
  const { tokens } = await countTokens({ model, text: o.evalText.text, atLeast: needed, ...(job.signal ? { signal: job.signal } : {}) });
  if (tokens >= needed) return;
  const where = o.evalText.source.kind === "builtin" ? "the built-in evaluation text" : `--eval-text ${o.evalText.source.path}`;
  // the largest context two chunks of this text fill (8 is the smallest --ctx accepted)
  const fits = Math.floor(tokens / 2);
  throw new InputError(
    `${where} gives ${tokens} tokens with ${model}'s tokenizer; perplexity with ${ctxOption} ${o.nCtx} needs at least ${needed} (two chunks): ` +
      `give a longer text${fits >= 8 ? `, or ${ctxOption} ${fits} or less` : ""}`,
  );
}

/**
 * Measured sensitivity probes score chunks of `nCtx` tokens of the calibration text and need two
 * of them (native/probe.cpp): a shorter text is refused before the uniform set is made, naming
 * the text, its token count and what would work.
 */
export async function requireProbeTokens(model: string, calibration: CalibrationSet, nCtx: number, job: JobOptions = {}): Promise<void> {
  const needed = 2 * nCtx;
  const { tokens } = await countTokens({ model, text: calibrationText(calibration), atLeast: needed, ...(job.signal ? { signal: job.signal } : {}) });
  if (tokens >= needed) return;
  const where = calibration.source.kind === "builtin" ? "the built-in calibration set" : `--calibration ${calibration.source.path}`;
  const fits = Math.floor(tokens / 2);
  throw new InputError(
    `${where} gives ${tokens} tokens with ${model}'s tokenizer; the sensitivity probes with --ctx ${nCtx} need at least ${needed} (two chunks): ` +
      `give a longer text${fits >= 8 ? `, --ctx ${fits} or less` : ""}, or --sensitivity cosine (no probes)`,
  );
}

/** A memory limit as the user gave it: the option, and a byte or bits-per-weight bound. */
export type MemoryLimit =
  | { readonly option: string; readonly kind: "bytes"; readonly value: number }
  | { readonly option: string; readonly kind: "bpw"; readonly value: number };

/**
 * Refuses a memory limit below what the smallest possible mix needs (lib/method/smallest-mix.ts:
 * a lower bound from the header and the type table), before any quantization.
 */
export function requireReachableLimits(
  model: string,
  info: Pick<ModelInfo, "tensors">,
  plan: { readonly types: readonly GgmlType[]; readonly nonLayerType: string; readonly plansNonLayer: boolean },
  limits: readonly MemoryLimit[],
): void {
  if (limits.length === 0) return;
  const { types } = plan;
  const least = smallestMix(info.tensors, types, plan.nonLayerType, { plansNonLayer: plan.plansNonLayer });
  for (const l of limits) {
    if (l.kind === "bytes" && l.value < least.bytes) {
      throw new OptionError(l.option, `${l.option}: no mix can meet ${formatBytes(l.value)}: ${model}'s weights take at least ${formatBytes(least.bytes)} (${least.bytes} bytes) with types ${types.join(", ")} (every tensor at its smallest type)`);
    }
    if (l.kind === "bpw" && l.value < least.bitsPerWeight) {
      throw new OptionError(l.option, `${l.option}: no mix can meet ${l.value} bits per weight: the smallest of types ${types.join(", ")} has ${least.bitsPerWeight}`);
    }
  }
}
