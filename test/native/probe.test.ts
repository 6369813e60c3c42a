import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../lib/ops/assemble.js";
import { perplexity } from "../../lib/ops/perplexity.js";
import { probeSensitivity, probeStopAt, type ProbeSpec } from "../../lib/ops/probe.js";
import { quantizationError } from "../../lib/ops/quant-error.js";
import { openSession } from "../../lib/pipeline/session.js";
import { measureSensitivity } from "../../lib/pipeline/sensitivity.js";
import { quantize } from "../../lib/ops/quantize.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { head, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { runCli } from "../helpers/cli.js";
import { slow } from "../helpers/machine-speed.js";
import { syntheticText } from "../helpers/text.js";

const dir = tempDir();
const nCtx = 64;
const chunks = 3;

const text = syntheticText(800);
let source = "";
let reference = "";
let q4 = "";
let q4Head = "";

beforeAll(async () => {
  source = await fixtureModel();
  reference = path.join(dir, "q8_0.gguf");
  q4 = path.join(dir, "q4_K.gguf");
  q4Head = path.join(dir, "q4_K-head.gguf");
  // as the uniform set makes them: tensors outside the blocks at q8_0
  await quantize({ input: source, output: reference, type: "q8_0", tokenEmbeddingType: "q8_0", outputType: "q8_0" });
  await quantize({ input: source, output: q4, type: "q4_K", tokenEmbeddingType: "q8_0", outputType: "q8_0" });
  await quantize({ input: source, output: q4Head, type: "q8_0", tokenEmbeddingType: "q4_K", outputType: "q4_K" });
}, slow(300_000));

describe("sensitivity probe (in-process swaps)", () => {
  it("a unit swapped in at the reference's own type gives Δ = 0 exactly", async () => {
    const r = await probeSensitivity({
      model: reference, base: source, text, nCtx, chunks, threads: 2,
      probes: [{ tensors: [] }, { tensors: ["blk.1.attn_q.weight", "blk.1.ffn_up.weight"], source: reference }],
    });
    expect(r.kld[0]!.mean).toBeGreaterThan(0);
    expect(r.kld[1]!.mean - r.kld[0]!.mean).toBe(0);
    expect(r.logitsHashes[1]).toBe(r.logitsHashes[0]);
  });

  it("swapping a tensor in and back leaves the logits bit-identical", async () => {
    const r = await probeSensitivity({
      model: reference, base: source, text, nCtx, chunks, threads: 2,
      probes: [
        { tensors: [] },
        { tensors: ["blk.2.ffn_down.weight"], source: q4 },
        // the reference's own bytes again: from block 2's captured input, then from the tokens
        { tensors: ["blk.2.ffn_down.weight"], source: reference },
        { tensors: ["blk.0.ffn_down.weight"], source: reference },
      ],
    });
    expect(r.logitsHashes[1]).not.toBe(r.logitsHashes[0]);
    expect(r.kld[1]!.mean).toBeGreaterThan(r.kld[0]!.mean);
    expect(r.kld.map((k) => k.startBlock)).toEqual([0, 2, 2, 0]);
    expect(r.logitsHashes[2]).toBe(r.logitsHashes[0]);
    expect(r.logitsHashes[3]).toBe(r.logitsHashes[0]);
    expect(r.kld[2]!.mean).toBe(r.kld[0]!.mean);
    expect(r.kld[3]!.mean).toBe(r.kld[0]!.mean);
  });

  it("each probe equals perplexity()'s KLD of a file assembled with that one unit changed", async () => {
    const cases = [
      { tensors: ["blk.1.ffn_down.weight"], source: q4 },
      { tensors: ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight"], source: q4 },
      { tensors: ["output.weight"], source: q4Head },
      { tensors: ["token_embd.weight"], source: q4Head },
    ];
    // llama-perplexity's convention (the second half scored), as eval and the result's KLD keep it
    const r = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, warmup: "perplexity", probes: [{ tensors: [] }, ...cases] });
    expect(r.scoredTokens).toBe(chunks * (nCtx - 1 - nCtx / 2));
    expect(r.kld.map((k) => k.startBlock)).toEqual([0, 1, 0, 3, 0]);
    const ref = await perplexity({ model: reference, klBase: source, text, nCtx, chunks, nBatch: nCtx, threads: 2 });
    expect(r.kld[0]!.mean).toBeCloseTo(ref.kld!.mean, 7);
    expect(Math.abs(r.kld[0]!.mean / ref.kld!.mean - 1)).toBeLessThan(1e-4);
    for (const [i, c] of cases.entries()) {
      const out = path.join(dir, `assembled-${i}.gguf`);
      await assemble({ base: reference, sources: { s: c.source }, assignment: Object.fromEntries(c.tensors.map((t) => [t, "s"])), output: out });
      const measured = await perplexity({ model: out, klBase: source, text, nCtx, chunks, nBatch: nCtx, threads: 2 });
      const probe = r.kld[i + 1]!;
      expect(Math.abs(probe.mean / measured.kld!.mean - 1), `${c.tensors.join(",")}: probe ${probe.mean} vs file ${measured.kld!.mean}`).toBeLessThan(1e-4);
      expect(probe.sameTopPercent).toBeCloseTo(measured.kld!.sameTopPercent, 6);
    }
  }, slow(300_000));

  it("a probe scoring every position past the warm-up equals the KLD of the assembled one-unit file over the same tokens", async () => {
    const warmup = 2;
    const cases = [
      { tensors: ["blk.1.ffn_down.weight"], source: q4 },
      { tensors: ["blk.3.attn_v.weight", "blk.3.ffn_up.weight"], source: q4 },
      { tensors: ["output.weight"], source: q4Head },
      { tensors: ["token_embd.weight"], source: q4Head },
    ];
    const r = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, warmup, probes: [{ tensors: [] }, ...cases] });
    expect(r.firstScored).toBe(warmup);
    expect(r.scoredTokens).toBe(chunks * (nCtx - warmup));
    expect(r.kld.map((k) => k.startBlock)).toEqual([0, 1, 3, 3, 0]);
    expect(r.kld.map((k) => k.tokens)).toEqual(Array(5).fill(chunks * (nCtx - warmup)));
    // decoded tokens × the fraction of the 4 blocks each probe computed; the reference's pass is in the totals
    expect(r.kld.map((k) => k.forwardTokens)).toEqual([0, (chunks * nCtx * 3) / 4, (chunks * nCtx) / 4, (chunks * nCtx) / 4, chunks * nCtx]);
    expect(r.cost.referenceTokens).toBe(chunks * nCtx);
    expect(r.cost.baseTokens).toBe(chunks * nCtx);
    expect(r.cost.forwardTokens).toBe(2 * chunks * nCtx + r.kld.reduce((a, k) => a + k.forwardTokens, 0));
    for (const [i, c] of cases.entries()) {
      const out = path.join(dir, `assembled-all-${i}.gguf`);
      await assemble({ base: reference, sources: { s: c.source }, assignment: Object.fromEntries(c.tensors.map((t) => [t, "s"])), output: out });
      const file = await probeSensitivity({ model: out, base: source, text, nCtx, chunks, threads: 2, warmup, probes: [{ tensors: [] }] });
      const probe = r.kld[i + 1]!;
      expect(Math.abs(probe.mean / file.kld[0]!.mean - 1), `${c.tensors.join(",")}: probe ${probe.mean} vs file ${file.kld[0]!.mean}`).toBeLessThan(1e-4);
      expect(probe.sameTopPercent).toBeCloseTo(file.kld[0]!.sameTopPercent, 6);
    }
  }, 300_000);

  it("a probe started at its block equals the same probe run from the tokens", async () => {
    const probes: ProbeSpec[] = [
      { tensors: [] },
      { tensors: ["blk.2.ffn_down.weight"], source: q4 },
      { tensors: ["blk.1.attn_q.weight", "blk.3.ffn_gate.weight"], source: q4 },
      { tensors: ["output.weight"], source: q4Head },
    ];
    const started = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes });
    const full = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes, startAtBlock: false });
    expect(started.startAtBlockRefused).toBeUndefined();
    expect(started.kld.map((k) => k.startBlock)).toEqual([0, 2, 1, 3]);
    expect(full.kld.map((k) => k.startBlock)).toEqual([0, 0, 0, 0]);
    expect(started.cost.probeForwardTokens).toBe((chunks * nCtx * (2 + 3 + 1)) / 4);
    expect(full.cost.probeForwardTokens).toBe(chunks * nCtx * 3);
    // the blocks before the probe's are the reference's in both: the same logits to float tolerance
    // (the residual stream enters block l as the same f32 values; bit-identical on this CPU build)
    for (let i = 0; i < probes.length; i++) {
      expect(Math.abs(started.kld[i]!.mean / full.kld[i]!.mean - 1)).toBeLessThan(1e-6);
      expect(started.kld[i]!.sameTopPercent).toBe(full.kld[i]!.sameTopPercent);
    }
    expect(started.logitsHashes[0]).toBe(full.logitsHashes[0]);
  }, 300_000);

  it("qwen3 starts probes at their block too; an architecture not planned for it runs every probe from the tokens, and says why", async () => {
    for (const arch of ["qwen3", "qwen2"] as const) {
      const m = await fixtureModel({}, 1, "f16", arch);
      const mRef = path.join(dir, `${arch}-q8_0.gguf`);
      const mQ4 = path.join(dir, `${arch}-q4_K.gguf`);
      await quantize({ input: m, output: mRef, type: "q8_0", tokenEmbeddingType: "q8_0", outputType: "q8_0" });
      await quantize({ input: m, output: mQ4, type: "q4_K", tokenEmbeddingType: "q8_0", outputType: "q8_0" });
      const probes: ProbeSpec[] = [{ tensors: [] }, { tensors: ["blk.2.ffn_down.weight"], source: mQ4 }, { tensors: ["blk.1.attn_k.weight"], source: mRef }];
      const r = await probeSensitivity({ model: mRef, base: m, text, nCtx, chunks: 2, threads: 2, probes });
      expect(r.kld[1]!.mean).toBeGreaterThan(r.kld[0]!.mean);
      if (arch === "qwen2") {
        expect(r.startAtBlockRefused).toMatch(/architecture qwen2 is not planned/);
        expect(r.kld.map((k) => k.startBlock)).toEqual([0, 0, 0]);
        expect(r.kld[1]!.forwardTokens).toBe(2 * nCtx);
        continue;
      }
      expect(r.startAtBlockRefused).toBeUndefined();
      expect(r.kld.map((k) => k.startBlock)).toEqual([0, 2, 1]);
      expect(r.logitsHashes[2]).toBe(r.logitsHashes[0]);
      const full = await probeSensitivity({ model: mRef, base: m, text, nCtx, chunks: 2, threads: 2, probes, startAtBlock: false });
      expect(Math.abs(r.kld[1]!.mean / full.kld[1]!.mean - 1)).toBeLessThan(1e-6);
    }
  }, 300_000);

  it("the stopping rule stops where a hand-worked sequence says", () => {
    const rule = { relativeStderr: 0.1, minTokens: 0, maxTokens: Infinity };
    // constant Δ: standard error 0 ≤ 0.1 · 1 at the first check
    expect(probeStopAt([1, 1, 1, 1, 1, 1], 2, rule)).toBe(2);
    // 1, 3, 1, 3, …: mean 2, population variance 1, so after n values stderr = √(1/(n−1)); ≤ 0.2 needs
    // n − 1 ≥ 25: the first check at n ≥ 26 (checks every 2 values) stops at 26
    const alternating = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 1 : 3));
    expect(probeStopAt(alternating, 2, rule)).toBe(26);
    // checked every 4 values: the first check at n ≥ 26 is n = 28
    expect(probeStopAt(alternating, 4, rule)).toBe(28);
    // the ceiling and the floor
    expect(probeStopAt(alternating, 2, { ...rule, maxTokens: 10 })).toBe(10);
    expect(probeStopAt(alternating, 2, { ...rule, minTokens: 31 })).toBe(32);
    // no rule: every value
    expect(probeStopAt(alternating, 2, { ...rule, relativeStderr: 0 })).toBe(60);
    // or once the standard error is ≤ referenceFraction × the reference's KLD: 0.02 × 20 = 0.4 needs
    // √(1/(n−1)) ≤ 0.4, n − 1 ≥ 6.25: the first check past it is n = 8 (before the relative rule's 26)
    expect(probeStopAt(alternating, 2, { relativeStderr: 0, referenceFraction: 0.02, minTokens: 0, maxTokens: Infinity }, 20)).toBe(8);
    expect(probeStopAt(alternating, 2, { relativeStderr: 0.1, referenceFraction: 0.02, minTokens: 0, maxTokens: Infinity }, 20)).toBe(8);
    // Δ exactly 0 (the reference's own bytes): stops at the floor
    expect(probeStopAt(Array(20).fill(0), 5, { ...rule, minTokens: 10 })).toBe(10);
  });

  it("a probe stops by the rule after whole chunks, and reports the KLD paired with the reference", async () => {
    const perChunk = nCtx - 8;
    const probes: ProbeSpec[] = [{ tensors: [] }, { tensors: ["blk.2.ffn_down.weight"], source: q4 }];
    const all = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes });
    // a rule any Δ meets at once: the floor decides (one token more than a chunk: two chunks)
    const early = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes, stop: { relativeStderr: 100, minTokens: perChunk + 1, maxTokens: Infinity } });
    expect(early.kld[1]!.tokens).toBe(2 * perChunk);
    expect(early.kld[1]!.forwardTokens).toBe((2 * nCtx * 2) / 4);
    expect(early.kld[0]!.tokens).toBe(chunks * perChunk); // the reference always scores every chunk
    // the ceiling: one chunk
    const capped = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes, stop: { relativeStderr: 0, minTokens: 0, maxTokens: perChunk } });
    expect(capped.kld[1]!.tokens).toBe(perChunk);
    // Δ over the chunks scored estimates Δ over all of them: within a few of its standard errors
    const deltaAll = all.kld[1]!.mean - all.kld[0]!.mean;
    const deltaEarly = early.kld[1]!.mean - early.kld[0]!.mean;
    expect(Math.abs(deltaEarly - deltaAll)).toBeLessThan(4 * early.kld[1]!.deltaStderr);
    expect(all.kld[1]!.deltaStderr).toBeGreaterThan(0);
  }, 300_000);

  it("base distributions kept in f16 give the f32 KLD to 0.2% and its Δ to 0.01%", async () => {
    const probes: ProbeSpec[] = [{ tensors: [] }, { tensors: ["blk.2.ffn_down.weight"], source: q4 }, { tensors: ["blk.0.attn_v.weight"], source: q4 }];
    const f32 = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes, baseFormat: "f32" });
    const f16 = await probeSensitivity({ model: reference, base: source, text, nCtx, chunks, threads: 2, probes, baseFormat: "f16" });
    expect(f32.cost.baseFormat).toBe("f32");
    expect(f16.cost.baseFormat).toBe("f16");
    expect(f16.cost.baseBytes).toBeLessThan(0.6 * f32.cost.baseBytes);
    for (let i = 0; i < probes.length; i++) {
      // the reference's KLD here is 2e-5: the rounding's residue (≈ 2e-8, the same in every probe) is 0.1% of it
      expect(Math.abs(f16.kld[i]!.mean / f32.kld[i]!.mean - 1)).toBeLessThan(2e-3);
      if (i > 0) {
        const d32 = f32.kld[i]!.mean - f32.kld[0]!.mean;
        const d16 = f16.kld[i]!.mean - f16.kld[0]!.mean;
        expect(Math.abs(d16 / d32 - 1)).toBeLessThan(1e-4);
      }
    }
  }, 300_000);

  it("a warm-up or stopping rule out of range is an option error naming it", async () => {
    const base = { model: reference, base: source, text, nCtx, chunks: 1, probes: [{ tensors: [] }] as ProbeSpec[] };
    await expect(probeSensitivity({ ...base, warmup: nCtx })).rejects.toThrow(/option warmup/);
    await expect(probeSensitivity({ ...base, stop: { relativeStderr: -1, minTokens: 0, maxTokens: 10 } })).rejects.toThrow(/option stop/);
    await expect(probeSensitivity({ ...base, stop: { relativeStderr: 0.1, minTokens: 0, maxTokens: 0 } })).rejects.toThrow(/option stop/);
  });

  it("a tensor the source file lacks, or a shape that differs, is a clear error", async () => {
    await expect(
      probeSensitivity({ model: reference, base: source, text, nCtx, chunks: 1, probes: [{ tensors: ["blk.9.attn_q.weight"], source: q4 }] }),
    ).rejects.toThrow(/tensor blk\.9\.attn_q\.weight is not in .*q4_K\.gguf/);
    await expect(
      probeSensitivity({ model: reference, base: source, text, nCtx, chunks: 1, probes: [{ tensors: ["blk.0.attn_q.weight"], source: await fixtureModel({ nEmbd: 128 }) }] }),
    ).rejects.toThrow(/another shape than in the reference/);
  });

  it("a cancelled table keeps its finished probes in the cache, and a rerun only runs the rest", async () => {
    const cacheDir = path.join(dir, "cache");
    const calibration = { prompts: [text], source: { kind: "file" as const, path: "synthetic" }, sha256: "0".repeat(64) };
    const controller = new AbortController();
    const s = await openSession({ model: source, cacheDir, signal: controller.signal });
    const types = ["q8_0", "q4_K"] as const;
    let aborted = false;
    await expect(
      measureSensitivity(s, {
        units: "sublayer", types, calibration, nCtx, chunks, threads: 2,
        // 9 probes (reference + 8 sub-layers at q4_K; at q8_0 each is the reference itself), each `chunks` decodes after the base model's
        onProgress: (f) => {
          if (!aborted && f > 0.45) {
            aborted = true;
            controller.abort();
          }
        },
      }),
    ).rejects.toThrow(/abort/i);
    const published = s.cache.counts().published - types.length; // minus the two uniform files
    expect(published).toBeGreaterThan(0);
    expect(published).toBeLessThan(9);
    const again = await openSession({ model: source, cacheDir });
    const full = await measureSensitivity(again, { units: "sublayer", types, calibration, nCtx, chunks, threads: 2 });
    expect(full.cached).toBe(published);
    expect(full.probed).toBe(9 - published);
    expect(full.table.units).toEqual(["blk.0.attn", "blk.0.ffn", "blk.1.attn", "blk.1.ffn", "blk.2.attn", "blk.2.ffn", "blk.3.attn", "blk.3.ffn"]);
    expect(full.table.delta.every((row) => row[0] === 0)).toBe(true);
    expect(full.table.delta.every((row) => row[1]! > 0)).toBe(true);
    // a third run is all cache
    const third = await measureSensitivity(again, { units: "sublayer", types, calibration, nCtx, chunks, threads: 2 });
    expect(third.probed).toBe(0);
    expect(third.table).toEqual(full.table);
  }, slow(300_000));

  const tiny = sharedFile("models/tinystories-656k/TinyStories-656K-F32.gguf");
  const wiki = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
  const reason = !tiny ? skipReason("models/tinystories-656k/TinyStories-656K-F32.gguf") : !wiki ? skipReason("data/wikitext-2-raw/wiki.valid.raw") : "";
  it.skipIf(reason !== "")(`a tokenizer that cannot encode the calibration text fails clearly${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    expect(existsSync(tiny!)).toBe(true);
    await expect(
      probeSensitivity({ model: tiny!, base: tiny!, text: head(wiki!, 20_000), nCtx: 64, probes: [{ tensors: [] }] }),
    ).rejects.toThrow(/tokenizer cannot encode this text/);
  });

  it("apreqel score --sensitivity measured --granularity tensor writes the table into scores.json", async () => {
    const calibration = path.join(dir, "calibration.txt");
    writeFileSync(calibration, text);
    const out = path.join(dir, "scores.json");
    const args = ["score", source, "-o", out, "--calibration", calibration, "--ctx", "64", "--threads", "2", "--cache-dir", path.join(dir, "cli-cache")];
    const alone = await runCli([...args, "--granularity", "tensor"]);
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toMatch(/--granularity and --probe-chunks go with --sensitivity measured/);
    const typo = await runCli([...args, "--sensitivity", "measure"]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/--sensitivity.*measured/);
    const r = await runCli([...args, "--sensitivity", "measured", "--granularity", "tensor", "--types", "q4_K,q8_0", "--probe-chunks", "2", "--probe-budget", "all"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/measured Δ KLD of 30 units × 2 types \(31 probes run, 0 from the cache\)/);
    const scores = JSON.parse(readFileSync(out, "utf8"));
    expect(scores.layers).toHaveLength(8);
    expect(scores.sensitivity.types).toEqual(["q8_0", "q4_K"]);
    expect(scores.sensitivity.units.slice(0, 7)).toEqual(["blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v", "blk.0.attn_output", "blk.0.ffn_gate", "blk.0.ffn_up", "blk.0.ffn_down"]);
    expect(scores.sensitivity.units.slice(-2)).toEqual(["token_embd", "output"]);
    expect(scores.sensitivity.delta.every((row: number[]) => row[0] === 0)).toBe(true);
  }, slow(600_000));

  it("quantization error proxy: 0 for the source's own tensor, and growing as the type gets more aggressive", async () => {
    const q3 = path.join(dir, "q3_K.gguf");
    await quantize({ input: source, output: q3, type: "q3_K", tokenEmbeddingType: "q8_0", outputType: "q8_0" });
    const tensors = ["blk.0.attn_q.weight", "blk.3.ffn_down.weight"];
    const e = await quantizationError({ source, files: [source, reference, q4, q3], tensors });
    for (const row of e) {
      expect(row[0]).toBe(0);
      expect(row[1]!).toBeGreaterThan(0);
      expect(row[2]!).toBeGreaterThan(row[1]!);
      expect(row[3]!).toBeGreaterThan(row[2]!);
    }
    await expect(quantizationError({ source, files: [q4], tensors: ["blk.0.nothing.weight"] })).rejects.toThrow(/tensor blk\.0\.nothing\.weight is not in/);
  });
});
