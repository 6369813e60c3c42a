// Issue 16 on the addon: matmulBench's timings and validation, and the latency protocol run on
// real (tiny) files.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { unitShapes } from "../../lib/method/latency-model.js";
import { matmulBench } from "../../lib/ops/matmul-bench.js";
import { measureInterleaved } from "../../lib/pipeline/measure-file.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "apreqel-latency-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("matmulBench", () => {
  it("times every (shape, batch) with the requested repetitions, in a buffer llama.cpp would use", async () => {
    const r = await matmulBench({ shapes: [{ type: "q8_0", k: 256, n: 512 }, { type: "q4_K", k: 256, n: 128 }], batches: [1, 8], reps: 3, threads: 2, streamMiB: 4 });
    expect(r.map((t) => `${t.type}:${t.k}x${t.n}@${t.batch}`)).toEqual(["q8_0:256x512@1", "q8_0:256x512@8", "q4_K:256x128@1", "q4_K:256x128@8"]);
    for (const t of r) {
      expect(t.samplesMs).toHaveLength(3);
      for (const ms of t.samplesMs) expect(ms).toBeGreaterThan(0);
      expect(t.buffer).toMatch(/^CPU/);
    }
    // decode chains distinct copies past streamMiB (4 MiB / 139264 bytes of q8_0 → 31), a prompt batch uses one
    expect(r[0]!.copies).toBe(Math.ceil((4 << 20) / ((256 / 32) * 34 * 512)));
    expect(r[1]!.copies).toBe(1);
  });

  it("a bigger weight costs more than a smaller one of the same type", async () => {
    const [small, big] = await matmulBench({ shapes: [{ type: "f16", k: 256, n: 256 }, { type: "f16", k: 1024, n: 4096 }], batches: [1], reps: 5, threads: 2, streamMiB: 16 });
    const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[2]!;
    expect(median(big!.samplesMs)).toBeGreaterThan(median(small!.samplesMs)); // 64× the bytes
  });

  it("refuses bad shapes and types with the reason", async () => {
    await expect(matmulBench({ shapes: [{ type: "q4_k", k: 256, n: 8 }], batches: [1] })).rejects.toThrow(/shapes\[0\]\.type.*q4_K/);
    await expect(matmulBench({ shapes: [{ type: "q4_K", k: 100, n: 8 }], batches: [1] })).rejects.toThrow("a multiple of q4_K's block size 256");
    await expect(matmulBench({ shapes: [], batches: [1] })).rejects.toThrow("shapes");
    await expect(matmulBench({ shapes: [{ type: "q8_0", k: 32, n: 8 }], batches: [0] })).rejects.toThrow("batches[0]");
  });
});

describe("the latency protocol on real files", () => {
  it("measures files interleaved: a median inside its interval per file, prefill too, and the machine's state", async () => {
    const f16 = await fixtureModel();
    const files = [];
    for (const type of ["q8_0", "q4_K"]) files.push({ file: (await quantize({ input: f16, output: path.join(dir, `${type}.gguf`), type })).output });
    const r = await measureInterleaved(files, { nGen: 4, nPrompt: 16, reps: 3, threads: 2, gpuLayers: 0 });
    expect(r).toHaveLength(2);
    for (const m of r) {
      expect(m.latencyInterval!.samples).toBe(3);
      expect(m.latencyInterval!.low).toBeLessThanOrEqual(m.latencyMsPerToken);
      expect(m.latencyMsPerToken).toBeLessThanOrEqual(m.latencyInterval!.high);
      expect(m.latencyInterval!.coverage).toBe(0.75); // n = 3: [min, max]
      expect(m.promptMsPerToken!.median).toBeGreaterThan(0);
      expect(typeof m.latencyMachine!.busy).toBe("boolean");
    }
    // every unit shape of a real file is something matmulBench accepts
    const shapes = unitShapes((await inspect(files[1]!.file)).tensors);
    expect([...new Set(shapes.map((s) => `${s.k}x${s.n}`))].sort()).toEqual(["256x128", "256x256", "256x768", "768x256"]); // k/v, q/o, gate/up, down
    const timed = await matmulBench({ shapes, batches: [1], reps: 1, threads: 2, streamMiB: 1 });
    expect(timed).toHaveLength(shapes.length);
  });
});
