/**
 * Quantities with units as people type them (sizes, per-token times, ages). Strict: a value
 * without a unit, or with one we do not know, is an OptionError naming the option.
 */
import { invalidOption } from "./errors.js";

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parses a size with a unit (decimal KB/MB/GB/TB, binary KiB/MiB/GiB/TiB, or B; units are
 * case-insensitive) to bytes. A bare number is refused: "2" could mean bytes or gigabytes.
 *
 * @example
 * parseSize("2GB", "--max-memory")     // 2000000000
 * parseSize("1.5GiB", "--max-memory")  // 1610612736
 * parseSize("2XB", "--max-memory")     // throws: --max-memory: expected a size like 2GB or 512MiB but received "2XB"
 */
export function parseSize(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]+)\s*$/.exec(text);
  const unit = match ? SIZE_UNITS[(match[2] as string).toLowerCase()] : undefined;
  if (!match || unit === undefined) throw invalidOption(option, "a size like 2GB or 512MiB", text);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!(bytes > 0)) throw invalidOption(option, "a size above 0, like 2GB or 512MiB", text);
  return bytes;
}

const TIME_UNITS: Readonly<Record<string, number>> = { us: 1e-3, µs: 1e-3, ms: 1, s: 1e3 };

/**
 * Parses a per-token time with a unit (us, ms, s) to milliseconds.
 *
 * @example
 * parseMilliseconds("40ms", "--max-latency")  // 40
 * parseMilliseconds("0.04s", "--max-latency") // 40
 */
export function parseMilliseconds(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s)\s*$/.exec(text);
  if (!match) throw invalidOption(option, "a time like 40ms or 0.04s", text);
  const ms = Number(match[1]) * (TIME_UNITS[match[2] as string] as number);
  if (!(ms > 0)) throw invalidOption(option, "a time above 0, like 40ms or 0.04s", text);
  return ms;
}

const AGE_UNITS: Readonly<Record<string, number>> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/**
 * Parses an age like `30m`, `12h`, `7d` to milliseconds (for `cache clear --older-than`).
 *
 * @example
 * parseAge("7d", "--older-than") // 604800000
 */
export function parseAge(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/.exec(text);
  if (!match) throw invalidOption(option, "an age like 30m, 12h or 7d", text);
  return Number(match[1]) * (AGE_UNITS[match[2] as string] as number);
}
