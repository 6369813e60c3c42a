// Issue 7's smoke run: scripts/eval/study.ts end to end on debian-prose-11m with the smallest
// settings (2 chunks, 1 repetition, 2 latency passes, no presets, no random-weight shapes), into a
// temp dir. It checks that the script runs and writes every part of docs/results.md, its figures
// and its JSON, not the numbers (docs/results.md has the full run).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../lib/core/package.js";
import { sharedDir, sharedFile, skipReason } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const MODEL = "models/debian-prose-11m/debian-prose-llama-11M-F32.gguf";
const reason = !sharedFile(MODEL) ? skipReason(MODEL) : !sharedFile("data/wikitext-2-raw/wiki.test.raw") ? skipReason("data/wikitext-2-raw") : "";
const dir = tempDir();

describe("scripts/eval/study.ts (smoke)", () => {
  it.skipIf(reason !== "")(`writes results.md with every section, its figures and study.json${reason ? ` (skipped: ${reason})` : ""}`, () => {
    const out = path.join(dir, "results.md");
    const args = [
      path.join(packageRoot, "node_modules", "vite-node", "vite-node.mjs"),
      path.join(packageRoot, "scripts", "eval", "study.ts"),
      "--out", out, "--cache-dir", path.join(dir, "cache"), "--shared-dir", sharedDir,
      "--chunks", "2", "--reps", "1", "--passes", "2", "--n-gen", "8", "--n-prompt", "8",
      "--calib-paragraphs", "4", "--ablation", "1", "--skip-presets", "--skip-realistic", "--threads", "2",
    ];
    const r = spawnSync(process.execPath, args, { cwd: packageRoot, encoding: "utf8", timeout: 900_000 });
    expect(r.status, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    const text = readFileSync(out, "utf8");
    for (const heading of ["## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."]) expect(text).toContain(heading);
    const study = JSON.parse(readFileSync(path.join(dir, "results", "study.json"), "utf8"));
    expect(study.debian.variants.map((v: { name: string }) => v.name)).toEqual(["perplexity", "kld"]);
    expect(study.debian.variants[0].weightings).toHaveLength(28);
    for (const m of text.matchAll(/\]\((results\/[^)]+\.svg)\)/g)) expect(existsSync(path.join(dir, m[1]!)), m[1]).toBe(true);
  }, 900_000);
});
