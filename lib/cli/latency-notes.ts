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
