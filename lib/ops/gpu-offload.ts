/**
 * Checks `gpuLayers` against the build and the GPUs before llama.cpp is asked to load anything,
 * so a request that cannot be met is a clear error: a CPU-only build would silently run on the
 * CPU (and label CPU latencies as GPU ones), and weights that do not fit fail deep inside the
 * load. llama.cpp's rule for n_gpu_layers = k: the output layer and the last k − 1 blocks go to
 * the GPUs (k > blocks, or −1, offloads every block); token embeddings stay on the CPU.
 */
import { OptionError } from "../core/errors.js";
import type { ModelInfo } from "./inspect.js";
import { blockOf } from "../gguf/layers.js";
import type { BuildInfo } from "./build-info.js";

type ModelLayout = Pick<ModelInfo, "blockCount" | "tensors">;

/** Bytes of the weights llama.cpp puts on the GPUs for `gpuLayers` (−1 = all). */
export function offloadedWeightBytes(model: ModelLayout, gpuLayers: number): number {
  const n = model.blockCount;
  const k = gpuLayers < 0 ? n + 1 : Math.min(gpuLayers, n + 1);
  if (k === 0) return 0;
  const firstBlock = n + 1 - k;
  // with tied embeddings llama.cpp gives the output layer its own copy of token_embd
  const tied = !model.tensors.some((t) => t.name === "output.weight");
  let bytes = 0;
  for (const t of model.tensors) {
    const block = blockOf(t.name);
    if (block !== null) {
      if (block >= firstBlock) bytes += t.bytes;
    } else if (t.name.startsWith("output") || (tied && t.name === "token_embd.weight")) {
      bytes += t.bytes;
    }
  }
  return bytes;
}

/** The largest `gpuLayers` whose weights (of all `models`, loaded at once) fit in `freeBytes`. */
export function maxFittingGpuLayers(models: ModelLayout | readonly ModelLayout[], freeBytes: number): number {
  const all = list(models);
  const blocks = Math.max(...all.map((m) => m.blockCount));
  let k = 0;
  while (k <= blocks && totalOffloaded(all, k + 1) <= freeBytes) k++;
  return k;
}

function list(models: ModelLayout | readonly ModelLayout[]): readonly ModelLayout[] {
  return Array.isArray(models) ? models : [models as ModelLayout];
}

function totalOffloaded(models: readonly ModelLayout[], gpuLayers: number): number {
  return models.reduce((sum, m) => sum + offloadedWeightBytes(m, gpuLayers), 0);
}

/**
 * Throws an OptionError when `gpuLayers` cannot be honoured by this build or these GPUs; `models`
 * are loaded at once with the same `gpuLayers` (a model and its KL-divergence base).
 */
export function checkGpuOffload(
  models: ModelLayout | readonly ModelLayout[],
  gpuLayers: number,
  build: Pick<BuildInfo, "gpuOffload" | "devices">,
): void {
  if (gpuLayers === 0) return;
  if (!build.gpuOffload) {
    throw new OptionError(
      "gpuLayers",
      `gpuLayers is ${gpuLayers}, but this build of apreqel has no GPU backend (CPU only): use gpuLayers 0, or build with CUDA (npx apreqel build --cuda)`,
    );
  }
  const gpus = build.devices.filter((d) => d.type === "gpu" || d.type === "igpu");
  const free = gpus.reduce((s, d) => s + d.memoryFree, 0);
  const all = list(models);
  const need = totalOffloaded(all, gpuLayers);
  if (need > free) {
    const names = gpus.map((d) => `${d.name} (${d.description})`).join(", ") || "no GPU device";
    const blocks = Math.max(...all.map((m) => m.blockCount));
    throw new OptionError(
      "gpuLayers",
      `gpuLayers ${gpuLayers} puts ${gib(need)} of weights on the GPU, but ${names} has ${gib(free)} free: ` +
        `at most gpuLayers ${maxFittingGpuLayers(all, free)} fits, before the KV cache and compute buffers (${all.length > 1 ? `${all.length} models of up to ${blocks}` : blocks} blocks)`,
    );
  }
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
