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
 * Renders a received value for an error message: numbers rounded to 12
 * significant digits (so `0.5 + 0.7` prints as 1.2, not 1.2000000000000002),
 * strings quoted, everything else by kind.
 *
 * @example
 * describeValue(0.1 + 0.2) // "0.3"
 * describeValue("q4_k")    // "\"q4_k\""
 */
export function describeValue(value: unknown): string {
  if (typeof value === "number") {
    return Number.isFinite(value) ? String(Number(value.toPrecision(12))) : String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return typeof value;
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
