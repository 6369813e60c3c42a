/** Strict option parsing shared by the commands: unknown options are errors, never ignored. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { nearestName, OptionError } from "../core/errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What a command gets beside its arguments: `signal` aborts on SIGINT/SIGTERM (see bin/apreqel.js). */
export interface CommandContext {
  readonly signal?: AbortSignal;
}

export function parse<T extends Options>(
  argv: readonly string[],
  options: T,
  allowPositionals = true,
): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals });
  } catch (e) {
    const unknown = /^Unknown option '(--?[^']+)'/.exec((e as Error).message);
    if (unknown) {
      // a typo gets the nearest real option, like every other name we validate
      const near = nearestName(unknown[1]!, [...Object.keys(options).map((k) => `--${k}`), "--help"]);
      throw new OptionError(unknown[1]!, `unknown option ${unknown[1]}${near === undefined ? "" : `; did you mean ${near}?`}`);
    }
    throw new OptionError("arguments", (e as Error).message.split("\n")[0]!.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}

// parseArgs reads "--gpu-layers -1" as an option followed by another option and calls it
// ambiguous; a negative number after an option that takes a value is that option's value.
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-\d+(\.\d+)?$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
