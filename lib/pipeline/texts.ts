/**
 * The texts the pipeline runs on: calibration prompts for the similarity capture and an
 * evaluation text for perplexity. Built-in defaults ship in data/ (written for apreqel); the
 * user's `--calibration` / `--eval-text` files replace them and are validated here.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { requireInputFile } from "../core/files.js";
import { packageRoot } from "../core/package.js";

/** Where a text came from. */
export type TextSource = { readonly kind: "builtin"; readonly path: string } | { readonly kind: "file"; readonly path: string };

/** Calibration prompts, with a hash for cache keys. */
export interface CalibrationSet {
  readonly prompts: readonly string[];
  readonly source: TextSource;
  /** SHA-256 of the prompts' canonical JSON. */
  readonly sha256: string;
}

/** An evaluation text, with a hash for cache keys. */
export interface EvalText {
  readonly text: string;
  readonly source: TextSource;
  readonly sha256: string;
}

/** What to tell the user when perplexity comes from the built-in text. */
export const BUILTIN_EVAL_NOTE =
  "perplexity is measured on apreqel's small built-in text and is only indicative; pass --eval-text with your own text for numbers you can rely on";

/**
 * Reads `--calibration FILE`, or the built-in set when `file` is undefined. A file is either a
 * JSON array of strings or plain text with one prompt per blank-line-separated paragraph.
 *
 * @example
 * (await readCalibration()).prompts.length // 72
 */
export async function readCalibration(file?: string, option = "--calibration", root = packageRoot): Promise<CalibrationSet> {
  const source: TextSource = file === undefined ? { kind: "builtin", path: path.join(root, "data", "calibration.json") } : { kind: "file", path: await requireInputFile(file, option) };
  const where = source.kind === "builtin" ? "the built-in calibration set" : `${option} ${source.path}`;
  const prompts = parseCalibration(await readUtf8(source.path, where), where, source.kind === "builtin" || source.path.endsWith(".json"));
  return { prompts, source, sha256: sha256(JSON.stringify(prompts)) };
}

/**
 * Reads `--eval-text FILE`, or the built-in text when `file` is undefined.
 *
 * @example
 * const { text, source } = await readEvalText(values["eval-text"]);
 * if (source.kind === "builtin") console.error(BUILTIN_EVAL_NOTE);
 */
export async function readEvalText(file?: string, option = "--eval-text", root = packageRoot): Promise<EvalText> {
  const source: TextSource = file === undefined ? { kind: "builtin", path: path.join(root, "data", "eval.txt") } : { kind: "file", path: await requireInputFile(file, option) };
  const where = source.kind === "builtin" ? "the built-in evaluation text" : `${option} ${source.path}`;
  const text = await readUtf8(source.path, where);
  if (text.trim().length === 0) throw new InputError(`${where} is empty; it needs enough text for at least two context windows`);
  return { text, source, sha256: sha256(text) };
}

/**
 * Parses calibration prompts: a JSON array of non-empty strings when `json` (or when the text
 * starts with `[`), else blank-line-separated paragraphs. `where` names the input in errors.
 *
 * @example
 * parseCalibration("Explain tides.\n\nWrite a haiku.", "prompts.txt", false) // ["Explain tides.", "Write a haiku."]
 */
export function parseCalibration(text: string, where: string, json: boolean): string[] {
  let prompts: string[];
  if (json || text.trimStart().startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InputError(`${where} is not valid JSON (${(e as Error).message}); give a JSON array of strings or plain text with blank lines between prompts`);
    }
    if (!Array.isArray(value)) throw new InputError(`${where} must be a JSON array of prompt strings`);
    prompts = value.map((p: unknown, i) => {
      if (typeof p !== "string" || p.trim() === "") throw new InputError(`${where}: prompt ${i + 1} must be a non-empty string`);
      return p;
    });
  } else {
    prompts = text
      .replace(/\r\n?/g, "\n")
      .split(/\n[ \t]*\n/)
      .map((p) => p.trim())
      .filter((p) => p !== "");
  }
  if (prompts.length === 0) throw new InputError(`${where} has no prompts`);
  return prompts;
}

// Decoded strictly: a binary file passed by mistake is an error, not mojibake.
async function readUtf8(file: string, where: string): Promise<string> {
  const bytes = await fs.readFile(file);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${where} is not UTF-8 text`);
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
