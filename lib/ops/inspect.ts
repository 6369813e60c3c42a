/** inspect(): a GGUF's header, tensors and the method's sub-layers, without reading tensor data. */
import { requireInputFile } from "../core/files.js";
import { binding, type RawHeader, type RawMetadataValue } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { requireOptions, validateJobOptions } from "../core/validate.js";
import type { LayerKind, LayerName } from "../method/layers.js";
import { isQuantizable, subLayerOf } from "../gguf/layers.js";

export type MetadataValue = RawMetadataValue | { readonly arrayType: string; readonly length: number };

export interface TensorInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** absolute byte offset of the tensor's data in the file */
  readonly offset: number;
  /** `blk.N.attn` / `blk.N.ffn`, or null outside the blocks (embeddings, output head) */
  readonly subLayer: LayerName | null;
  readonly quantizable: boolean;
}

export interface LayerInfo {
  readonly name: LayerName;
  readonly block: number;
  readonly kind: LayerKind;
  /** the layer's quantizable tensors */
  readonly tensors: readonly string[];
  readonly bytes: number;
  readonly parameters: number;
}

export interface ModelInfo {
  readonly path: string;
  readonly fileSize: number;
  readonly ggufVersion: number;
  readonly alignment: number;
  readonly architecture: string;
  readonly blockCount: number;
  readonly metadata: Readonly<Record<string, MetadataValue>>;
  readonly tensors: readonly TensorInfo[];
  /** sub-layers in block order (attn before ffn), only those holding quantizable tensors */
  readonly layers: readonly LayerInfo[];
}

export async function inspect(file: string, options: JobOptions = {}): Promise<ModelInfo> {
  requireOptions(options, "inspect");
  validateJobOptions(options);
  const abs = await requireInputFile(file, "model");
  const raw = await runJob(options, (job) => binding().inspect({ path: abs, ...job }));
  return describeHeader(raw);
}

function describeHeader(raw: RawHeader): ModelInfo {
  const metadata: Record<string, MetadataValue> = {};
  for (const kv of raw.metadata) {
    metadata[kv.key] = kv.value ?? { arrayType: kv.arrayType ?? "unknown", length: kv.length ?? 0 };
  }
  const architecture = typeof metadata["general.architecture"] === "string" ? metadata["general.architecture"] : "unknown";
  const blockCountValue = metadata[`${architecture}.block_count`];
  const tensors: TensorInfo[] = raw.tensors.map((t) => ({
    ...t,
    subLayer: subLayerOf(t.name)?.name ?? null,
    quantizable: isQuantizable(t.name, t.shape),
  }));
  const layers = new Map<LayerName, { block: number; kind: LayerKind; tensors: string[]; bytes: number; parameters: number }>();
  for (const t of tensors) {
    const sub = subLayerOf(t.name);
    if (!sub || !t.quantizable) continue;
    const entry = layers.get(sub.name) ?? { block: sub.block, kind: sub.kind, tensors: [], bytes: 0, parameters: 0 };
    entry.tensors.push(t.name);
    entry.bytes += t.bytes;
    entry.parameters += t.shape.reduce((a, b) => a * b, 1);
    layers.set(sub.name, entry);
  }
  const ordered = [...layers.entries()]
    .map(([name, l]) => ({ name, ...l }))
    .sort((a, b) => a.block - b.block || (a.kind === b.kind ? 0 : a.kind === "attn" ? -1 : 1));
  const maxBlock = ordered.reduce((m, l) => Math.max(m, l.block + 1), 0);
  return {
    path: raw.path,
    fileSize: raw.fileSize,
    ggufVersion: raw.version,
    alignment: raw.alignment,
    architecture,
    blockCount: typeof blockCountValue === "number" ? blockCountValue : maxBlock,
    metadata,
    tensors,
    layers: ordered,
  };
}
