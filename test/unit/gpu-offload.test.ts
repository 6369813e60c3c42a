import { describe, expect, it } from "vitest";
import type { TensorInfo } from "../../lib/ops/inspect.js";
import { checkGpuOffload, maxFittingGpuLayers, offloadedWeightBytes } from "../../lib/ops/gpu-offload.js";
import type { RawDevice } from "../../lib/native/binding.js";

const tensor = (name: string, bytes: number) => ({ name, bytes }) as TensorInfo;
// 3 blocks of 100 + 1 bytes (matrix + norm), embeddings 50, output head 40 + norm 1
const model = {
  blockCount: 3,
  tensors: [
    tensor("token_embd.weight", 50),
    ...[0, 1, 2].flatMap((b) => [tensor(`blk.${b}.attn_q.weight`, 100), tensor(`blk.${b}.attn_norm.weight`, 1)]),
    tensor("output_norm.weight", 1),
    tensor("output.weight", 40),
  ],
};
const gpu = (free: number): RawDevice => ({ name: "CUDA0", description: "Orin", type: "gpu", memoryFree: free, memoryTotal: 2 * free });
const cpu: RawDevice = { name: "CPU", description: "cpu", type: "cpu", memoryFree: 1e12, memoryTotal: 1e12 };

describe("offloadedWeightBytes follows llama.cpp's n_gpu_layers rule", () => {
  it("1 = the output layer, then blocks from the last; -1 and anything past blocks + 1 = all but the embeddings", () => {
    expect(offloadedWeightBytes(model, 0)).toBe(0);
    expect(offloadedWeightBytes(model, 1)).toBe(41);
    expect(offloadedWeightBytes(model, 2)).toBe(41 + 101);
    expect(offloadedWeightBytes(model, 4)).toBe(41 + 303);
    expect(offloadedWeightBytes(model, 99)).toBe(344);
    expect(offloadedWeightBytes(model, -1)).toBe(344);
  });

  it("tied embeddings: the output layer carries a copy of token_embd", () => {
    const tied = { ...model, tensors: model.tensors.filter((t) => t.name !== "output.weight") };
    expect(offloadedWeightBytes(tied, 1)).toBe(1 + 50);
  });

  it("maxFittingGpuLayers is the largest count whose weights fit", () => {
    expect(maxFittingGpuLayers(model, 40)).toBe(0);
    expect(maxFittingGpuLayers(model, 41)).toBe(1);
    expect(maxFittingGpuLayers(model, 243)).toBe(3);
    expect(maxFittingGpuLayers(model, 1e9)).toBe(4);
  });
});

describe("checkGpuOffload", () => {
  it("gpuLayers 0 needs nothing", () => {
    expect(() => checkGpuOffload(model, 0, { gpuOffload: false, devices: [cpu] })).not.toThrow();
  });

  it("a CPU-only build refuses offload instead of running on the CPU", () => {
    expect(() => checkGpuOffload(model, -1, { gpuOffload: false, devices: [cpu] })).toThrow(
      "gpuLayers is -1, but this build of apreqel has no GPU backend (CPU only): use gpuLayers 0, or build with CUDA (npx apreqel build --cuda)",
    );
  });

  it("weights larger than the GPUs' free memory: says how many layers fit", () => {
    const err = (() => {
      try {
        checkGpuOffload(model, -1, { gpuOffload: true, devices: [cpu, gpu(250)] });
      } catch (e) {
        return e as Error & { option?: string };
      }
      return undefined;
    })();
    expect(err?.option).toBe("gpuLayers");
    expect(err?.message).toMatch(/^gpuLayers -1 puts 0\.00 GiB of weights on the GPU, but CUDA0 \(Orin\) has 0\.00 GiB free: at most gpuLayers 3 fits/);
    expect(() => checkGpuOffload(model, 3, { gpuOffload: true, devices: [cpu, gpu(250)] })).not.toThrow();
  });

  it("a model and its KL-divergence base load at once: their weights add up", () => {
    expect(maxFittingGpuLayers([model, model], 2 * 142)).toBe(2);
    expect(() => checkGpuOffload([model, model], -1, { gpuOffload: true, devices: [gpu(400)] })).toThrow(/at most gpuLayers 2 fits.*\(2 models of up to 3 blocks\)/);
    expect(() => checkGpuOffload(model, -1, { gpuOffload: true, devices: [gpu(400)] })).not.toThrow();
  });

  it("free memory of several GPUs adds up (llama.cpp splits the layers)", () => {
    expect(() => checkGpuOffload(model, -1, { gpuOffload: true, devices: [gpu(200), gpu(200)] })).not.toThrow();
  });
});
