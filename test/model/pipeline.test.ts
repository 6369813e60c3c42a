import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { runCli } from "../helpers/cli.js";
import { head, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const MODEL = "models/debian-prose-11m/debian-prose-llama-11M-F16.gguf";
const model = sharedFile(MODEL);
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
const test = sharedFile("data/wikitext-2-raw/wiki.test.raw");
const reason = !model ? skipReason(MODEL) : !valid || !test ? skipReason("data/wikitext-2-raw") : "";
const dir = tempDir();

describe("apreqel quantize on a trained model (../shared)", () => {
  it.skipIf(reason !== "")(`debian-prose-11m, the default method (the front of measured Δ KLD per tensor): each tensor's type is the allocation's, memory-first is smaller, accuracy-first has the lower KLD${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    const calibration = path.join(dir, "calibration-front.txt");
    writeFileSync(calibration, head(valid!, 6000));
    const evalText = path.join(dir, "eval-front.txt");
    writeFileSync(evalText, head(test!, 20000));
    const common = ["--cache-dir", path.join(dir, "cache"), "--calibration", calibration, "--eval-text", evalText, "--ctx", "256", "--chunks", "4", "--probe-chunks", "2", "--n-gen", "8", "--n-prompt", "0", "--reps", "1", "--types", "q8_0,q5_K,q4_K,q3_K", "--json"];
    const runs: Record<string, { bytes: number; kld: number }> = {};
    for (const priority of ["memory", "accuracy"]) {
      const out = path.join(dir, `front-${priority}.gguf`);
      const r = await runCli(["quantize", model!, "-o", out, "--priority", priority, ...common]);
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout) as { method: string; costs: string; allocation: Record<string, string>; measured: { kld: { mean: number } } };
      expect(plan.method).toBe("front");
      expect(plan.costs).toBe("measured tensor");
      const info = await inspect(out);
      // 12 blocks × 7 weights, the token embeddings and the output head
      expect(Object.keys(plan.allocation)).toHaveLength(86);
      for (const [unit, type] of Object.entries(plan.allocation)) expect(info.tensors.find((x) => x.name === `${unit}.weight`)?.type, unit).toBe(type);
      runs[priority] = { bytes: info.tensors.reduce((a, t) => a + t.bytes, 0), kld: plan.measured.kld.mean };
    }
    expect(runs.memory!.bytes).toBeLessThan(runs.accuracy!.bytes);
    expect(runs.accuracy!.kld).toBeLessThan(runs.memory!.kld);
  }, slow(900_000));

  it.skipIf(reason !== "")(`debian-prose-11m, --method paper: the output's per-layer types are the plan's, and memory-first is smaller${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    // calibration from the validation split, evaluation on the test split (never the other way round)
    const calibration = path.join(dir, "calibration.txt");
    writeFileSync(calibration, head(valid!, 6000));
    const evalText = path.join(dir, "eval.txt");
    writeFileSync(evalText, head(test!, 20000));
    const common = ["--cache-dir", path.join(dir, "cache"), "--calibration", calibration, "--eval-text", evalText, "--ctx", "256", "--chunks", "4", "--n-gen", "8", "--n-prompt", "0", "--reps", "1", "--types", "q8_0,q5_K,q4_K,q3_K", "--json"];
    const sizes: Record<string, number> = {};
    for (const priority of ["memory", "accuracy"]) {
      const out = path.join(dir, `${priority}.gguf`);
      const r = await runCli(["quantize", model!, "-o", out, "--method", "paper", "--priority", priority, ...common]);
      expect(r.code, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout) as { allocation: Record<string, string>; measured: { perplexity: number } };
      const info = await inspect(out);
      expect(info.layers).toHaveLength(24);
      for (const layer of info.layers) {
        for (const t of layer.tensors) expect(info.tensors.find((x) => x.name === t)?.type, t).toBe(plan.allocation[layer.name]);
      }
      expect(plan.measured.perplexity).toBeGreaterThan(10); // a trained model: perplexity is meaningful
      expect(plan.measured.perplexity).toBeLessThan(500);
      sizes[priority] = info.tensors.reduce((a, t) => a + t.bytes, 0);
    }
    expect(sizes.memory!).toBeLessThanOrEqual(sizes.accuracy!);
  }, slow(600_000));
});
