/**
 * `profile`: the uniform set's memory, latency and accuracy, written as profile.json with the
 * hardware, build and settings each metric was measured with. `only` restricts a run to the
 * metrics that belong to this machine (latency on the edge device, accuracy anywhere).
 */
import path from "node:path";
import type { LayerName } from "../method/layers.js";
import type { GgmlType } from "../method/types.js";
import type { MetricGroup, ProfileFile, Provenance, TypeMeasurements } from "./profile-file.js";
import { LATENCY_RULES, type MeasuredModel, measureAccuracy, measureLatencies, measureMemory, type AccuracySettings, type LatencySettings } from "./measure-file.js";
import { requireContext, settingsContextUse, type Session } from "./session.js";
import { measureSource, type SourceModel } from "./source.js";
import { quantizationSettings, resolveUniform, uniformModels, type UniformOptions } from "./uniform.js";
import { InputError } from "../core/errors.js";
import { canonicalJson } from "../core/json.js";
import { profileForCriterion, type LatencyCriterion } from "./latency-criterion.js";

export interface ProfileOptions extends UniformOptions {
  readonly types: readonly GgmlType[];
  /** metric groups to measure; memory comes with latency (both are this machine's view of the file) */
  readonly only?: "latency" | "accuracy";
  readonly latency: LatencySettings;
  readonly accuracy: AccuracySettings;
  /** also measure the source model (the reports' reference point), its latency in the uniform files' interleaved run */
  readonly source?: boolean;
}

export async function profileModel(s: Session, o: ProfileOptions): Promise<{ profile: ProfileFile; files: Map<GgmlType, string>; source?: SourceModel }> {
  requireContext(s, settingsContextUse(o));
  // the calibration pass first (when the importance matrix comes from it): a text it cannot use fails before any quantization
  const uniform = await resolveUniform(s, o);
  const files = await uniformModels(s, o.types, uniform);
  const groups: readonly MetricGroup[] = o.only === "latency" ? ["memory", "latency"] : o.only === "accuracy" ? ["accuracy"] : ["memory", "latency", "accuracy"];
  const provenance = (settings: Record<string, unknown>): Provenance => ({
    hardware: s.hardware,
    build: s.build,
    settings,
    measuredAt: new Date().toISOString(),
  });
  const types: Partial<Record<GgmlType, TypeMeasurements>> = {};
  // the uniform files are compared with each other: measured together, interleaved
  // (the source too, when asked: it is the reference the uniform files are read against)
  const latencyFiles = [...o.types.map((type) => ({ file: files.get(type)!, label: type })), ...(o.source ? [{ file: s.model, label: "source" }] : [])];
  const latencies = groups.includes("latency") ? await measureLatencies(s, latencyFiles, o.latency) : [];
  for (const [index, type] of o.types.entries()) {
    const file = files.get(type)!;
    const memory = await measureMemory(file);
    const measuredWith: Partial<Record<MetricGroup, Provenance>> = {};
    let entry: Record<string, unknown> = { layerBytes: memory.layerBytes, fixedBytes: memory.fixedBytes, fileBytes: memory.fileBytes };
    if (groups.includes("memory")) {
      entry = { ...entry, memoryBytes: memory.memoryBytes };
      measuredWith.memory = provenance({ what: "bytes of all parameters (tensor data), read from the GGUF header" });
    }
    if (groups.includes("latency")) {
      entry = { ...entry, ...latencies[index]! };
      measuredWith.latency = provenance({ ...o.latency, rules: LATENCY_RULES });
    }
    if (groups.includes("accuracy")) {
      const a = await measureAccuracy(s, file, type, o.accuracy);
      entry = { ...entry, ...a };
      measuredWith.accuracy = provenance({
        evalText: o.accuracy.evalText.source.kind === "builtin" ? "built-in" : path.basename(o.accuracy.evalText.source.path),
        evalSha256: o.accuracy.evalText.sha256,
        nCtx: o.accuracy.nCtx,
        chunks: o.accuracy.chunks ?? "all",
        kld: o.accuracy.kld,
      });
    }
    types[type] = { ...entry, measuredWith } as TypeMeasurements;
  }
  const layerParams: Partial<Record<LayerName, number>> = {};
  for (const layer of s.info.layers) layerParams[layer.name] = layer.parameters;
  const profile: ProfileFile = {
    model: {
      sha256: s.sha256,
      name: path.basename(s.model),
      architecture: s.info.architecture,
      blocks: s.info.blockCount,
      layers: s.info.layers.length,
    },
    quantization: quantizationSettings(uniform),
    types,
    layerParams,
  };
  const source = o.source
    ? await measureSource(s, groups.includes("accuracy") ? { accuracy: o.accuracy } : {}, groups.includes("latency") ? latencies[o.types.length] : undefined)
    : undefined;
  return { profile, files, ...(source ? { source } : {}) };
}

/**
 * The uniform files and their profile, its latency the criterion's (latency-criterion.ts): `given` (e.g. latency measured on the edge device, merged
 * by the CLI) when there is one, after checking that it measured this model; else profiled here
 * (with the source model when `o.source`, as measured: a given profile has none, see {@link publishedSource}).
 */
export async function profileOrGiven(
  s: Session,
  o: ProfileOptions & { readonly profile?: ProfileFile; readonly latencyCriterion?: LatencyCriterion },
): Promise<{ profile: ProfileFile; files: Map<GgmlType, string>; source?: SourceModel }> {
  const criterion = o.latencyCriterion ?? "decode";
  if (o.profile === undefined) {
    const measured = await profileModel(s, o);
    return { profile: profileForCriterion(measured.profile, criterion), files: measured.files, ...(measured.source ? { source: measured.source } : {}) };
  }
  if (o.profile.model.sha256 !== s.sha256) {
    throw new InputError(`the profile measured ${o.profile.model.name} (sha256 ${o.profile.model.sha256.slice(0, 12)}…), not ${s.model}`);
  }
  // a given profile without the criterion's latency fails now, before any quantization
  const profile = profileForCriterion(o.profile, criterion);
  // the uniform files must be the ones the profile measured (same non-layer type, same importance matrix)
  const uniform = await resolveUniform(s, o);
  const ours = quantizationSettings(uniform);
  if (o.profile.quantization !== undefined && canonicalJson(o.profile.quantization) !== canonicalJson(ours)) {
    throw new InputError(
      `the profile measured uniform files quantized with ${canonicalJson(o.profile.quantization)}, this run's are ${canonicalJson(ours)}: ` +
        "give the same --calibration, --imatrix or --no-imatrix and --non-layer-type as the profile was made with",
    );
  }
  return { profile, files: await uniformModels(s, o.types, uniform) };
}

/** The uniform files' measurements as the profile holds them, one per type it measured. */
export function uniformMeasurements(profile: ProfileFile, types: readonly GgmlType[]): Partial<Record<GgmlType, MeasuredModel>> {
  const out: Partial<Record<GgmlType, MeasuredModel>> = {};
  // a profile entry is a MeasuredModel's fields plus provenance (profile-file.ts)
  for (const type of types) if (profile.types[type]) out[type] = profile.types[type] as unknown as MeasuredModel;
  return out;
}
