// Issue 25 items 4/5/7: the ground truth the probe planner is judged against, on debian-prose-11m
// at tensor granularity: the full measured Δ table (every cell probed) and the proxy table, with
// the settings given, written as JSON for scripts/bench/probe-plan.ts to replay.
//   npx vite-node scripts/bench/probe-plan-truth.ts [--ctx 256] [--chunks 2] [--threads 1] [--cache-dir DIR] [--out FILE]
// Calibration = the first 64 paragraphs of wiki.valid (never wiki.test), as docs/results.md §9.
import { promises as fs } from "node:fs";
import path from "node:path";
import { openSession } from "../../lib/pipeline/session.js";
import { measureSensitivity, proxySensitivity } from "../../lib/pipeline/sensitivity.js";
import { studyCalibration } from "./study-calibration.js";
import { sharedFile } from "../shared/shared.js";
import type { GgmlType } from "../../lib/method/types.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const nCtx = Number(arg("--ctx", "256"));
const chunks = Number(arg("--chunks", "2"));
const threads = Number(arg("--threads", "1"));
const cacheDir = path.resolve(arg("--cache-dir", ".cache/probe-plan"));
const out = path.resolve(arg("--out", path.join(cacheDir, `truth-c${nCtx}-n${chunks}.json`)));
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F32.gguf");
const valid = sharedFile("data/wikitext-2-raw/wiki.valid.raw");
if (!model || !valid) throw new Error("needs ../shared/models/debian-prose-11m and ../shared/data/wikitext-2-raw/wiki.valid.raw");

const types: GgmlType[] = ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K", "q2_K"];
const calibration = await studyCalibration(valid);
const s = await openSession({ model, cacheDir });
const uniform = { imatrixFrom: { calibration, nCtx, threads } };
const t0 = performance.now();
const m = await measureSensitivity(s, { units: "tensor", types, calibration, nCtx, chunks, threads, uniform, onProgress: (f) => process.stderr.write(`\r${(f * 100).toFixed(1)}%  `) });
const proxy = await proxySensitivity(s, { units: "tensor", types, uniform });
await fs.mkdir(path.dirname(out), { recursive: true });
await fs.writeFile(out, JSON.stringify({ nCtx, chunks, types, measured: m.table, stderr: m.kld.map((r) => r.map((k) => k.stderr)), proxy, probed: m.probed, cached: m.cached, seconds: (performance.now() - t0) / 1000 }));
console.log(`wrote ${out}: ${m.probed} probes run, ${m.cached} cached`);
