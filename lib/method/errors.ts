// One error vocabulary for the method: every rejection names the value, the
// rule it breaks and what it received, so a caller can fix the input without
// reading the code.

/**
 * Input a method function cannot work with (bad weights, an incomplete
 * profile, an unknown type name…). The message names the value and the rule.
 *
 * @example
 * try { countDistributions(0, 5) } catch (e) {
 *   if (e instanceof MethodInputError) console.error(e.message); // "L must be a positive integer (got 0)"
 * }
 */
export class MethodInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MethodInputError";
  }
}

/**
 * Renders a received value for an error message, the one describer of apreqel (lib/core/errors.ts
 * uses it too): numbers rounded to 12 significant digits (so `0.5 + 0.7` prints as 1.2, not
 * 1.2000000000000002), strings quoted (cut at 80 characters), scalars as written, containers and functions by kind.
 *
 * @example
 * describeValue(0.1 + 0.2) // "0.3"
 * describeValue(2 ** 40)   // "1099511627776"
 * describeValue("q4_k")    // "\"q4_k\""
 * describeValue(undefined) // "undefined"
 * describeValue([1, 2])    // "an array"
 */
export function describeValue(value: unknown): string {
  if (typeof value === "number") {
    // integers exactly (a byte count may have 13 digits); fractions without float noise
    return Number.isFinite(value) && !Number.isInteger(value) ? String(Number(value.toPrecision(12))) : String(value);
  }
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/**
 * The valid name closest to `name`: a case-insensitive match first (the common typo is `q4_k`),
 * then the nearest within edit distance 2, so wild input gets no suggestion.
 *
 * @example
 * nearestName("q4_k", ["q4_K", "q5_K"]) // "q4_K"
 * nearestName("q4K", ["q4_K", "q8_0"])  // "q4_K"
 * nearestName("zzzz", ["q4_K"])         // undefined
 */
export function nearestName<T extends string>(name: string, valid: readonly T[]): T | undefined {
  const lower = name.toLowerCase();
  const exact = valid.find((v) => v.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  let best: T | undefined;
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

/**
 * Levenshtein distance: the fewest single-character insertions, deletions and substitutions
 * that turn `a` into `b`.
 *
 * @example
 * editDistance("q4K", "q4_K") // 1
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** Checks a finite number within bounds; the message names `what`. Internal helper. */
export function expectFiniteNumber(value: unknown, what: string): number {
  if (typeof value !== "number") throw new MethodInputError(`${what} must be a number (got ${describeValue(value)})`);
  if (!Number.isFinite(value)) throw new MethodInputError(`${what} must be a finite number (got ${describeValue(value)})`);
  return value;
}

/** Checks a finite number > 0. Internal helper. */
export function expectPositiveNumber(value: unknown, what: string): number {
  const n = expectFiniteNumber(value, what);
  if (n <= 0) throw new MethodInputError(`${what} must be a positive number (got ${describeValue(n)})`);
  return n;
}

/** Checks a non-negative safe integer. Internal helper. */
export function expectCount(value: unknown, what: string): number {
  const n = expectFiniteNumber(value, what);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new MethodInputError(`${what} must be a non-negative integer (got ${describeValue(n)})`);
  }
  return n;
}

/** Checks a plain (non-array) object. Internal helper. */
export function expectObject(value: unknown, what: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MethodInputError(`${what} must be an object (got ${describeValue(value)})`);
  }
  return value as Readonly<Record<string, unknown>>;
}

/** A constraint plan() accepts; the front's choice (choose.ts) also takes maxKld and the two targets. */
export type ConstraintName = "maxMemoryBytes" | "maxLatencyMs" | "maxPerplexity" | "maxKld" | "targetSizeBytes" | "targetBpw";

/**
 * No split meets the constraints. `unmet` lists the constraints no split can
 * meet even alone (empty when only their combination fails); `closest` is the
 * split with the smallest worst relative violation.
 *
 * @example
 * try { plan({ ...options, constraints: { maxMemoryBytes: 1 } }) } catch (e) {
 *   if (e instanceof InfeasibleConstraintsError) console.log(e.unmet, e.closest.distribution);
 * }
 */
export class InfeasibleConstraintsError extends MethodInputError {
  readonly unmet: readonly ConstraintName[];
  readonly closest: {
    readonly distribution: Readonly<Record<string, number>>;
    /** perplexity is absent for a front mix whose table carries none; kld, sizeBytes, bitsPerWeight come with front mixes. */
    readonly estimate: {
      readonly memoryBytes: number;
      readonly latencyMsPerToken: number;
      readonly perplexity?: number;
      readonly kld?: number;
      readonly sizeBytes?: number;
      readonly bitsPerWeight?: number;
    };
    /** Type per unit, for a front mix. */
    readonly assignment?: Readonly<Record<string, string>>;
  };

  constructor(message: string, unmet: readonly ConstraintName[], closest: InfeasibleConstraintsError["closest"]) {
    super(message);
    this.name = "InfeasibleConstraintsError";
    this.unmet = unmet;
    this.closest = closest;
  }
}
