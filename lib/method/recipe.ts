// A plan as a recipe for stock llama.cpp: the `--tensor-type-file` that
// llama-quantize reads and the exact command, so a user reproduces the mix
// from their F16/F32 file without apreqel.
//
// What the pinned llama-quantize does (tools/quantize/quantize.cpp and
// src/llama-quant.cpp, checked against vendor/llama.cpp):
// - `--tensor-type-file FILE` reads NAME=TYPE entries separated by whitespace;
//   NAME is lower-cased and compiled as a std::regex (ECMAScript), matched with
//   regex_search, and the first matching entry wins. So every name is written
//   anchored and escaped (`^blk\.1\.attn_q\.weight$`): an unanchored
//   `blk.1.attn_q` would also match blk.11.
// - The entries apply only when the file type is a quantized one (an F16 or
//   F32 file type ignores them), hence `baseType` must be quantized.
// - `--pure` stops llama.cpp's own per-tensor mixture rules for the tensors no
//   entry names, which then get `baseType` exactly (or a `fixedTypes` entry).
// - A shape a type cannot hold falls back (e.g. q4_K → q5_0 when the row is
//   not a multiple of 256): a table should list for each unit only the types
//   its shape takes, or its bytes will not be those of the file.
// - iq3_xxs, iq2_*, iq1_* need an importance matrix (except on token_embd and
//   output); the writer refuses such a mix without `imatrix`.
import { MethodInputError, describeValue, expectObject } from "./errors.js";
import type { DenseCostTable } from "./cost-table.js";
import { parseGgmlType, type GgmlType } from "./types.js";

/** Options of {@link quantizeRecipe}. */
export interface RecipeOptions {
  /** The source GGUF (F16, BF16 or F32). */
  readonly input: string;
  readonly output: string;
  /** Where the caller will write `Recipe.text`; the command refers to it. */
  readonly recipeFile: string;
  /** The file type argument, a quantized type; defaults to the quantized type holding the most bytes in the mix. */
  readonly baseType?: GgmlType;
  /** An importance matrix for llama-quantize (`--imatrix`). */
  readonly imatrix?: string;
  /** Types for tensors outside the units (e.g. `{ "token_embd.weight": "q8_0" }`); others get `baseType`. */
  readonly fixedTypes?: Readonly<Record<string, GgmlType>>;
  /** The executable; default `llama-quantize`. */
  readonly tool?: string;
  /** Threads argument; omitted when not given. */
  readonly threads?: number;
}

/** A recipe and the command that applies it. */
export interface Recipe {
  /** Content of the `--tensor-type-file`, one `^name$=type` line per tensor. */
  readonly text: string;
  /** The command as an argument vector (argv[0] the tool). */
  readonly argv: readonly string[];
  /** The same, quoted for a POSIX shell. */
  readonly command: string;
  /** Type per tensor name the recipe sets. */
  readonly tensorTypes: Readonly<Record<string, GgmlType>>;
  readonly baseType: GgmlType;
}

const UNQUANTIZED = new Set<GgmlType>(["f32", "f16", "bf16"]);
const NEEDS_IMATRIX = new Set<GgmlType>(["iq3_xxs", "iq2_xxs", "iq2_xs", "iq2_s", "iq1_m", "iq1_s"]);
// The tensors llama.cpp exempts from the imatrix requirement.
const EMBEDDING_OR_OUTPUT = /^(token_embd|output)\.weight$/;

/**
 * The llama-quantize recipe of a mix (`mix[u]` indexes the table's types).
 * Every unit needs its tensor names.
 *
 * @example
 * const r = quantizeRecipe(front.table, choice.point.mix, { input: "m-f16.gguf", output: "m-mix.gguf", recipeFile: "m-mix.txt" });
 * r.text    // "^blk\\.0\\.attn_q\\.weight$=q4_K\n…"
 * r.command // "llama-quantize --pure --tensor-type-file m-mix.txt m-f16.gguf m-mix.gguf Q4_K"
 */
export function quantizeRecipe(dense: DenseCostTable, mix: ArrayLike<number>, options: RecipeOptions): Recipe {
  const opts = expectObject(options, "options");
  for (const key of ["input", "output", "recipeFile"] as const) {
    if (typeof opts[key] !== "string" || opts[key] === "") throw new MethodInputError(`options.${key} must be a non-empty path (got ${describeValue(opts[key])})`);
  }
  if (mix.length !== dense.units) throw new MethodInputError(`a mix must give one type per unit (${dense.units}), got ${mix.length}`);
  const M = dense.types.length;
  const tensorTypes: Record<string, GgmlType> = {};
  const bytesByType = new Map<GgmlType, number>();
  for (let u = 0; u < dense.units; u++) {
    const j = mix[u] as number;
    if (!(j >= 0 && j < M) || dense.available[u * M + j] !== 1) {
      throw new MethodInputError(`unit ${JSON.stringify(dense.names[u])} cannot take type index ${describeValue(j)}`);
    }
    const type = dense.types[j] as GgmlType;
    const tensors = dense.table.units[u]?.tensors;
    if (tensors === undefined) throw new MethodInputError(`unit ${JSON.stringify(dense.names[u])} has no tensor names; a recipe needs them`);
    for (const tensor of tensors) tensorTypes[tensor] = type;
    bytesByType.set(type, (bytesByType.get(type) ?? 0) + (dense.bytes[u * M + j] as number));
  }
  if (opts["fixedTypes"] !== undefined) {
    const fixed = expectObject(opts["fixedTypes"], "options.fixedTypes");
    for (const [tensor, type] of Object.entries(fixed)) {
      if (tensorTypes[tensor] !== undefined) throw new MethodInputError(`options.fixedTypes names ${JSON.stringify(tensor)}, which a unit already covers`);
      tensorTypes[tensor] = parseGgmlType(type);
    }
  }
  const baseType = resolveBaseType(opts["baseType"], bytesByType);
  const imatrix = opts["imatrix"];
  if (imatrix !== undefined && (typeof imatrix !== "string" || imatrix === "")) {
    throw new MethodInputError(`options.imatrix must be a non-empty path (got ${describeValue(imatrix)})`);
  }
  const lines: string[] = [];
  for (const [tensor, type] of Object.entries(tensorTypes)) {
    if (tensor !== tensor.toLowerCase()) {
      throw new MethodInputError(`tensor ${JSON.stringify(tensor)} has upper-case letters; llama-quantize lower-cases --tensor-type names, so it cannot be matched`);
    }
    if (!/^[a-z0-9_.\-]+$/.test(tensor)) throw new MethodInputError(`tensor name ${JSON.stringify(tensor)} must be letters, digits, "_", "." or "-"`);
    if (imatrix === undefined && NEEDS_IMATRIX.has(type) && !EMBEDDING_OR_OUTPUT.test(tensor)) {
      throw new MethodInputError(`llama-quantize needs an importance matrix for ${type} (tensor ${JSON.stringify(tensor)}); give options.imatrix`);
    }
    lines.push(`^${tensor.replaceAll(".", "\\.")}$=${type}`);
  }
  const threads = opts["threads"];
  if (threads !== undefined && (typeof threads !== "number" || !Number.isSafeInteger(threads) || threads < 1)) {
    throw new MethodInputError(`options.threads must be a positive integer (got ${describeValue(threads)})`);
  }
  const tool = opts["tool"] === undefined ? "llama-quantize" : String(opts["tool"]);
  const argv = [
    tool,
    "--pure",
    "--tensor-type-file",
    opts["recipeFile"] as string,
    ...(imatrix === undefined ? [] : ["--imatrix", imatrix as string]),
    opts["input"] as string,
    opts["output"] as string,
    baseType.toUpperCase(),
    ...(threads === undefined ? [] : [String(threads)]),
  ];
  return { text: `${lines.join("\n")}\n`, argv, command: argv.map(shellQuote).join(" "), tensorTypes, baseType };
}

function resolveBaseType(value: unknown, bytesByType: ReadonlyMap<GgmlType, number>): GgmlType {
  if (value !== undefined) {
    const type = parseGgmlType(value);
    if (UNQUANTIZED.has(type)) {
      throw new MethodInputError(`options.baseType must be a quantized type (got ${describeValue(type)}): llama-quantize ignores --tensor-type entries when the file type is ${type}`);
    }
    return type;
  }
  let best: GgmlType = "q8_0";
  let most = -1;
  for (const [type, bytes] of bytesByType) {
    if (!UNQUANTIZED.has(type) && bytes > most) {
      best = type;
      most = bytes;
    }
  }
  return best;
}

// Single quotes unless the word is plainly safe.
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
