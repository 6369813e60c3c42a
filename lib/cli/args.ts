/** Strict option parsing shared by the commands: unknown options are errors, never ignored. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { nearestName } from "../errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function parse<T extends Options>(
  argv: readonly string[],
  options: T,
  allowPositionals = true,
): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (e) {
    const unknown = /^Unknown option '(--?[^']+)'/.exec((e as Error).message);
    if (unknown) {
      // a typo gets the nearest real option, like every other name we validate
      const near = nearestName(unknown[1]!, [...Object.keys(options).map((k) => `--${k}`), "--help"]);
      throw new UsageError(`unknown option ${unknown[1]}${near === undefined ? "" : `; did you mean ${near}?`}`);
    }
    throw new UsageError((e as Error).message.split("\n")[0]!.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}
