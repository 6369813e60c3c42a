// A latency protocol that knows its noise (issue 16). On a shared machine timings drift by tens of
// percent over minutes, so files compared are measured interleaved (warm-up of each, then rounds
// A B C …, A B C …: a drift hits every file alike instead of whichever came last), each file is
// summarised by its median with a distribution-free 95% interval, and two files whose intervals
// overlap are "not separable here". Whether the machine was busy is judged from load average and
// CPU frequency governor read at the start and the end. Everything here is pure.
import { MethodInputError, describeValue } from "./errors.js";

/** One step of an interleaved schedule: measure `item` (an index) in `round` (−1: warm-up). */
export interface ScheduleStep {
  readonly round: number;
  readonly item: number;
}

/**
 * The interleaved order: every item once untimed (warm-up, round −1), then `rounds` rounds each
 * visiting every item in order.
 *
 * @example
 * interleavedSchedule(2, 2) // [{round:-1,item:0},{round:-1,item:1},{round:0,item:0},{round:0,item:1},{round:1,item:0},{round:1,item:1}]
 */
export function interleavedSchedule(items: number, rounds: number, warmup = true): ScheduleStep[] {
  if (!Number.isSafeInteger(items) || items < 1) throw new MethodInputError(`items must be an integer ≥ 1 (got ${describeValue(items)})`);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new MethodInputError(`rounds must be an integer ≥ 1 (got ${describeValue(rounds)})`);
  const out: ScheduleStep[] = [];
  for (let round = warmup ? -1 : 0; round < rounds; round++) for (let item = 0; item < items; item++) out.push({ round, item });
  return out;
}

/**
 * Median of a non-empty sample (mean of the two middle values when even).
 *
 * @example
 * median([3, 1, 2, 10]) // 2.5
 */
export function median(values: readonly number[]): number {
  const s = sortedFinite(values, "median");
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The distribution-free interval for the median: [x_(lower), x_(upper)] of the sorted sample. */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** 1-based order statistics used */
  readonly lower: number;
  readonly upper: number;
  /**
   * Exact coverage P(x_(lower) ≤ median < x_(upper)) for any continuous distribution. It is
   * below the confidence asked for when the sample is too small to reach it (n ≤ 5 for 95%):
   * then the interval is [min, max] and this says how much it covers.
   */
  readonly coverage: number;
}

/**
 * Distribution-free confidence interval for the median from order statistics. The number of
 * observations below the population median is Binomial(n, ½), so for the sorted sample
 * x_(1) ≤ … ≤ x_(n) and l < u:
 *   P(x_(l) ≤ m < x_(u)) = Σ_{i=l}^{u−1} C(n, i) / 2ⁿ.
 * With the symmetric u = n + 1 − l this is 1 − 2·P(Bin(n, ½) ≤ l − 1); l is the largest value
 * that keeps it ≥ `confidence`. Source: W. J. Conover, Practical Nonparametric Statistics, 3rd
 * ed. (Wiley 1999), §3.2, confidence interval for a quantile (p = ½); also Hollander, Wolfe &
 * Chicken, Nonparametric Statistical Methods, 3rd ed., §3.6.
 * Hand-worked (test/unit/method/latency-protocol.test.ts): n = 10: P(Bin ≤ 1) = 11/1024, P(Bin ≤ 2) =
 * 56/1024, so l = 2 gives 1 − 22/1024 = 0.9785 and l = 3 only 0.8906: the interval is [x_(2), x_(9)].
 *
 * @example
 * medianInterval([5, 1, 4, 2, 3, 6, 8, 7, 10, 9]) // { low: 2, high: 9, lower: 2, upper: 9, coverage: 0.978515625 }
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval {
  if (!(confidence > 0 && confidence < 1)) throw new MethodInputError(`confidence must be in (0, 1) (got ${describeValue(confidence)})`);
  const s = sortedFinite(values, "medianInterval");
  const n = s.length;
  // cdf[i] = P(Bin(n, ½) ≤ i), built from exact binomial coefficients (n is small: a few dozen)
  const cdf: number[] = [];
  let c = 1; // C(n, 0)
  let acc = 0;
  for (let i = 0; i <= n; i++) {
    acc += c / 2 ** n;
    cdf.push(acc);
    c = (c * (n - i)) / (i + 1);
  }
  let lower = 1;
  for (let l = 2; l <= (n + 1) / 2; l++) {
    if (1 - 2 * (cdf[l - 1] as number) >= confidence) lower = l;
    else break;
  }
  const upper = n + 1 - lower;
  const coverage = n === 1 ? 0 : 1 - 2 * (cdf[lower - 1] as number);
  return { low: s[lower - 1] as number, high: s[upper - 1] as number, lower, upper, coverage };
}

/** Median and interval of one file's repeated timings. */
export interface TimingSummary {
  readonly median: number;
  readonly low: number;
  readonly high: number;
  /** the interval's exact coverage (see {@link medianInterval}) */
  readonly coverage: number;
  readonly samples: number;
}

/**
 * @example
 * summarizeTimings([10, 12, 11]) // { median: 11, low: 10, high: 12, coverage: 0.75, samples: 3 }
 */
export function summarizeTimings(values: readonly number[], confidence = 0.95): TimingSummary {
  const i = medianInterval(values, confidence);
  return { median: median(values), low: i.low, high: i.high, coverage: i.coverage, samples: values.length };
}

/**
 * For each file, the other files (indices) whose intervals overlap its own: differences between
 * those are inside this machine's noise ("not separable here"). Closed intervals: touching counts
 * as overlapping.
 *
 * @example
 * notSeparable([{ low: 1, high: 2 }, { low: 1.5, high: 3 }, { low: 4, high: 5 }]) // [[1], [0], []]
 */
export function notSeparable(intervals: readonly { readonly low: number; readonly high: number }[]): number[][] {
  return intervals.map((a, i) => intervals.flatMap((b, j) => (i !== j && a.low <= b.high && b.low <= a.high ? [j] : [])));
}

/** The machine's state at one moment, as read from /proc and /sys (lib/pipeline/machine-state.ts). */
export interface MachineReading {
  /** 1-minute load average; null where unreadable */
  readonly load1: number | null;
  /** logical CPUs the OS schedules on */
  readonly cpus: number;
  /** distinct scaling governors of the CPUs (e.g. ["performance"]); empty when cpufreq is absent (many VMs) */
  readonly governors: readonly string[];
}

/** Whether a measurement ran on a busy machine, with the readings that say so. */
export interface MachineVerdict {
  readonly busy: boolean;
  /** human-readable reasons (empty when idle and the governor is fixed) */
  readonly reasons: readonly string[];
  readonly start: MachineReading;
  readonly end: MachineReading;
}

/** Foreign load per CPU above which the machine counts as busy. */
export const BUSY_LOAD_PER_CPU = 0.5;

/**
 * Judges the machine from readings at the start and the end of a measurement that itself ran
 * `ownThreads` busy threads. The 1-minute load average counts runnable threads, ours included,
 * so at the end our own threads are subtracted (at the start they had not run yet; a load
 * average lags, so this errs towards calling a machine idle only when it clearly was).
 * Busy: the remaining (foreign) load exceeds {@link BUSY_LOAD_PER_CPU} per CPU at either end.
 * A governor other than "performance" does not make the machine busy but is named: the clock
 * then follows the load and timings drift with it.
 *
 * @example
 * machineVerdict({ load1: 3.2, cpus: 2, governors: [] }, { load1: 4.1, cpus: 2, governors: [] }, 2).busy // true
 */
export function machineVerdict(start: MachineReading, end: MachineReading, ownThreads: number): MachineVerdict {
  const reasons: string[] = [];
  let busy = false;
  const check = (r: MachineReading, own: number, when: string): void => {
    if (r.load1 === null) return;
    const foreign = Math.max(0, r.load1 - own);
    if (foreign > BUSY_LOAD_PER_CPU * r.cpus) {
      busy = true;
      reasons.push(`load average ${r.load1.toFixed(2)} on ${r.cpus} CPUs at the ${when}${own > 0 ? ` (${own} of it ours)` : ""}`);
    }
  };
  check(start, 0, "start");
  check(end, Math.min(ownThreads, end.cpus), "end");
  if (start.load1 === null && end.load1 === null) reasons.push("load average unreadable");
  const governors = [...new Set([...start.governors, ...end.governors])];
  const varying = governors.filter((g) => g !== "performance");
  if (varying.length > 0) reasons.push(`CPU frequency governor ${varying.join(", ")} (the clock follows the load)`);
  return { busy, reasons, start, end };
}

function sortedFinite(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new MethodInputError(`${what} needs at least one value`);
  for (const v of values) if (!Number.isFinite(v)) throw new MethodInputError(`${what}: every value must be finite (got ${describeValue(v)})`);
  return [...values].sort((a, b) => a - b);
}
