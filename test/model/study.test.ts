// Issue 7's smoke run: scripts/eval/study.ts end to end on debian-prose-11m with the smallest
// settings (2 chunks, 1 repetition, 2 latency passes, no presets, no random-weight shapes), into a
// temp dir. It checks that the script runs and writes every part of docs/results.md, its figures
// and its JSON, not the numbers (docs/results.md has the full run).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";
import { sharedDir, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const MODEL = "models/debian-prose-11m/debian-prose-llama-11M-F32.gguf";
const reason = !sharedFile(MODEL) ? skipReason(MODEL) : !sharedFile("data/wikitext-2-raw/wiki.test.raw") ? skipReason("data/wikitext-2-raw") : "";
const dir = tempDir();

/**
 * Runs the study without blocking the test worker (a spawnSync of a minute starves vitest's RPC:
 * "Timeout calling onTaskUpdate").
 */
async function runStudy(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...args], { cwd: packageRoot, encoding: "utf8", timeout: slow(900_000), maxBuffer: 64 * 2 ** 20 });
    return { status: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return { status: typeof err.code === "number" ? err.code : null, stdout: err.stdout ?? "", stderr: err.stderr ?? String(e) };
  }
}

describe("scripts/eval/study.ts (smoke)", () => {
  it.skipIf(reason !== "")(`writes results.md with every section, its figures and study.json${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    const out = path.join(dir, "results.md");
    const args = [
      path.join(packageRoot, "node_modules", "vite-node", "vite-node.mjs"),
      path.join(packageRoot, "scripts", "eval", "study.ts"),
      "--out", out, "--cache-dir", path.join(dir, "cache"), "--shared-dir", sharedDir,
      "--chunks", "2", "--reps", "1", "--passes", "2", "--n-gen", "8", "--n-prompt", "8",
      "--calib-paragraphs", "4", "--ablation", "1", "--skip-presets", "--skip-realistic", "--skip-front", "--threads", "2",
    ];
    const r = await runStudy(args);
    expect(r.status, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    const text = readFileSync(out, "utf8");
    for (const heading of ["## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."]) expect(text).toContain(heading);
    const study = JSON.parse(readFileSync(path.join(dir, "results", "study.json"), "utf8"));
    expect(study.debian.variants.map((v: { name: string }) => v.name)).toEqual(["perplexity", "kld"]);
    expect(study.debian.variants[0].weightings).toHaveLength(28);
    for (const m of text.matchAll(/\]\((results\/[^)]+\.svg)\)/g)) expect(existsSync(path.join(dir, m[1]!)), m[1]).toBe(true);
  }, slow(900_000));

  // issue 15's front stage alone, merged into the study.json the run above wrote (smallest settings:
  // sub-layer granularity, one preset, no imatrix, 2 chunks, 1 probe chunk)
  it.skipIf(reason !== "")(`--front-only merges the front stage into study.json and writes its section${reason ? ` (skipped: ${reason})` : ""}`, async () => {
    const out = path.join(dir, "results.md");
    const before = readFileSync(out, "utf8");
    const args = [
      path.join(packageRoot, "node_modules", "vite-node", "vite-node.mjs"),
      path.join(packageRoot, "scripts", "eval", "study.ts"),
      "--front-only", "--out", out, "--cache-dir", path.join(dir, "cache"), "--shared-dir", sharedDir,
      "--front-chunks", "2", "--probe-chunks", "1", "--front-rounds", "2", "--n-gen", "8", "--calib-paragraphs", "4", "--threads", "2",
      "--front-presets", "Q4_K_M", "--front-sides", "plain", "--front-granularities", "sublayer", "--front-hv", "sublayer",
    ];
    const r = await runStudy(args);
    expect(r.status, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("## 9. The front at matched bytes");
    for (const heading of ["### 9a.", "### 9c.", "### 9d.", "### 9e."]) expect(text).toContain(heading);
    // everything before the front section is left as it was
    expect(text.startsWith(before.slice(0, before.indexOf("## GPU")))).toBe(true);
    const study = JSON.parse(readFileSync(path.join(dir, "results", "study.json"), "utf8"));
    expect(study.debian.variants).toHaveLength(2);
    expect(study.front.sides[0].matched.map((m: { preset: string; embeddings: string }) => `${m.preset}/${m.embeddings}`)).toEqual(["Q4_K_M/own", "Q4_K_M/q8_0"]);
    expect(study.front.hv.sublayer.length).toBeGreaterThan(0);
  }, slow(900_000));
});
