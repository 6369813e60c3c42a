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
    return parseArgs({ args: joinNegativeValues(llamaCppSpellings(argv, options, allowPositionals), options), options, strict: true, allowPositionals });
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
// ambiguous; what follows an option that takes a value and looks like a negative number (-1,
// -0.5, -.5, -1e3, -1GB) is that option's value, so its own parser says what it accepts. No
// option is named by a digit or a dot, so nothing else is read this way.
const NEGATIVE_VALUE = /^-\.?[0-9]/;

function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const shortNames = new Map(Object.entries(options).flatMap(([name, o]) => (o.short === undefined ? [] : [[o.short, name] as const])));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : /^-[^-]$/.test(arg) ? shortNames.get(arg.slice(1)) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && NEGATIVE_VALUE.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** llama.cpp's spellings of the options we share, and the option each means here. */
export const LLAMA_CPP_ALIASES: Readonly<Record<string, string>> = {
  "-ngl": "gpu-layers",
  "--n-gpu-layers": "gpu-layers",
  "-t": "threads",
  "-c": "ctx",
  "--ctx-size": "ctx",
};

/**
 * Rewrites llama.cpp's habits into our options: `-ngl 99` → `--gpu-layers 99`, `-t 8` → `--threads 8`,
 * `-c 512` → `--ctx 512`, and `-m FILE` / `--model FILE` → the command's model argument. An alias is
 * rewritten only for a command that has the option (elsewhere it stays unknown, hence an error);
 * nothing after `--` is touched.
 *
 * @example
 * llamaCppSpellings(["-m", "a.gguf", "-ngl", "99"], { "gpu-layers": { type: "string" } }, true)
 * // ["a.gguf", "--gpu-layers", "99"]
 */
export function llamaCppSpellings(argv: readonly string[], options: Options, allowPositionals: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const eq = arg.startsWith("-") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const target = LLAMA_CPP_ALIASES[name];
    if (target !== undefined && options[target] !== undefined) {
      out.push(inline === undefined ? `--${target}` : `--${target}=${inline}`);
    } else if ((name === "-m" || name === "--model") && allowPositionals && options["model"] === undefined) {
      const file = inline ?? argv[++i];
      if (file === undefined || (inline === undefined && file.startsWith("-"))) throw new OptionError(name, `option ${name} needs a model file`);
      out.push(file);
    } else {
      out.push(arg);
    }
  }
  return out;
}
