/** llama.cpp users' habits (issue 13): their option spellings, names in any case, --version, no ignored options, early path checks. */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { llamaCppSpellings, parse } from "../../lib/cli/args.js";
import { main, versionText } from "../../lib/cli/main.js";
import { overallLabel, pipelineOptionsUsage, PIPELINE_OPTIONS, rejectUnusedOptions } from "../../lib/cli/pipeline-options.js";
import { OptionError } from "../../lib/core/errors.js";
import { nameIgnoringCase } from "../../lib/core/validate.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("apreqel-cli-habits-");
let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, "error").mockImplementation((s: unknown) => void err.push(String(s)));
});
afterEach(() => vi.restoreAllMocks());

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    return (e as Error).message;
  }
  throw new Error("expected an OptionError");
}

describe("llama.cpp's option spellings", () => {
  const options = { "gpu-layers": { type: "string" }, threads: { type: "string" }, ctx: { type: "string" } } as const;

  it("-ngl, -t, -c and their long forms mean --gpu-layers, --threads, --ctx", () => {
    const { values, positionals } = parse(["m.gguf", "-ngl", "99", "-t", "8", "-c", "256"], options);
    expect(values).toEqual({ "gpu-layers": "99", threads: "8", ctx: "256" });
    expect(positionals).toEqual(["m.gguf"]);
    expect(parse(["--n-gpu-layers=12", "--ctx-size", "1024"], options).values).toEqual({ "gpu-layers": "12", ctx: "1024" });
    expect(parse(["-ngl", "-1"], options).values).toEqual({ "gpu-layers": "-1" }); // negative values still read as values
  });

  it("-m/--model FILE is the model argument", () => {
    expect(llamaCppSpellings(["-m", "a.gguf", "-t", "2"], options, true)).toEqual(["a.gguf", "--threads", "2"]);
    expect(llamaCppSpellings(["--model=a.gguf"], options, true)).toEqual(["a.gguf"]);
    expect(parse(["--model", "a.gguf", "-ngl", "1"], options).positionals).toEqual(["a.gguf"]);
    expect(message(() => parse(["-m"], options))).toBe("option -m needs a model file");
    expect(message(() => parse(["-m", "--threads", "2"], options))).toBe("option -m needs a model file");
  });

  it("an alias a command has no option for stays an unknown option, and nothing after -- is rewritten", () => {
    expect(message(() => parse(["-t", "2"], { ctx: { type: "string" } }))).toBe("unknown option -t");
    expect(message(() => parse(["-m", "a.gguf"], { ctx: { type: "string" } }, false))).toMatch(/^unknown option -m/);
    expect(llamaCppSpellings(["--", "-t", "-m"], options, true)).toEqual(["--", "-t", "-m"]);
  });

  it("names match ignoring case when exactly one entry does", () => {
    expect(nameIgnoringCase("q4_k", ["q4_K", "q8_0"])).toBe("q4_K");
    expect(nameIgnoringCase("q4_k_m", ["Q4_K_M", "Q4_K_S"])).toBe("Q4_K_M");
    expect(nameIgnoringCase("q4_x", ["q4_K"])).toBeUndefined();
    expect(nameIgnoringCase("ab", ["AB", "ab"])).toBe("ab"); // exact first
    expect(nameIgnoringCase("Ab", ["AB", "ab"])).toBeUndefined(); // ambiguous
  });
});

describe("--version", () => {
  it("prints apreqel's version and the pinned llama.cpp", async () => {
    expect(await main(["--version"])).toBe(0);
    expect(out.join("\n")).toBe(versionText());
    expect(versionText()).toMatch(/^apreqel \d+\.\d+\.\d+\nllama\.cpp v\S+ \([0-9a-f]{12}, from node-llama-cpp \d+\.\d+\.\d+'s bundle\)$/);
  });
});

describe("options a command does not use are errors", () => {
  it("score --kld and eval --gamma are refused with what the command does use", () => {
    expect(message(() => rejectUnusedOptions("score", { kld: true }))).toBe(
      "--kld: score does not use this option (its pipeline options: --calibration, --imatrix, --no-imatrix, --gpu-layers, --threads, --cache-dir, --ctx, --gamma, --json, --force)",
    );
    expect(message(() => rejectUnusedOptions("eval", { gamma: "0.5", calibration: "c.txt" }))).toMatch(/^--calibration, --gamma: eval does not use these options/);
    expect(() => rejectUnusedOptions("quantize", Object.fromEntries(Object.keys(PIPELINE_OPTIONS).map((k) => [k, "x"])))).not.toThrow();
  });

  it("each command's --help lists only the options it uses", () => {
    expect(pipelineOptionsUsage("score")).not.toContain("--kld");
    expect(pipelineOptionsUsage("score")).toContain("--gamma");
    expect(pipelineOptionsUsage("eval")).not.toContain("--gamma");
    expect(pipelineOptionsUsage("eval")).toContain("--kld");
    expect(pipelineOptionsUsage("quantize")).toContain("-ngl, --gpu-layers N");
    // profile collects the importance matrix in the calibration pass; eval quantizes nothing
    expect(pipelineOptionsUsage("profile")).toContain("--calibration FILE");
    expect(pipelineOptionsUsage("profile")).toContain("--no-imatrix");
    expect(pipelineOptionsUsage("eval")).not.toContain("--no-imatrix");
  });

  it("the command line refuses them before any work (exit 2)", async () => {
    const model = path.join(dir, "m.gguf");
    expect(await main(["score", model, "-o", path.join(dir, "s.json"), "--kld"])).toBe(2);
    expect(err.join("\n")).toContain("--kld: score does not use this option");
    expect(await main(["eval", model, "--gamma", "0.5"])).toBe(2);
    expect(err.join("\n")).toContain("--gamma: eval does not use this option");
  });
});

describe("output paths are checked before any work", () => {
  it("a bad --report fails at once, with nothing written", async () => {
    const model = path.join(dir, "model.gguf");
    writeFileSync(model, "not read: the run never starts");
    const output = path.join(dir, "out.gguf");
    expect(await main(["quantize", model, "-o", output, "--report", path.join(dir, "missing", "r.html")])).toBe(2);
    expect(err.join("\n")).toContain(`--report: the output folder ${path.join(dir, "missing")} does not exist`);
    expect(existsSync(output)).toBe(false);
    expect(await main(["quantize", model, "-o", output, "--report", output])).toBe(2);
    expect(err.join("\n")).toContain("--output and --report name the same file");
  });
});

describe("overall progress", () => {
  it("labels each step with its number, the planned total and the run's ETA", () => {
    expect(overallLabel("similarity", 1, 12, 0)).toBe("[1/12] similarity");
    // 2 of 12 steps done in 60 s → 10 more at 30 s each
    expect(overallLabel("latency q8_0", 3, 12, 60_000)).toBe("[3/12, ETA 5m00s] latency q8_0");
    // more steps than planned (e.g. KLD): the count grows instead of passing the total
    expect(overallLabel("assemble", 14, 12, 60_000)).toBe("[14/14, ETA 5s] assemble");
  });
});
