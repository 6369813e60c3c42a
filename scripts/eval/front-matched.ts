// Matched bytes: for each llama.cpp preset file given, the front's most accurate mix (weights
// 0,0,1) at ≤ the preset's file bytes, its KLD and perplexity on the evaluation text beside the
// preset's, from one session (uniform files, profile, scores and the Δ table cached).
//
//   npx vite-node scripts/eval/front-matched.ts -- MODEL.gguf --presets a.gguf,b.gguf \
//     --calibration cal.txt --eval-text wiki.test.raw --ctx 256 --chunks 20 [--granularity tensor]
//     [--probe-chunks 4] [--cache-dir DIR] [--out-dir DIR] [pipeline options as for quantize]
import { promises as fs } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { pipelineSettings, sensitivitySettings, PIPELINE_OPTIONS } from "../../lib/cli/pipeline-options.js";
import { parseTypes } from "../../lib/cli/options.js";
import { chooseOnFront } from "../../lib/method/choose.js";
import { frontConstraints } from "../../lib/method/front-limits.js";
import { assembleFrontMix, modelFront } from "../../lib/pipeline/front.js";
import { measureAccuracy } from "../../lib/pipeline/measure-file.js";
import { openSession } from "../../lib/pipeline/session.js";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  allowPositionals: true,
  options: { ...PIPELINE_OPTIONS, presets: { type: "string" }, granularity: { type: "string" }, "probe-chunks": { type: "string" }, types: { type: "string" }, "out-dir": { type: "string" } },
});
const model = positionals[0];
if (!model || !values.presets) throw new Error("usage: front-matched.ts MODEL.gguf --presets a.gguf,b.gguf [options]");
const types = parseTypes(values.types);
const settings = await pipelineSettings({ ...values, kld: true }, "quantize");
const measure = sensitivitySettings({ sensitivity: "measured", granularity: values.granularity ?? "tensor", "probe-chunks": values["probe-chunks"] }, types, settings.uniform);
const outDir = path.resolve(values["out-dir"] ?? "front-matched");
await fs.mkdir(outDir, { recursive: true });
const s = await openSession({ model, ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}), onStep: (step, f) => f === 1 && console.error(`${step}: done`) });
const started = Date.now();
const m = await modelFront(s, { ...settings.uniform, types, latency: settings.latency, accuracy: settings.accuracy, score: { ...settings.score, ...(measure ? { measure } : {}) } });
console.log(`front: ${m.front.points.length} mixes of ${m.front.table.units} units (costs: ${m.costs.source}), ε ≤ ${m.front.tolerance.sizeBytes} B`);
console.log("| preset | preset bytes | preset KLD | preset PPL | front bytes | front KLD | front PPL | KLD ratio | front types |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const preset of values.presets.split(",")) {
  const bytes = (await fs.stat(preset)).size;
  const name = path.basename(preset, ".gguf");
  const p = await measureAccuracy(s, preset, name, settings.accuracy);
  let row: string;
  try {
    const choice = chooseOnFront(m.front, { weights: { memory: 0, latency: 0, accuracy: 1 }, constraints: frontConstraints({ targetSizeBytes: bytes }, m.costs.accuracy) });
    const file = path.join(outDir, `front-at-${name}.gguf`);
    const { output } = await assembleFrontMix(s, m, choice, file, {});
    const f = await measureAccuracy(s, file, `front at ${name}`, settings.accuracy);
    const split = Object.entries(choice.distribution).filter(([, n]) => n! > 0).map(([t, n]) => `${t} ${n}`).join(", ");
    row = `| ${name} | ${bytes} | ${p.kld!.mean.toFixed(5)} ± ${p.kld!.stderr.toFixed(5)} | ${p.perplexity.toFixed(3)} | ${output.fileSize} | ${f.kld!.mean.toFixed(5)} ± ${f.kld!.stderr.toFixed(5)} | ${f.perplexity.toFixed(3)} | ${(f.kld!.mean / p.kld!.mean).toFixed(2)} | ${split} |`;
  } catch (e) {
    row = `| ${name} | ${bytes} | ${p.kld!.mean.toFixed(5)} ± ${p.kld!.stderr.toFixed(5)} | ${p.perplexity.toFixed(3)} | — | ${(e as Error).message.slice(0, 120)} | | | |`;
  }
  console.log(row);
}
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
