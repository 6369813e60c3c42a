/**
 * The whole run's ETA from the work it has to do, not from the number of steps (issue 26: counting
 * steps said 2m56s at step 7 of 21, 4m11s at step 10, and "ETA 17s" through a 40-minute probe step,
 * because steps differ in cost by a thousand times).
 *
 * Before the run, the command states the work by kind (a RunBudget): forward-pass tokens (the
 * calibration pass, each perplexity, the probes), decode tokens (latency runs) and bytes quantized.
 * Each step, as it starts, is mapped to its kind and size (stepCost). While the run goes, each kind's
 * rate (ms per unit) is measured from the steps that did real work (a step answered from the cache
 * jumps to done without progress in between: its work counts as done, its time does not set a rate).
 * A kind not yet seen is priced from a seen one through a fixed prior ratio, so the total is there
 * from the first step. The ETA shown never grows by less than the noise margin: small upward
 * corrections are absorbed, a real surprise (a kind far slower than its prior) is shown.
 */

/** What one unit of work is. */
export type WorkKind = "tokens" | "probe" | "decode" | "bytes";

/** The run's expected work by kind (units: forward tokens, probe tokens, decode tokens, bytes quantized). */
export type RunBudget = Readonly<Record<WorkKind, number>>;

const KINDS: readonly WorkKind[] = ["tokens", "probe", "decode", "bytes"];

/** One step's expected work. */
export interface StepCost {
  readonly kind: WorkKind;
  readonly units: number;
  /**
   * The step's fraction is of all its runs together: it comes back under the same name after other
   * steps (the probe planner's rounds, between which the uniform files are looked up again) and
   * goes on from where it was, so each run is worth the share of `units` it advanced.
   */
  readonly cumulative?: boolean;
}

/**
 * How a unit of each kind compares with a forward-pass token, before anything is measured: a token
 * of decode costs about as much as 4 batched forward tokens (no batching over the matrix rows); a
 * model quantized once costs about as much as 3,000 forward tokens of it (both read every weight;
 * quantizing spends more arithmetic per weight). `bytes` is relative to the model's size: see prior().
 */
export const PRIOR_DECODE_TOKEN_IN_TOKENS = 4;
/** a probe's token costs about half a calibration-pass token (no activations captured; measured on debian-prose-11m: 0.45) */
export const PRIOR_PROBE_TOKEN_IN_TOKENS = 0.5;
export const PRIOR_MODEL_QUANTIZATION_IN_TOKENS = 3000;

/** An ETA may rise by this share (within the noise of rates measured on a shared machine) without being shown to rise. */
export const ETA_NOISE = 0.25;

interface Seen {
  readonly name: string;
  readonly kind: WorkKind;
  readonly units: number;
  readonly start: number;
  readonly cumulative: boolean;
  /** where a cumulative step's fraction stood when this run of it began (0 otherwise) */
  readonly from: number;
  fraction: number;
  progressed: boolean;
}

export class RunEta {
  private readonly spentMs: Record<WorkKind, number> = { tokens: 0, probe: 0, decode: 0, bytes: 0 };
  private readonly rateUnits: Record<WorkKind, number> = { tokens: 0, probe: 0, decode: 0, bytes: 0 };
  private readonly doneUnits: Record<WorkKind, number> = { tokens: 0, probe: 0, decode: 0, bytes: 0 };
  private current: Seen | null = null;
  private shown: { atMs: number; etaMs: number } | null = null;

  /**
   * @param budget the run's work by kind
   * @param costOf a step's kind and size from its name (undefined: a step too small to count)
   * @param modelBytes the source model's size (prices a byte quantized before any was measured)
   * @param capsMs the most a kind's work may take in all, when the run stops it at a deadline (the
   *   probes' time budget): its estimate never passes what is left of the cap
   */
  constructor(
    private readonly budget: RunBudget,
    private readonly costOf: (step: string) => StepCost | undefined,
    private readonly modelBytes: number,
    private readonly capsMs: Partial<Readonly<Record<WorkKind, number>>> = {},
  ) {}

  /** a cumulative step's fraction where its last run left it */
  private readonly reached = new Map<string, number>();

  /** Records a step's progress at time `nowMs` (a new name ends the step before). */
  step(name: string, fraction: number, nowMs: number): void {
    if (this.current && this.currentName !== name) this.close(nowMs);
    if (!this.current) {
      const cost = this.costOf(name);
      this.currentName = name;
      if (!cost) return;
      const cumulative = cost.cumulative === true;
      const from = cumulative ? (this.reached.get(name) ?? 0) : 0;
      this.current = { kind: cost.kind, units: cost.units, cumulative, from, name, start: nowMs, fraction: from, progressed: false };
    }
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    if (f > this.current.from && f < 1) this.current.progressed = true;
    this.current.fraction = Math.max(this.current.fraction, f);
  }

  /** Ends the running step (the run finished or failed). */
  finish(nowMs: number): void {
    this.close(nowMs);
    this.currentName = null;
  }

  private currentName: string | null = null;
  private readonly closedNames = new Set<string>();

  private close(nowMs: number): void {
    const c = this.current;
    this.current = null;
    this.currentName = null;
    if (!c) return;
    if (c.cumulative) {
      // this run's share of the step; its time is a rate only when it advanced in between
      const advanced = (c.fraction - c.from) * c.units;
      this.doneUnits[c.kind] += advanced;
      this.reached.set(c.name, c.fraction);
      if (c.progressed) {
        this.spentMs[c.kind] += nowMs - c.start;
        this.rateUnits[c.kind] += advanced;
      }
      return;
    }
    // a step answered from the cache under a name already seen is the pipeline asking again for
    // work it did (the uniform files are looked up more than once): no budget is used by it
    if (c.progressed || !this.closedNames.has(c.name)) this.doneUnits[c.kind] += c.units;
    this.closedNames.add(c.name);
    // a step without progress in between was answered from the cache: its time is no rate
    if (c.progressed) {
      this.spentMs[c.kind] += nowMs - c.start;
      this.rateUnits[c.kind] += c.units;
    }
  }

  /** ms per unit of `kind`: measured, else priced from a measured kind, else undefined. */
  rate(kind: WorkKind, nowMs: number): number | undefined {
    const measured = (k: WorkKind): number | undefined => {
      let ms = this.spentMs[k];
      let units = this.rateUnits[k];
      const c = this.current;
      // the running step counts once it has done enough to time (2% of it, a second)
      if (c && c.kind === k && c.fraction - c.from >= 0.02 && nowMs - c.start >= 1000) {
        ms += nowMs - c.start;
        units += (c.fraction - c.from) * c.units;
      }
      return units > 0 && ms > 0 ? ms / units : undefined;
    };
    const own = measured(kind);
    if (own !== undefined) return own;
    const inTokens = (k: WorkKind) =>
      k === "tokens" ? 1 : k === "probe" ? PRIOR_PROBE_TOKEN_IN_TOKENS : k === "decode" ? PRIOR_DECODE_TOKEN_IN_TOKENS : PRIOR_MODEL_QUANTIZATION_IN_TOKENS / Math.max(1, this.modelBytes);
    for (const k of KINDS) {
      const r = measured(k);
      if (r !== undefined) return (r / inTokens(k)) * inTokens(kind);
    }
    return undefined;
  }

  /** The work left, in ms, as the rates now price it; undefined before anything could be timed. */
  estimateMs(nowMs: number): number | undefined {
    let total = 0;
    for (const kind of KINDS) {
      const c = this.current?.kind === kind ? this.current : null;
      const inCurrent = c ? (1 - c.fraction) * c.units : 0;
      // the budget left after what closed and the running step (at least the running step's rest)
      const left = Math.max(inCurrent, this.budget[kind] - this.doneUnits[kind] - (c ? (c.fraction - c.from) * c.units : 0));
      if (left <= 0) continue;
      const r = this.rate(kind, nowMs);
      if (r === undefined) return undefined;
      const cap = this.capsMs[kind];
      const capLeft = cap === undefined ? Infinity : Math.max(0, cap - this.spentMs[kind] - (c ? nowMs - c.start : 0));
      total += Math.min(left * r, capLeft);
    }
    return total;
  }

  /**
   * The ETA to show: the estimate, except that it does not rise by less than ETA_NOISE over what was
   * shown before minus the time since (a rate measured on a busy machine wobbles; a bigger rise is news).
   */
  remainingMs(nowMs: number): number | undefined {
    const estimate = this.estimateMs(nowMs);
    if (estimate === undefined) return this.shown ? Math.max(0, this.shown.etaMs - (nowMs - this.shown.atMs)) : undefined;
    const expected = this.shown ? Math.max(0, this.shown.etaMs - (nowMs - this.shown.atMs)) : undefined;
    const eta = expected !== undefined && estimate > expected && estimate <= expected * (1 + ETA_NOISE) + 1000 ? expected : estimate;
    this.shown = { atMs: nowMs, etaMs: eta };
    return eta;
  }
}

/**
 * The usual pipeline's step names to their cost: `quantize T` (the model's bytes), `perplexity X`
 * (the eval tokens), `similarity` (the calibration tokens), `sensitivity probes` (all probe tokens),
 * `latency …` (decode tokens per file); assembling, the front and the sweep are too small to count.
 *
 * @example
 * pipelineStepCost({ modelBytes: 1e6, evalTokens: 512, calibrationTokens: 2048, probeTokens: 65536, latencyTokensPerFile: 28 })("perplexity q4_K")
 * // { kind: "tokens", units: 512 }
 */
export function pipelineStepCost(w: {
  readonly modelBytes: number;
  readonly evalTokens: number;
  readonly calibrationTokens: number;
  readonly probeTokens: number;
  readonly latencyTokensPerFile: number;
}): (step: string) => StepCost | undefined {
  return (step) => {
    if (step.startsWith("quantize ")) return { kind: "bytes", units: w.modelBytes };
    if (step.startsWith("perplexity ")) return { kind: "tokens", units: w.evalTokens };
    if (step === "similarity") return { kind: "tokens", units: w.calibrationTokens };
    // the probe planner's rounds report the fraction of the whole probe step, round after round
    if (step === "sensitivity probes") return { kind: "probe", units: w.probeTokens, cumulative: true };
    const files = /^latency of (\d+) files/.exec(step);
    if (files) return { kind: "decode", units: Number(files[1]) * w.latencyTokensPerFile };
    if (step.startsWith("latency ")) return { kind: "decode", units: w.latencyTokensPerFile };
    return undefined;
  };
}
