/**
 * Argument checks shared by the library's entry points. Each throws an OptionError naming the
 * option, the accepted values and what was received (see errors.ts); nothing is coerced.
 */
import { describeValue, invalidOption, OptionError } from "./errors.js";
import type { JobOptions } from "./job-options.js";

/** The native layer reads counts as 32-bit integers. */
const MAX_INT32 = 2 ** 31 - 1;

/** `options` must be a plain object; `fn` names the call in the message. */
export function requireOptions<T>(options: T, fn: string): T {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new OptionError("options", `expected an options object for ${fn}() but received ${describeValue(options)}`);
  }
  return options;
}

/** A whole number in [min, max]. */
export function requireInt(value: unknown, option: string, min: number, max = MAX_INT32): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(option, wholeNumber(min, max, value), value);
  }
  return value;
}

/**
 * A whole number in [min, max] given as text (a command-line value): the one integer parser.
 *
 * @example
 * parseInteger("-1", "--gpu-layers", -1) // -1
 * parseInteger("2.5", "--threads", 0)    // throws: expected a whole number ≥ 0 for option --threads but received "2.5"
 */
export function parseInteger(text: string, option: string, min: number, max = MAX_INT32): number {
  const n = /^\s*-?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalidOption(option, wholeNumber(min, max, n), text);
  return n;
}

function wholeNumber(min: number, max: number, value: unknown): string {
  const tooLarge = typeof value === "number" && value > max;
  return max === MAX_INT32 && !tooLarge ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
}

export function optionalBoolean(value: unknown, option: string): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") throw invalidOption(option, "true or false", value);
  return value;
}

export function requireNonEmptyString(value: unknown, option: string): string {
  if (typeof value !== "string" || value.length === 0) throw invalidOption(option, "a non-empty string", value);
  return value;
}

/** A plain object whose values are all strings (tensor → type, tensor → label). */
export function requireStringRecord(value: unknown, option: string, what: string): Readonly<Record<string, string>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidOption(option, `an object of ${what}`, value);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") throw invalidOption(`${option}["${key}"]`, "a string", v);
  }
  return value as Record<string, string>;
}

/** `signal` and `onProgress`, shared by every long call. */
export function validateJobOptions(o: JobOptions): void {
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidOption("signal", "an AbortSignal", o.signal);
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") throw invalidOption("onProgress", "a function", o.onProgress);
}

/**
 * The entry of `valid` that `name` spells, ignoring case (llama.cpp's tools accept `Q4_K_M` and
 * `q4_k_m` alike); undefined when none does, or when two entries differ only in case.
 *
 * @example
 * nameIgnoringCase("q4_k", ["q4_K", "q8_0"])   // "q4_K"
 * nameIgnoringCase("q4_k_m", ["Q4_K_M"])        // "Q4_K_M"
 * nameIgnoringCase("q4_x", ["q4_K"])            // undefined
 */
export function nameIgnoringCase(name: string, valid: readonly string[]): string | undefined {
  if (valid.includes(name)) return name;
  const matches = valid.filter((v) => v.toLowerCase() === name.toLowerCase());
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * A path given to the library: a non-empty string without a NUL byte. The native layer hands
 * paths to fopen as C strings, where a NUL ends the string early: "out.gguf\0x" would name
 * "out.gguf", a file the checks on the whole string never looked at (issue 22). The one check of
 * the library's paths; files.ts applies it to every input and output.
 *
 * @example
 * requirePath("model.gguf", "model")   // "model.gguf"
 * requirePath("out.gguf\0", "output") // throws: expected a file path without NUL bytes for option output but received "out.gguf\u0000"
 */
export function requirePath(value: unknown, option: string): string {
  if (typeof value !== "string" || value.length === 0) throw invalidOption(option, "a file path", value);
  if (value.includes("\0")) throw invalidOption(option, "a file path without NUL bytes", value);
  return value;
}
