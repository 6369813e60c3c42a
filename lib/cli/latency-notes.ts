/**
 * The notes under a table of latencies (each printed by core/format.ts's formatLatency: median with
 * its interval): what the interval is, which files cannot be told apart by latency on this run
 * ("not separable here"), and whether the machine was busy.
 */
import { latencyOverlaps, type LatencyMetrics } from "../pipeline/measure-file.js";

/** Lines to print under a table of files measured together (empty when there is nothing to say). */
export function latencyNotes(labels: readonly string[], metrics: readonly Partial<LatencyMetrics>[]): string[] {
  const out: string[] = [];
  const first = metrics.find((m) => m.latencyInterval !== undefined)?.latencyInterval;
  if (first) {
    out.push(
      `latency: median of ${first.samples} interleaved rounds, [low, high] a distribution-free interval for it (${(100 * first.coverage).toFixed(1)}% coverage${first.coverage < 0.95 ? "; 6 rounds or more give 95%" : ""})`,
    );
  }
  const overlaps = latencyOverlaps(metrics);
  const groups: string[] = [];
  overlaps.forEach((others, i) => {
    const later = (others ?? []).filter((j) => j > i);
    if (later.length > 0) groups.push(`${labels[i]} ~ ${later.map((j) => labels[j]).join(", ")}`);
  });
  if (groups.length > 0) out.push(`not separable here (latency intervals overlap): ${groups.join("; ")}`);
  const busy = metrics.find((m) => m.latencyMachine?.busy)?.latencyMachine;
  if (busy) out.push(`the machine was busy while measuring latency: ${busy.reasons.join("; ")}; timings may be slow and noisy`);
  else {
    const reasons = metrics.find((m) => (m.latencyMachine?.reasons.length ?? 0) > 0)?.latencyMachine?.reasons;
    if (reasons) out.push(`latency: ${reasons.join("; ")}`);
  }
  return out;
}

/**
 * The warning a plan carries on every use when any latency it planned on was measured on a busy
 * machine (issue 26: q8_0 at 660 ms/token beside other work, 25 alone, and the plan used it):
 * printed with the plan and put in its JSON's `warnings`. Undefined when none was busy.
 *
 * @example
 * busyLatencyWarning(["q8_0"], [{ latencyMachine: { busy: true, reasons: ["load average 9.1 on 2 CPUs at the start"] } }])
 * // "the latencies of q8_0 were measured on a busy machine (load average 9.1 on 2 CPUs at the start): …"
 */
export function busyLatencyWarning(labels: readonly string[], metrics: readonly (Partial<LatencyMetrics> | undefined)[]): string | undefined {
  const busy = metrics.flatMap((m, i) => (m?.latencyMachine?.busy ? [i] : []));
  if (busy.length === 0) return undefined;
  const reasons = metrics[busy[0]!]!.latencyMachine!.reasons;
  return (
    `the latencies of ${busy.map((i) => labels[i]).join(", ")} were measured on a busy machine (${reasons.join("; ")}): ` +
    "they may be many times too slow and their ratios wrong, and this plan rests on them; measure again on a quiet machine " +
    "(a busy measurement is not kept as valid: the next run on a quiet machine measures it anew)"
  );
}

/**
 * Why `profile` will not write its latencies (empty: nothing against them): the machine was busy,
 * or two types' intervals overlap, so the profile cannot say which is faster. `--force` writes them anyway.
 *
 * @example
 * profileLatencyProblems(["q8_0", "q4_K"], [{ latencyInterval: { low: 10, high: 30, coverage: 0.97, samples: 6 } }, { latencyInterval: { low: 20, high: 25, coverage: 0.97, samples: 6 } }])
 * // ["q8_0 and q4_K cannot be told apart: their intervals [10, 30] and [20, 25] ms/token overlap"]
 */
export function profileLatencyProblems(labels: readonly string[], metrics: readonly Partial<LatencyMetrics>[]): string[] {
  const out: string[] = [];
  const busy = metrics.find((m) => m.latencyMachine?.busy)?.latencyMachine;
  if (busy) out.push(`the machine was busy while measuring (${busy.reasons.join("; ")})`);
  // a [min, max] of too few rounds is no interval: it cannot say whether two types differ
  const thin = metrics.find((m) => m.latencyInterval !== undefined && m.latencyInterval.coverage < 0.95)?.latencyInterval;
  if (thin) out.push(`${thin.samples} round${thin.samples === 1 ? " gives" : "s give"} an interval that holds the median ${(100 * thin.coverage).toFixed(1)}% of the time (6 or more give 95%: --reps 6)`);
  const overlaps = latencyOverlaps(metrics);
  overlaps.forEach((others, i) => {
    for (const j of others ?? []) {
      if (j <= i) continue;
      const a = metrics[i]!.latencyInterval!;
      const b = metrics[j]!.latencyInterval!;
      out.push(`${labels[i]} and ${labels[j]} cannot be told apart: their intervals [${fmt(a.low)}, ${fmt(a.high)}] and [${fmt(b.low)}, ${fmt(b.high)}] ms/token overlap`);
    }
  });
  return out;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
