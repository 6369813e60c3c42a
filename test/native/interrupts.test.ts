// Issue 12: interrupts in a child process, as a user gives them. A second SIGINT ends the process
// at once (the signal's default action, not a wait for the native job); an interrupt after the
// output is published is a success with the output intact; a model truncated while it is mapped
// ends the process with native/sigbus.cpp's explanation instead of a bare "Bus error".
import { copyFileSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { claimOutputs } from "../../lib/core/files.js";
import { packageRoot } from "../../lib/core/package.js";
import { inspect } from "../../lib/ops/inspect.js";
import { buildDist, runCli, spawnCli } from "../helpers/cli.js";
import { fixtureModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";
import { pipelineArgs } from "../helpers/args.js";

const dir = tempDir();
let model: string;
let calibration: string;
let evalText: string;

const common = (cache: string) => pipelineArgs({ cacheDir: cache, calibration, evalText, types: "q8_0,q4_K" });

beforeAll(async () => {
  await buildDist();
  model = await fixtureModel();
  calibration = path.join(dir, "calibration.txt");
  // long enough for the default method's sensitivity probes (two chunks of --ctx 64)
  writeFileSync(calibration, `${"Explain why the sky is blue, and why sunsets are red. ".repeat(6)}\n\n${"Write a haiku about rivers and the stones in them. ".repeat(6)}\n`);
  evalText = path.join(dir, "eval.txt");
  // long enough that measuring a file's perplexity takes a while (an interrupt must land inside it)
  writeFileSync(evalText, "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(300));
}, slow(300_000));

/** Starts the CLI and resolves once its stderr matches `when`, with what it printed so far. */
function startUntil(args: readonly string[], when: RegExp) {
  const child = spawnCli(args);
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => void (stdout += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  const reached = new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += String(d);
      if (when.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`exited before ${when}: ${stderr}`)));
  });
  return { child, reached, exited, out: () => ({ stdout, stderr }) };
}

describe("a second SIGINT", () => {
  it("ends the process by the signal itself, while the first is still stopping the native job", async () => {
    // the first SIGINT's cleanup takes milliseconds: try a few times for the second to land inside it
    let outcome: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    for (let attempt = 0; attempt < 3 && outcome?.signal !== "SIGINT"; attempt++) {
      const out = path.join(dir, `twice-${attempt}.gguf`);
      const run = startUntil(["quantize", model, "-o", out, ...common(path.join(dir, `cache-twice-${attempt}`))], /quantize q8_0: started/);
      await run.reached;
      run.child.kill("SIGINT");
      await new Promise<void>((resolve) => {
        run.child.stderr.on("data", () => {
          if (/SIGINT again to quit at once/.test(run.out().stderr)) resolve();
        });
        if (/SIGINT again to quit at once/.test(run.out().stderr)) resolve();
        void run.exited.then(() => resolve());
      });
      run.child.kill("SIGINT");
      outcome = await run.exited;
      expect(existsSync(out)).toBe(false);
      // the lock it could not remove belongs to a dead pid: the next run takes it over
      const claim = await claimOutputs([{ path: out, option: "--output", kind: "gguf" }], []);
      await claim.release();
    }
    // a first SIGINT alone exits with code 130 after cleaning up; the second re-raises the signal
    expect(outcome).toEqual({ code: null, signal: "SIGINT" });
  }, slow(300_000));
});

describe("an interrupt after the output is published", () => {
  it("exits 0, says the output was not measured, and the output is the one an uninterrupted run writes", async () => {
    const cache = path.join(dir, "cache-publish");
    const out = path.join(dir, "published.gguf");
    const args = ["quantize", model, "-o", out, ...common(cache)];
    const run = startUntil(args, /(latency|perplexity) result: started/);
    await run.reached;
    run.child.kill("SIGINT");
    const { code } = await run.exited;
    const { stdout, stderr } = run.out();
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`wrote ${out}`);
    expect(stdout).toContain("note: interrupted after the output was written: it is complete, but was not measured");
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-") || f.endsWith(".lock"))).toEqual([]);
    const interrupted = readFileSync(out);
    expect((await inspect(out)).metadata["apreqel.allocation"]).toBeDefined();
    // the rerun reads every measurement from the cache, so it plans the same mix: the same bytes
    const again = path.join(dir, "again.gguf");
    const r = await runCli(["quantize", model, "-o", again, "--json", ...common(cache)]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(again).equals(interrupted)).toBe(true);
  }, slow(300_000));
});

describe("SIGBUS from a model truncated while it is mapped", () => {
  it("prints what happened before the process dies by the signal", async () => {
    const victim = path.join(dir, "victim.gguf");
    copyFileSync(model, victim);
    // a token loop reads every weight page per token; progress is reported after each repetition
    const script = `
      const { bench } = await import(${JSON.stringify(path.join(packageRoot, "dist", "ops", "index.js"))});
      let said = false;
      await bench({ model: ${JSON.stringify(victim)}, nPrompt: 0, nGen: 8, reps: 100000, warmup: false, threads: 1,
        onProgress: () => { if (!said) { said = true; console.log("decoding"); } } });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => void (stderr += String(d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => String(d).includes("decoding") && resolve());
      void exited.then(() => reject(new Error(`the child ended before it decoded: ${stderr}`)));
    });
    // the kernel drops the mapped pages past the new end: the next read of a weight faults
    truncateSync(victim, 4096);
    const { signal } = await exited;
    expect(signal).toBe("SIGBUS");
    expect(stderr).toMatch(/apreqel: SIGBUS: a memory-mapped input file \(a model being read\) was truncated or rewritten in place while apreqel was using it/);
  }, slow(120_000));
});
