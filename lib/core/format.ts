/** Number formatting shared by the commands' readable (non-JSON) output. */

/**
 * Bytes in decimal units, 3 significant digits.
 *
 * @example
 * formatBytes(4_620_000_000) // "4.62 GB"
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toPrecision(3)} ${units[unit]}`;
}

/**
 * A number to `digits` significant digits without exponent noise.
 *
 * @example
 * formatNumber(25.34567) // "25.35"
 */
export function formatNumber(value: number, digits = 4): string {
  return String(Number(value.toPrecision(digits)));
}
