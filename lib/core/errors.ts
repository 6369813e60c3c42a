/**
 * The error vocabulary of apreqel. A message says what was expected, for which option, and what
 * was received ("expected … for option X but received …"), with the nearest valid name for a
 * typo. Values are described by the method's describer and typos matched by its nearestName, so
 * lib/method (which imports nothing outside itself) and the rest of lib/ speak alike.
 *
 * How the CLI reports them (lib/cli/main.ts): OptionError and InputError are the user's to fix
 * (exit 2, as is the method's MethodInputError); AbortError exits 130; anything else 1.
 */
import { describeValue, MethodInputError, nearestName } from "../method/errors.js";

export { describeValue, nearestName } from "../method/errors.js";

/**
 * An invalid option or argument (a library call's option, a command-line flag or positional):
 * thrown before anything is read or written.
 */
export class OptionError extends TypeError {
  /** The option as the caller spelled it: `threads` in the library, `--threads` on the command line. */
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

/** Raised when a call is aborted through its AbortSignal (same name and code as Node's own). */
export class AbortError extends Error {
  readonly code = "ABORT_ERR";
  constructor(message = "the operation was aborted", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AbortError";
  }
}

/**
 * `expected <what> for option <option> but received <value>`
 *
 * @example
 * invalidOption("--ctx", "a whole number ≥ 8", "4").message // 'expected a whole number ≥ 8 for option --ctx but received "4"'
 */
export function invalidOption(option: string, expected: string, received: unknown): OptionError {
  return new OptionError(option, `expected ${expected} for option ${option} but received ${describeValue(received)}`);
}

/**
 * `unknown <kind> "<name>" for option <option>; did you mean "<nearest>"?` (or the valid names
 * when none is near).
 *
 * @example
 * unknownName("type", "ggml type", "q4_k", ["q4_K"]).message // 'unknown ggml type "q4_k" for option type; did you mean "q4_K"?'
 */
export function unknownName(option: string, kind: string, name: string, valid: readonly string[]): OptionError {
  const near = nearestName(name, valid);
  const hint = near === undefined ? `; valid: ${valid.join(", ")}` : `; did you mean "${near}"?`;
  return new OptionError(option, `unknown ${kind} "${name}" for option ${option}${hint}`);
}

/**
 * Runs a method validator on data read from a file or another user input: its MethodInputError becomes an
 * InputError that names where the data came from (`what`), so the user knows which file to fix.
 *
 * @example
 * asInputError(() => parseProfile(json), "profile.json") // throws InputError("profile.json: …")
 */
export function asInputError<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MethodInputError) throw new InputError(`${what}: ${e.message}`);
    throw e;
  }
}
