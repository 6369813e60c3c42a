// Issue 25 item 7: is Σ Δ right for aggressive mixes? The full-table choices at the §9 preset sizes
// (q2_K among the types), assembled and measured on the same calibration chunks the table was
// probed on, against KLD(reference) + Σ Δ and two one-parameter corrections fitted across them.
//   npx vite-node scripts/bench/probe-plan-additivity.ts [--truth FILE] [--cache-dir DIR]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { planUnits } from "../../lib/gguf/units.js";
import { chooseOnFront } from "../../lib/method/choose.js";
import { paretoFront } from "../../lib/method/front.js";
import { costTableFromMeasured } from "../../lib/method/measured-costs.js";
import { estimateMixKld, type SensitivityTable } from "../../lib/method/sensitivity.js";
import type { GgmlType } from "../../lib/method/types.js";
import { assemble } from "../../lib/ops/assemble.js";
import { inspect } from "../../lib/ops/inspect.js";
import { probeSensitivity } from "../../lib/ops/probe.js";
import { metadataAllowance } from "../../lib/pipeline/front.js";
import { unitBytes } from "../../lib/pipeline/probe-plan.js";
import { calibrationText } from "../../lib/pipeline/sensitivity.js";
import { openSession } from "../../lib/pipeline/session.js";
import { uniformModels } from "../../lib/pipeline/uniform.js";
import { sharedFile } from "../shared/shared.js";
import { studyCalibration } from "./study-calibration.js";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const cacheDir = path.resolve(arg("--cache-dir", ".cache/probe-plan"));
const truth = JSON.parse(readFileSync(path.resolve(arg("--truth", path.join(cacheDir, "truth-c256-n2.json"))), "utf8")) as { nCtx: number; chunks: number; types: GgmlType[]; measured: SensitivityTable };
const model = sharedFile("models/debian-prose-11m/debian-prose-llama-11M-F32.gguf")!;
const calibration = await studyCalibration(sharedFile("data/wikitext-2-raw/wiki.valid.raw")!);
const s = await openSession({ model, cacheDir });
const types = truth.types;
const uniform = { imatrixFrom: { calibration, nCtx: truth.nCtx, threads: 1 } };
const units = planUnits(s.info.tensors, "tensor");
const { bytes, fixedBytes } = await unitBytes(s, units, types, uniform);
const files = await uniformModels(s, types, uniform);
const reference = await inspect(files.get(types[0]!)!);
const nonLayer = new Map<string, string>();
for (const t of types) nonLayer.set(t, (await uniformModels(s, [types[0]!], { ...uniform, nonLayerType: t })).get(types[0]!)!);
const tensorBytes: Record<string, Record<string, number>> = {};
types.forEach((t, j) => (tensorBytes[t] = Object.fromEntries(units.map((u, i) => [u.tensors[0]!, bytes[i]![j]!]))));
const costs = (table: SensitivityTable) =>
  costTableFromMeasured({
    sensitivity: table, types, unitTensors: Object.fromEntries(units.map((u) => [u.name, u.tensors])),
    tensorParams: Object.fromEntries(s.info.tensors.map((x) => [x.name, x.shape.reduce((a, b) => a * b, 1)])),
    tensorBytes, latencyMsPerToken: Object.fromEntries(types.map((t) => [t, 1])),
    fixedBytes: fixedBytes + metadataAllowance(units.map((u) => u.name), types, reference.alignment),
  });
const sizes = [5489216, 5967424, 6406720, 6884928, 6922816, 7236672, 7701056, 8014912, 8192576, 8375360, 8839744, 9022528];
const work = mkdtempSync(path.join(os.tmpdir(), "apreqel-additivity-"));
const text = calibrationText(calibration);
const rows: { size: number; estimate: number; measured: number; sumSq: number; sumRoot: number; sum: number; q2: number }[] = [];
for (const size of sizes) {
  const c = chooseOnFront(paretoFront(costs(truth.measured), { bounds: { sizeBytes: size } }), { weights: { memory: 0, latency: 0, accuracy: 1 }, constraints: { targetSizeBytes: size } });
  const sources: Record<string, string> = {};
  const assignment: Record<string, string> = {};
  let sumSq = 0, sumRoot = 0, sum = 0;
  units.forEach((u, i) => {
    const t = c.assignment[u.name]! as GgmlType;
    const key = `${u.block === null ? "nl-" : ""}${t}`;
    sources[key] = u.block === null ? nonLayer.get(t)! : files.get(t)!;
    assignment[u.tensors[0]!] = key;
    const d = Math.max(0, truth.measured.delta[i]![types.indexOf(t)]!);
    sum += d; sumSq += d * d; sumRoot += Math.sqrt(d);
  });
  const out = path.join(work, `${size}.gguf`);
  await assemble({ base: files.get(types[0]!)!, sources, assignment, output: out });
  const r = await probeSensitivity({ model: out, base: model, text, nCtx: truth.nCtx, chunks: truth.chunks, threads: 1, probes: [{ tensors: [] }] });
  rows.push({ size, estimate: estimateMixKld(truth.measured, c.assignment), measured: r.kld[0]!.mean, sumSq, sumRoot, sum, q2: c.distribution["q2_K" as GgmlType] ?? 0 });
  console.log(rows.at(-1));
}
writeFileSync(path.join(cacheDir, "additivity.json"), JSON.stringify(rows));
