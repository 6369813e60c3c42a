/** `apreqel inspect model.gguf`: tensors grouped by sub-layer, types and bits per weight. */
import { ggmlTypes } from "../ops/ggml-types.js";
import { inspect } from "../ops/inspect.js";
import { printable } from "../core/format.js";
import { parse } from "./args.js";
import { OptionError } from "../core/errors.js";

export const usage = `usage: apreqel inspect MODEL.gguf [--json]
  Shows a GGUF's architecture, per-layer tensor types and bits per weight (reads the header only).`;

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } });
  if (positionals.length !== 1) throw new OptionError("MODEL", "expected exactly one model file");
  const info = await inspect(positionals[0]!);
  if (values.json) {
    console.log(JSON.stringify(info, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
    return 0;
  }
  const types = ggmlTypes();
  const params = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const bpw = (bytes: number, n: number) => ((bytes * 8) / n).toFixed(2);
  let totalBytes = 0;
  let totalParams = 0;
  for (const t of info.tensors) {
    totalBytes += t.bytes;
    totalParams += params(t.shape);
  }
  console.log(printable(info.path));
  console.log(`  architecture ${printable(info.architecture)}, ${info.blockCount} blocks, ${info.tensors.length} tensors, ${(info.fileSize / 2 ** 20).toFixed(1)} MiB`);
  console.log(`  ${bpw(totalBytes, totalParams)} bits per weight over all tensors`);
  for (const [key, value] of Object.entries(info.metadata)) {
    if (key.startsWith("apreqel.")) console.log(`  ${printable(key)} = ${printable(String(value))}`);
  }
  console.log("  layer          types                          bpw");
  for (const layer of info.layers) {
    const ts = layer.tensors.map((n) => info.tensors.find((t) => t.name === n)!);
    const counts = new Map<string, number>();
    for (const t of ts) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
    const desc = [...counts].map(([type, n]) => `${type}×${n}`).join(" ");
    console.log(`  ${layer.name.padEnd(14)} ${desc.padEnd(30)} ${bpw(layer.bytes, layer.parameters)}`);
  }
  for (const t of info.tensors.filter((x) => x.subLayer === null && x.quantizable)) {
    const known = types.get(t.type);
    console.log(`  ${printable(t.name).padEnd(14)} ${t.type.padEnd(30)} ${known ? known.bitsPerWeight.toFixed(2) : "?"}`);
  }
  return 0;
}
