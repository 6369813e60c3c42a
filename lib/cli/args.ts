/** Strict option parsing shared by the commands: unknown options are errors, never ignored. */
import { parseArgs, type ParseArgsConfig } from "node:util";

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
    throw new UsageError((e as Error).message.split("\n")[0]!.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}
