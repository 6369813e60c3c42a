/**
 * What both plan methods (adaptive.ts, front.ts) report after publishing their output: the
 * uniform files' measurements, the result's and the source's (their latency the run's criterion),
 * and whether an interrupt cut the measuring short — one place, so the two methods measure and
 * report a published mix alike.
 */
import type { GgmlType } from "../method/types.js";
import { latencyFor, type LatencyCriterion } from "./latency-criterion.js";
import { measurePublished, type AccuracySettings, type LatencySettings, type MeasuredModel } from "./measure-file.js";
import type { ProfileFile } from "./profile-file.js";
import { uniformMeasurements } from "./profile.js";
import type { Session } from "./session.js";
import { publishedSource, type SourceModel } from "./source.js";

/** A published mix measured beside the uniform set and the source. */
export interface MixOutcome {
  /** measurements of the uniform files (from the profile) */
  readonly uniform: Readonly<Partial<Record<GgmlType, MeasuredModel>>>;
  /** the result's measurements; null when not measured (or interrupted) */
  readonly result: MeasuredModel | null;
  /** the source model measured beside them (the report's reference point); null when a given profile was used and the result not measured */
  readonly source: SourceModel | null;
  /** the run was interrupted after the output was published, while measuring it: the output is complete */
  readonly interrupted?: boolean;
}

/** Measures a published mix (`file`) and the source unless `measureResult` is false; an interrupt is reported, not thrown. */
export async function measureOutcome(
  s: Session,
  file: string,
  o: {
    readonly profile: ProfileFile;
    /** the source as the profiling run measured it (undefined with a given profile) */
    readonly profiled: SourceModel | undefined;
    readonly types: readonly GgmlType[];
    readonly latency: LatencySettings;
    readonly accuracy: AccuracySettings;
    readonly latencyCriterion?: LatencyCriterion;
    readonly measureResult?: boolean;
  },
): Promise<MixOutcome> {
  const measure = o.measureResult ?? true;
  const criterion = o.latencyCriterion ?? "decode";
  const published = await publishedSource(s, o.profiled, measure, o);
  const source = published.source && { ...published.source, measured: latencyFor(published.source.measured, criterion, "the source model") };
  const measured = measure && !published.interrupted ? await measurePublished(s, file, o) : { result: null, interrupted: published.interrupted };
  const result = measured.result && latencyFor(measured.result, criterion, "the result");
  return { uniform: uniformMeasurements(o.profile, o.types), result, source, ...(measured.interrupted ? { interrupted: true } : {}) };
}
