import { describe, expect, it } from "vitest";
import { parse } from "../../lib/cli/args.js";
import { OptionError } from "../../lib/core/errors.js";
import { runCli } from "../helpers/cli.js";

describe("parse: strict options", () => {
  const options = { "gpu-layers": { type: "string" }, json: { type: "boolean" } } as const;

  it("a negative number after an option with a value is its value (--gpu-layers -1)", () => {
    expect(parse(["m.gguf", "--gpu-layers", "-1", "--json"], options).values).toEqual({ "gpu-layers": "-1", json: true });
    expect(parse(["--gpu-layers=-2"], options).values).toEqual({ "gpu-layers": "-2" });
  });

  it("an option after a boolean stays an option, and a typo is named", () => {
    expect(() => parse(["--json", "-1"], options)).toThrow(OptionError);
    expect(() => parse(["--gpu-layer", "3"], options)).toThrow("unknown option --gpu-layer; did you mean --gpu-layers?");
  });
});

describe("negative numbers get the option's own message, never parseArgs' 'ambiguous'", () => {
  it("every spelling of a negative number after an option with a value is that value", () => {
    const options = { ctx: { type: "string" }, output: { type: "string", short: "o" }, json: { type: "boolean" } } as const;
    for (const value of ["-1", "-5", "-0.5", "-.5", "-1e3", "-1e-3", "-1GB"]) {
      expect(parse(["--ctx", value], options).values).toEqual({ ctx: value });
      expect(parse(["-o", value], options).values).toEqual({ output: value });
    }
    // what only starts with a dash stays an option (and a typo is still named)
    expect(() => parse(["--ctx", "-x"], options)).toThrow(OptionError);
    expect(parse(["--", "--ctx", "-1"], options, true).positionals).toEqual(["--ctx", "-1"]);
  });

  // each numeric option of each command, with a negative value: exit 2 and the message naming the option
  const cases: ReadonlyArray<readonly [readonly string[], string]> = [
    ...["--threads", "-t", "--ctx", "-c", "--chunks", "--n-gen", "--n-prompt", "--reps", "--gamma", "--probe-chunks", "--max-memory", "--max-latency", "--max-perplexity"].map(
      (o) => [["quantize", "m.gguf", ...(o === "--probe-chunks" ? ["--sensitivity", "measured"] : []), o, "-1"], o] as const,
    ),
    ...["--gpu-layers", "-ngl"].map((o) => [["quantize", "m.gguf", o, "-2"], o] as const),
    ...["--max-kld", "--target-bpw", "--target-size"].map((o) => [["quantize", "m.gguf", "--method", "front", o, "-1e-3"], o] as const),
    [["quantize", "m.gguf", "--max-memory", "-1GB"], "--max-memory"],
    [["quantize", "m.gguf", "--reps", "-.5"], "--reps"],
    [["portfolio", "m.gguf", "-o", "out", "--count", "-3"], "--count"],
    [["portfolio", "profile", "out", "--n-gen", "-3"], "--n-gen"],
    [["imatrix", "m.gguf", "--calibration", "c.txt", "-o", "i.gguf", "--ctx", "-5"], "--ctx"],
    [["fixture", "-o", "f.gguf", "--seed", "-1"], "--seed"],
    [["eval", "m.gguf", "--ctx", "-5"], "--ctx"],
    [["cache", "clear", "--older-than", "-1d"], "--older-than"],
  ];
  // (a first CLI run imports every command: generous time on a shared machine)
  it.each(cases)("%j", { timeout: 30_000 }, async (argv, option) => {
    const r = await runCli(argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(/ambiguous/);
    const long = ({ "-t": "--threads", "-c": "--ctx", "-ngl": "--gpu-layers" } as Record<string, string>)[option] ?? option;
    expect(r.stderr).toContain(long);
    expect(r.stderr).toMatch(/received "-/);
  });
});
