/** The `apreqel` command line: one file per command, each a few lines over library functions. */
import { InputError, OptionError } from "../errors.js";
import { UsageError } from "./args.js";
import * as build from "./build.js";
import * as inspect from "./inspect.js";

interface Command {
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

const commands: Readonly<Record<string, Command>> = { build, inspect };

const help = `usage: apreqel <command> [options]
commands:
  inspect MODEL.gguf   per-layer tensor types and bits per weight
  build                compile the native addon from source
Run \`apreqel <command> --help\` for a command's options.`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    console.log(help);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`apreqel: unknown command "${name}"\n${help}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err instanceof OptionError) {
      // usage mistakes: the message and the command's usage, exit 2
      console.error(`apreqel ${name}: ${err.message}\n${command.usage}`);
      return 2;
    }
    console.error(`apreqel ${name}: ${err.message}`);
    if (err instanceof InputError) return 2;
    return err.name === "AbortError" ? 130 : 1;
  }
}
