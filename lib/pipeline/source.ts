/**
 * The source model measured as one more point beside its quantizations: the reference every
 * report compares against (issue 13). Its KLD is 0 by definition (it is the distribution KLD is
 * measured from), so no side-by-side run is spent on it; its memory, latency and perplexity are
 * measured like any file's, its latency in the same interleaved run as the files it is compared
 * with where the pipeline measures them together.
 */
import type { ModelInfo } from "../ops/inspect.js";
import { measureAccuracy, measureLatency, measureMemory, type AccuracySettings, type LatencyMetrics, type LatencySettings, type MeasuredModel } from "./measure-file.js";
import type { Session } from "./session.js";

/** The source model's measurements and the type most of its weights are stored in. */
export interface SourceModel {
  /** "F16", "F32", "BF16": the type holding most of the planned layers' bytes */
  readonly type: string;
  /** how tables and reports name it: "source (F16)" */
  readonly label: string;
  readonly measured: MeasuredModel;
}

/**
 * The type holding most of the quantizable tensors' bytes, as llama.cpp names file types (upper case).
 *
 * @example
 * sourceType(info) // "F16"
 */
export function sourceType(info: Pick<ModelInfo, "tensors">): string {
  const bytes = new Map<string, number>();
  for (const t of info.tensors) if (t.quantizable) bytes.set(t.type, (bytes.get(t.type) ?? 0) + t.bytes);
  const [type] = [...bytes.entries()].sort((a, b) => b[1] - a[1])[0] ?? ["unknown"];
  return type.toUpperCase();
}

/**
 * Memory, latency and perplexity of the session's model; KLD 0 when the other files are measured
 * with KLD. `latency` is the source's result from an interleaved run with the other files; without
 * it the source is timed alone (cached like any file).
 */
export async function measureSource(
  s: Session,
  o: { readonly latency?: LatencySettings; readonly accuracy?: AccuracySettings },
  latency?: LatencyMetrics,
): Promise<SourceModel> {
  const memory = await measureMemory(s.model);
  const timed = latency ?? (o.latency ? await measureLatency(s, s.model, "source", o.latency) : undefined);
  const accuracy = o.accuracy ? await measureAccuracy(s, s.model, "source", { ...o.accuracy, kld: false }) : undefined;
  const kld = o.accuracy?.kld ? { kld: { mean: 0, stderr: 0, sameTopPercent: 100 } } : {};
  const type = sourceType(s.info);
  return { type, label: `source (${type})`, measured: { ...memory, ...timed, ...accuracy, ...kld } };
}

/**
 * The source for a run that published its output: the profiling run's measurement when it made
 * one, else (a given profile) measured here like the result, when the result is measured at all.
 * An interrupt stops it without failing the run (the output is complete), reported as `interrupted`.
 */
export async function publishedSource(
  s: Session,
  profiled: SourceModel | undefined,
  measure: boolean,
  o: { readonly latency: LatencySettings; readonly accuracy: AccuracySettings },
): Promise<{ readonly source: SourceModel | null; readonly interrupted: boolean }> {
  if (profiled !== undefined) return { source: profiled, interrupted: false };
  if (!measure) return { source: null, interrupted: false };
  try {
    return { source: await measureSource(s, o), interrupted: false };
  } catch (e) {
    if ((e as Error).name !== "AbortError") throw e;
    return { source: null, interrupted: true };
  }
}
