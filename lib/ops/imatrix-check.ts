/**
 * An importance matrix checked for meaning against the model it will weigh (issue 22): its tensor
 * names must be the model's, each entry's column count must fit the tensor's rows, and its
 * activation counts must be positive. Another model's file (names that match nothing, or the same
 * names at other widths) and a file with zero or negative counts are refused here, where the
 * quantizer accepted them silently and the sensitivity proxy refused them later: one reader, one
 * verdict. Tensors the matrix does not cover are named once (they are quantized unweighted).
 */
import { promises as fs } from "node:fs";
import { InputError } from "../core/errors.js";
import { inspect, type ModelInfo } from "./inspect.js";

export interface ImatrixCoverage {
  /** the model's block tensors (2-D, quantizable) the matrix covers */
  readonly covered: number;
  /** those it does not cover, by name */
  readonly missing: readonly string[];
}

const SUMS = ".in_sum2";
const COUNTS = ".counts";

/**
 * Checks `imatrix` (a GGUF in llama-imatrix's format) against `model`; `option` names it in
 * messages. Throws InputError when no entry matches, when an entry's width does not fit its
 * tensor, or when a count is not positive; returns what is covered.
 *
 * @example
 * const { missing } = await checkImatrix(info, "imatrix.gguf", "--imatrix");
 */
export async function checkImatrix(model: ModelInfo, imatrix: string, option: string): Promise<ImatrixCoverage> {
  const im = await inspect(imatrix);
  const wanted = model.tensors.filter((t) => t.subLayer !== null && t.quantizable && t.shape.length >= 2);
  const byName = new Map(im.tensors.map((t) => [t.name, t]));
  const entries = im.tensors.filter((t) => t.name.endsWith(SUMS)).map((t) => t.name.slice(0, -SUMS.length));
  if (entries.length === 0) throw new InputError(`${option} ${imatrix}: holds no importance entries (no *${SUMS} tensors); is it an importance matrix?`);
  const modelTensors = new Map(model.tensors.map((t) => [t.name, t]));
  const matching = entries.filter((name) => modelTensors.has(name));
  if (matching.length === 0) {
    throw new InputError(
      `${option} ${imatrix}: none of its ${entries.length} entries (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}) is a tensor of ${model.path}; is it another model's importance matrix?`,
    );
  }
  const fh = await fs.open(imatrix, "r");
  try {
    for (const name of matching) {
      const tensor = modelTensors.get(name)!;
      const sums = byName.get(name + SUMS)!;
      const counts = byName.get(name + COUNTS);
      const width = tensor.shape[0]!;
      const columns = sums.shape.reduce((a, b) => a * b, 1);
      // (a mixture-of-experts tensor has one row of sums per expert)
      const experts = tensor.shape.length >= 3 ? tensor.shape[2]! : 1;
      if (sums.type !== "f32" || columns !== width * experts) {
        throw new InputError(`${option} ${imatrix}: ${name} has ${columns} importance values, the model's tensor ${width * experts} columns; is it another model's importance matrix?`);
      }
      if (counts === undefined || counts.type !== "f32" || counts.bytes < 4 || counts.bytes % 4 !== 0) {
        throw new InputError(`${option} ${imatrix}: ${name} has no activation count (${name}${COUNTS}, f32)`);
      }
      const buf = Buffer.alloc(counts.bytes);
      await fh.read(buf, 0, buf.length, counts.offset);
      for (let i = 0; i < buf.length; i += 4) {
        const c = buf.readFloatLE(i);
        if (!(c > 0) || !Number.isFinite(c)) throw new InputError(`${option} ${imatrix}: ${name}'s activation count is ${c}; counts must be positive (a damaged or hand-made file?)`);
      }
    }
  } finally {
    await fh.close();
  }
  const have = new Set(matching);
  return { covered: wanted.filter((t) => have.has(t.name)).length, missing: wanted.filter((t) => !have.has(t.name)).map((t) => t.name) };
}

/**
 * The one-line note for tensors an importance matrix does not cover, or undefined when it covers all.
 *
 * @example
 * coverageNote("--imatrix im.gguf", { covered: 10, missing: ["blk.0.ffn_up.weight"] }) // "--imatrix im.gguf covers 10 of 11 block tensors; quantized without importance weights: blk.0.ffn_up.weight"
 */
export function coverageNote(what: string, c: ImatrixCoverage): string | undefined {
  if (c.missing.length === 0) return undefined;
  const shown = c.missing.slice(0, 6).join(", ") + (c.missing.length > 6 ? `, … (${c.missing.length - 6} more)` : "");
  return `${what} covers ${c.covered} of ${c.covered + c.missing.length} block tensors; quantized without importance weights: ${shown}`;
}
