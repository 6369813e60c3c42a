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

/**
 * Text from a file (metadata, tensor names, an error that quotes them) made safe to print on a
 * terminal: control characters (C0, DEL, C1; ESC starts the sequences that move the cursor,
 * retitle the window or worse) are shown as \u escapes; newlines and tabs stay.
 *
 * @example
 * printable("llama\u001b]0;pwned\u0007") // "llama\\u001b]0;pwned\\u0007"
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
