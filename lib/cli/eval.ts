/** `apreqel eval A.gguf [B.gguf ...]`: memory, latency and perplexity (and KLD from --base) of any GGUFs. */
import path from "node:path";
import { evaluate } from "../pipeline/evaluate.js";
import { parse, type CommandContext } from "./args.js";
import { formatBytes, formatLatency, formatPerplexity, LATENCY_HEADER, PERPLEXITY_HEADER } from "../core/format.js";
import { latencyNotes } from "./latency-notes.js";
import { PIPELINE_OPTIONS, pipelineOptionsUsage, pipelineSettings, withProgress } from "./pipeline-options.js";
import { OptionError } from "../core/errors.js";

export const usage = `usage: apreqel eval MODEL.gguf [MODEL.gguf ...] [--base ORIGINAL.gguf] [options]
  Measures each model as the uniform set is measured: parameter bytes, ms per generated token
  (llama-bench's rules) and perplexity (llama-perplexity's); KL divergence from --base.
  --base FILE           the unquantized model, for KL divergence
${pipelineOptionsUsage("eval")}`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(argv, { ...PIPELINE_OPTIONS, base: { type: "string" } });
  if (positionals.length === 0) throw new OptionError("MODEL", "expected at least one model file");
  const settings = await pipelineSettings(values, "eval", positionals[0]);
  const results = await withProgress(settings.json, (onStep) =>
    evaluate({
      models: positionals,
      ...(values.base ? { base: values.base } : {}),
      latency: settings.latency,
      accuracy: settings.accuracy,
      ...(settings.cacheDir ? { cacheDir: settings.cacheDir } : {}),
      onStep,
      ...(context.signal ? { signal: context.signal } : {}),
    }),
  );
  if (settings.json) {
    console.log(JSON.stringify(results, null, 2));
    return 0;
  }
  console.log(`  ${"model".padEnd(26)} ${"memory".padStart(11)} ${LATENCY_HEADER.padEnd(34)} ${PERPLEXITY_HEADER.padStart(18)} ${"KLD ± se".padStart(20)}`);
  for (const { file, metrics: m } of results) {
    const kld = m.kld ? `${m.kld.mean.toExponential(3)} ± ${m.kld.stderr.toExponential(1)}` : "";
    console.log(
      `  ${path.basename(file).padEnd(26)} ${formatBytes(m.memoryBytes).padStart(11)} ${formatLatency(m).padEnd(34)} ${formatPerplexity(m).padStart(18)} ${kld.padStart(20)}`,
    );
  }
  for (const note of latencyNotes(results.map((r) => path.basename(r.file)), results.map((r) => r.metrics))) console.log(`note: ${note}`);
  for (const note of settings.notes) console.log(`note: ${note}`);
  return 0;
}
