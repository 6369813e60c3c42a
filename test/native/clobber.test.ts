// Issue 12, data loss and settings: every case the careless user found is refused before any work
// with exit code 2, one line naming the option, and every input byte for byte unchanged.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
let model: string;
let evalText: string;
let calibration: string;
let notes: string;
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

beforeAll(async () => {
  model = path.join(dir, "model.gguf");
  copyFileSync(await fixtureModel({ nLayer: 2 }), model);
  evalText = path.join(dir, "eval.txt");
  writeFileSync(evalText, "The river remembers the morning light.\n".repeat(200));
  calibration = path.join(dir, "calibration.txt");
  writeFileSync(calibration, "A first prompt.\n\nA second prompt.\n");
  notes = path.join(dir, "notes.txt");
  writeFileSync(notes, "my notes, not a model\n");
});

async function refused(args: readonly string[], message: RegExp): Promise<void> {
  return refusedCommand(["quantize", model, "--cache-dir", path.join(dir, "cache"), ...args], message);
}

async function refusedCommand(args: readonly string[], message: RegExp): Promise<void> {
  const inputs = [model, evalText, calibration, notes];
  const before = inputs.map(sha);
  const listing = readdirSync(dir).sort();
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(inputs.map(sha)).toEqual(before);
  // nothing was created: no output, no lock, no cache
  expect(readdirSync(dir).sort()).toEqual(listing);
}

describe("data loss refused with exit 2, inputs unchanged", () => {
  it("--report equal to the model", () => refused(["--report", "__MODEL__"].map((a) => (a === "__MODEL__" ? model : a)), /--report: the output .*model\.gguf is also an input \(MODEL\)/));
  it("-o equal to --eval-text", () => refused(["-o", "__E__", "--eval-text", "__E__"].map((a) => (a === "__E__" ? evalText : a)), /--output: the output .*eval\.txt is also an input \(--eval-text\)/));
  it("-o equal to --calibration", () =>
    refused(["-o", "__C__", "--calibration", "__C__"].map((a) => (a === "__C__" ? calibration : a)), /--output: the output .*calibration\.txt is also an input \(--calibration\)/));
  it("--report equal to -o", () => refused(["-o", path.join(dir, "mix.gguf"), "--report", path.join(dir, "mix.gguf")], /--output and --report name the same file/));
  it("-o onto an existing file apreqel did not write", () => refused(["-o", "__N__"].map((a) => (a === "__N__" ? notes : a)), /--output: .*notes\.txt exists and is not a file apreqel wrote; pass --force/));
});

describe("every command's outputs go through the same claim", () => {
  const cache = () => path.join(dir, "cache");
  it("imatrix -o equal to --calibration, or onto a file apreqel did not write", async () => {
    await refusedCommand(["imatrix", model, "--calibration", calibration, "-o", calibration], /--output: the output .*calibration\.txt is also an input \(--calibration\)/);
    await refusedCommand(["imatrix", model, "--calibration", calibration, "-o", notes], /--output: .*notes\.txt exists and is not a file apreqel wrote; pass --force/);
  });
  it("quantize --recipe equal to -o, or to the model", async () => {
    const mix = path.join(dir, "mix.gguf");
    await refused(["--method", "front", "-o", mix, "--recipe", mix], /--output and --recipe name the same file .*mix\.gguf/);
    await refused(["--method", "front", "--recipe", model], /--recipe: the output .*model\.gguf is also an input \(MODEL\)/);
  });
  it("portfolio -o onto a file, onto the model's folder where a variant's file is not apreqel's, or with a variant equal to the model", async () => {
    await refusedCommand(["portfolio", model, "-o", notes, "--cache-dir", cache()], /--output: .*notes\.txt exists and is not a folder/);
    // DIR/<model>-memory.gguf would be written: here it is the user's own file
    const theirs = path.join(dir, "model-memory.gguf");
    writeFileSync(theirs, "the user's file\n");
    try {
      await refusedCommand(["portfolio", model, "-o", dir, "--count", "2", "--cache-dir", cache()], /--output: .*model-memory\.gguf exists and is not a file apreqel wrote; pass --force/);
    } finally {
      rmSync(theirs);
    }
    // a model named like a variant, in the portfolio folder itself
    const inside = path.join(dir, "pf");
    mkdirSync(inside, { recursive: true });
    const variantNamed = path.join(inside, "m-accuracy.gguf");
    copyFileSync(model, variantNamed);
    linkSync(variantNamed, path.join(inside, "m.gguf"));
    const before = sha(variantNamed);
    const same = await runCli(["portfolio", path.join(inside, "m.gguf"), "-o", inside, "--count", "1", "--cache-dir", cache(), "--force"]);
    expect(same.code, same.stderr).toBe(2);
    expect(same.stderr).toMatch(/--output: the output .*m-accuracy\.gguf is also an input \(MODEL\)/);
    expect(sha(variantNamed)).toBe(before);
    expect(readdirSync(inside).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });
  it("fixture -o onto a file apreqel did not write", () => refusedCommand(["fixture", "-o", notes], /--output: .*notes\.txt exists and is not a file apreqel wrote; pass --force/));
});

describe("settings that cannot work are refused before any work", () => {
  it("--gamma 5", () => refused(["--gamma", "5"], /--gamma: expected a cosine threshold from 0 to 1 but received "5"/));
  it("--ctx beyond the model's context", () => refused(["--ctx", "100000"], /--ctx: 100000 tokens is more than .*model\.gguf's context of 512 tokens/));
  it("--n-prompt beyond the model's context", () => refused(["--n-prompt", "1000000"], /--n-prompt: 1000000 tokens is more than/));
  it("--non-layer-type iq2_xxs without an imatrix", () => refused(["--non-layer-type", "iq2_xxs", "--no-imatrix"], /--non-layer-type: iq2_xxs needs an importance matrix/));
  it("an eval text shorter than two chunks (quantize and eval)", async () => {
    const short = path.join(dir, "short.txt");
    writeFileSync(short, "Too short to measure.\n");
    try {
      await refused(["--eval-text", short], /--eval-text .*short\.txt gives \d+ tokens with .*model\.gguf's tokenizer; perplexity with --ctx 512 needs at least 1024 \(two chunks\)/);
      await refusedCommand(["eval", model, "--eval-text", short, "--ctx", "64", "--cache-dir", path.join(dir, "cache")], /gives \d+ tokens .*; perplexity with --ctx 64 needs at least 128 \(two chunks\)/);
    } finally {
      rmSync(short);
    }
  });
  it("memory limits below the smallest possible mix", async () => {
    await refused(["--max-memory", "1KB"], /--max-memory: no mix can meet .*: .*model\.gguf's weights take at least .* with types q8_0, q6_K, q5_K, q4_K, q3_K/);
    await refused(["--method", "front", "--target-size", "10KB"], /--target-size: no mix can meet /);
    await refused(["--method", "front", "--target-bpw", "3"], /--target-bpw: no mix can meet 3 bits per weight: the smallest of types .* has 3\.4375/);
  });

  it("--threads above the cores is capped with a warning (and --force keeps it)", async () => {
    // --gamma 5 stops the run right after the threads are read, so nothing long starts
    const r = await runCli(["quantize", model, "--threads", "1000", "--gamma", "5"]);
    expect(r.stderr).toMatch(/--threads 1000 is more than the \d+ cores available: using \d+ \(--force keeps 1000\)/);
    const forced = await runCli(["quantize", model, "--threads", "1000", "--force", "--gamma", "5"]);
    expect(forced.stderr).not.toMatch(/cores available/);
  });
});

describe("inspect prints no terminal escapes", () => {
  it("an architecture name with an escape sequence is shown escaped", async () => {
    const { rewriteGguf, gv } = await import("../../scripts/shared/gguf-edit.js");
    const hostile = rewriteGguf(model, path.join(dir, "escape.gguf"), (m) => {
      m.kvs.set("apreqel.note", gv.string("\u001b]0;pwned\u0007\u001b[2J"));
    });
    const r = await runCli(["inspect", hostile]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/\u001b/);
    expect(r.stdout).toContain("apreqel.note = \\u001b]0;pwned\\u0007\\u001b[2J");
    expect(existsSync(hostile)).toBe(true);
  });
});
