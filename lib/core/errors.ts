/**
 * The error vocabulary of apreqel. Messages follow one style: what was expected, for which
 * option, and what was received, with the nearest valid name for a typo.
 */

/** An invalid option or argument: thrown before anything is read or written. */
export class OptionError extends TypeError {
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.name = "OptionError";
    this.option = option;
  }
}

/** A bad input file or output path (missing, unreadable, the same as an input): nothing was written. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** `expected <what> for option <option> but received <value>` */
export function invalidOption(option: string, expected: string, received: unknown): OptionError {
  return new OptionError(option, `expected ${expected} for option ${option} but received ${describe(received)}`);
}

/** `unknown <kind> "<name>" for option <option>; did you mean "<nearest>"?` */
export function unknownName(option: string, kind: string, name: string, valid: readonly string[]): OptionError {
  const near = nearestName(name, valid);
  const hint = near === undefined ? `; valid: ${valid.join(", ")}` : `; did you mean "${near}"?`;
  return new OptionError(option, `unknown ${kind} "${name}" for option ${option}${hint}`);
}

/** Raised when a call is aborted through its AbortSignal (same name and code as Node's own). */
export class AbortError extends Error {
  readonly code = "ABORT_ERR";
  constructor(message = "the operation was aborted", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AbortError";
  }
}

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || value === undefined || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "an array";
  return "an object";
}

/** The valid name closest to `name` (case-insensitive match first, then edit distance ≤ 2). */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exact = valid.find((v) => v.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const v of valid) {
    const d = editDistance(lower, v.toLowerCase());
    if (d < bestDistance) {
      best = v;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
