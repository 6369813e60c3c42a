/**
 * Reading an entry's content back: a cached JSON is checked against the shape its writer gives it
 * and a cached binary against the length its metadata implies; anything else throws CacheDamage,
 * which Cache.use and Cache.find turn into a miss (the entry removed and recomputed, with a note),
 * never into a user error and never into a null reaching a table (issue 22).
 */
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { CacheDamage } from "./cache.js";

/**
 * What a cached JSON value must look like: "number" (finite), "count" (a whole number ≥ 0),
 * "string", "boolean", an object of field shapes (every field present unless optional), or
 * [modifier, shape] with modifier "nullable" (null allowed), "optional" (the field may be
 * absent), "array" (an array of shape) or "record" (an object whose every value has shape).
 */
export type Shape =
  | "number"
  | "count"
  | "string"
  | "boolean"
  | readonly ["nullable" | "optional" | "array" | "record", Shape]
  | { readonly [field: string]: Shape };

/**
 * Throws CacheDamage naming where `value` departs from `shape`.
 *
 * @example
 * checkShape({ mean: 0.1 }, { mean: "number" }, "probe.json") // passes
 * checkShape({ mean: null }, { mean: "number" }, "probe.json") // throws CacheDamage("probe.json: mean is null, expected a finite number")
 */
export function checkShape(value: unknown, shape: Shape, where: string, at = ""): void {
  const fail = (expected: string): never => {
    const shown = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "number" ? String(value) : typeof value;
    throw new CacheDamage(`${where}: ${at === "" ? "the value" : at} is ${shown}, expected ${expected}`);
  };
  if (shape === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) fail("a finite number");
  } else if (shape === "count") {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail("a whole number ≥ 0");
  } else if (shape === "string" || shape === "boolean") {
    if (typeof value !== shape) fail(`a ${shape}`);
  } else if (Array.isArray(shape)) {
    const [modifier, inner] = shape as readonly [string, Shape];
    if (modifier === "nullable" || modifier === "optional") {
      if (value === null ? modifier === "nullable" : value === undefined ? modifier === "optional" : false) return;
      checkShape(value, inner, where, at);
    } else if (modifier === "array") {
      if (!Array.isArray(value)) fail("an array");
      (value as unknown[]).forEach((v, i) => checkShape(v, inner, where, `${at}[${i}]`));
    } else {
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail("an object");
      for (const [k, v] of Object.entries(value as object)) checkShape(v, inner, where, at === "" ? k : `${at}.${k}`);
    }
  } else {
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail("an object");
    for (const [k, inner] of Object.entries(shape as Record<string, Shape>)) {
      checkShape((value as Record<string, unknown>)[k], inner, where, at === "" ? k : `${at}.${k}`);
    }
  }
}

/**
 * Reads `name` in an entry's folder as JSON of `shape` (opened no-follow).
 *
 * @example
 * const kld = await readCachedJson<ProbeKld>(entry.dir, "probe.json", { mean: "number", stderr: "number", sameTopPercent: "number" });
 */
export async function readCachedJson<T>(dir: string, name: string, shape: Shape): Promise<T> {
  const text = (await readCachedFile(dir, name)).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CacheDamage(`${name} is not valid JSON (${(e as Error).message})`);
  }
  checkShape(value, shape, name);
  return value as T;
}

/**
 * Reads `name` in an entry's folder as bytes, which must number `bytes` when given.
 *
 * @example
 * const raw = await readCachedFile(entry.dir, "cos.f32", tokens * blocks * 2 * 4);
 */
export async function readCachedFile(dir: string, name: string, bytes?: number): Promise<Buffer> {
  let raw: Buffer;
  try {
    const fh = await fs.open(path.join(dir, name), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      raw = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new CacheDamage(`${name} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bytes !== undefined && raw.length !== bytes) throw new CacheDamage(`${name} has ${raw.length} bytes, expected ${bytes}`);
  return raw;
}
