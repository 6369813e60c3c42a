/**
 * `profile`: the uniform set's memory, latency and accuracy, written as profile.json with the
 * hardware, build and settings each metric was measured with. `only` restricts a run to the
 * metrics that belong to this machine (latency on the edge device, accuracy anywhere).
 */
import path from "node:path";
import type { LayerName } from "../method/layers.js";
import type { GgmlType } from "../method/types.js";
import type { MetricGroup, ProfileFile, Provenance, TypeMeasurements } from "./profile-file.js";
import { LATENCY_RULES, measureAccuracy, measureLatencies, measureMemory, type AccuracySettings, type LatencySettings } from "./measure-file.js";
import type { Session } from "./session.js";
import { quantizationSettings, resolveUniform, uniformModels, type UniformOptions } from "./uniform.js";

export interface ProfileOptions extends UniformOptions {
  readonly types: readonly GgmlType[];
  /** metric groups to measure; memory comes with latency (both are this machine's view of the file) */
  readonly only?: "latency" | "accuracy";
  readonly latency: LatencySettings;
  readonly accuracy: AccuracySettings;
}

export async function profileModel(s: Session, o: ProfileOptions): Promise<{ profile: ProfileFile; files: Map<GgmlType, string> }> {
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
  const latencies = groups.includes("latency") ? await measureLatencies(s, o.types.map((type) => ({ file: files.get(type)!, label: type })), o.latency) : [];
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
  return { profile, files };
}
