/**
 * A mixed-precision GGUF assembled from the uniform files: each layer's tensors are copied from
 * the file of the type the allocation gives it; everything outside the layers comes from the
 * base file (the same bytes in every uniform file: see uniform.ts). The file says what it is in
 * its metadata (apreqel.*) and in general.file_type as far as llama.cpp's enum allows.
 */
import { assemble, type AssembleResult } from "../ops/assemble.js";
import type { ModelInfo } from "../ops/inspect.js";
import type { Allocation } from "../method/allocate.js";
import type { LayerName } from "../method/layers.js";
import type { GgmlType } from "../method/types.js";
import type { Weights } from "../method/weights.js";
import { packageVersion } from "../core/package.js";
import { jobOptions, type Session } from "./session.js";

// llama_ftype of the pure type (llama.cpp's general.file_type has no value for "mixed": a mix is
// labelled with the type that holds most of its layer bytes, like llama.cpp's own presets).
const FILE_TYPE: Readonly<Record<string, number>> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q2_K: 10, q3_K: 12, q4_K: 15, q5_K: 17, q6_K: 18, iq4_nl: 25, iq4_xs: 30, bf16: 32,
};

export interface MixLabel {
  readonly weights: Weights;
  readonly distribution: Readonly<Partial<Record<GgmlType, number>>>;
  readonly nonLayerType: string;
  readonly weighting?: string;
  /** how the sensitivity table was obtained, when it was planned (measured and predicted cells) */
  readonly sensitivity?: string;
}

/** tensor name → type, for every quantizable tensor of the planned layers. */
export function tensorAssignment(info: ModelInfo, allocation: Allocation): Record<string, GgmlType> {
  const out: Record<string, GgmlType> = {};
  for (const layer of info.layers) {
    const type = allocation[layer.name as LayerName];
    if (type === undefined) throw new Error(`the allocation has no type for ${layer.name}`);
    for (const t of layer.tensors) out[t] = type;
  }
  return out;
}

export async function assembleMix(
  s: Session,
  uniform: ReadonlyMap<GgmlType, string>,
  allocation: Allocation,
  output: string,
  label: MixLabel,
): Promise<AssembleResult> {
  return assembleTensors(s, uniform, tensorAssignment(s.info, allocation), output, { ...label, allocation });
}

/**
 * A mix given per tensor (any granularity): each tensor is copied from the uniform file of its
 * type; tensors outside the blocks take theirs from `nonLayer` (type → a file whose non-layer
 * tensors have that type), as the front's tensor-level units may give them their own type.
 */
export async function assembleTensors(
  s: Session,
  uniform: ReadonlyMap<GgmlType, string>,
  assignment: Readonly<Record<string, GgmlType>>,
  output: string,
  label: MixLabel & { readonly allocation: Readonly<Record<string, GgmlType>> },
  nonLayer: ReadonlyMap<GgmlType, string> = new Map(),
): Promise<AssembleResult> {
  const inLayers = new Set(s.info.layers.flatMap((l) => l.tensors));
  const sources: Record<string, string> = {};
  const labels: Record<string, string> = {};
  const bytesByType = new Map<string, number>();
  const parameters = new Map(s.info.tensors.map((t) => [t.name, t.shape.reduce((a, b) => a * b, 1)]));
  for (const [tensor, type] of Object.entries(assignment)) {
    const layer = inLayers.has(tensor);
    const key = layer ? type : `non-layer ${type}`;
    const file = layer ? uniform.get(type) : nonLayer.get(type);
    if (!file) throw new Error(layer ? `no uniform ${type} file to take layers from` : `no file with ${type} non-layer tensors to take ${tensor} from`);
    sources[key] = file;
    labels[tensor] = key;
    bytesByType.set(type, (bytesByType.get(type) ?? 0) + (parameters.get(tensor) ?? 0));
  }
  const layerTypes = [...new Set(Object.entries(assignment).filter(([t]) => inLayers.has(t)).map(([, type]) => type))];
  const base = uniform.get(layerTypes[0] ?? [...uniform.keys()][0]!)!;
  const main = [...bytesByType].sort((a, b) => b[1] - a[1])[0]![0];
  return assemble({
    base,
    sources,
    assignment: labels,
    output,
    metadata: {
      "general.file_type": FILE_TYPE[main] ?? 1024,
      "apreqel.version": packageVersion(),
      "apreqel.weights": `memory=${label.weights.memory},latency=${label.weights.latency},accuracy=${label.weights.accuracy}`,
      ...(label.weighting ? { "apreqel.weighting": label.weighting } : {}),
      ...(label.sensitivity ? { "apreqel.sensitivity": label.sensitivity } : {}),
      "apreqel.distribution": JSON.stringify(label.distribution),
      "apreqel.allocation": JSON.stringify(label.allocation),
      "apreqel.non_layer_type": label.nonLayerType,
      "apreqel.source_sha256": s.sha256,
    },
    ...jobOptions(s, "assemble"),
  });
}
