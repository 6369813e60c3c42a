// Issue 12: outputs are checked against every input and each other by identity, an existing file
// apreqel did not write is refused without force, and a lock beside each output keeps a second
// run off it. Every refusal leaves every file byte for byte as it was.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../lib/core/errors.js";
import { claimOutputs, wroteByApreqel } from "../../lib/core/files.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir();
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const GGUF_OURS = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(20), Buffer.from("apreqel.weights")]);
const GGUF_THEIRS = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(20), Buffer.from("general.name")]);

async function refused(outputs: Parameters<typeof claimOutputs>[0], inputs: Parameters<typeof claimOutputs>[1], message: RegExp, force = false) {
  const files = [...outputs.map((o) => o.path), ...inputs.map((i) => i.path)].filter((p) => existsSync(p));
  const before = files.map(sha);
  const e = await claimOutputs(outputs, inputs, { force }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  expect((e as Error).message).toMatch(message);
  expect(files.map(sha)).toEqual(before);
  for (const o of outputs) expect(existsSync(path.join(path.dirname(o.path), `.${path.basename(o.path)}.lock`))).toBe(false);
}

describe("claimOutputs: an output is never an input", () => {
  it("the report path equal to the model", async () => {
    const model = file("m.gguf", GGUF_THEIRS);
    await refused([{ path: model, option: "--report", kind: "html" }], [{ path: model, option: "MODEL" }], /--report: the output .*m\.gguf is also an input \(MODEL\)/, true);
  });

  it("-o equal to the eval text or the calibration file, also through a hard link and a symlink", async () => {
    const evalText = file("eval.txt", "some text\n");
    const hard = path.join(dir, "eval-hard.txt");
    linkSync(evalText, hard);
    const soft = path.join(dir, "eval-soft.txt");
    symlinkSync(evalText, soft);
    for (const out of [evalText, hard, soft, path.join(dir, ".", "eval.txt")]) {
      await refused([{ path: out, option: "--output", kind: "gguf" }], [{ path: evalText, option: "--eval-text" }], /is also an input \(--eval-text\)/, true);
    }
    const calibration = file("cal.json", "[\"a\"]");
    await refused([{ path: calibration, option: "--output", kind: "gguf" }], [{ path: calibration, option: "--calibration" }], /also an input \(--calibration\)/, true);
  });

  it("two outputs naming the same file (--report equal to -o)", async () => {
    const out = path.join(dir, "mix.gguf");
    await refused(
      [
        { path: out, option: "--output", kind: "gguf" },
        { path: out, option: "--report", kind: "html" },
      ],
      [],
      /--output and --report name the same file .*mix\.gguf/,
    );
  });
});

describe("claimOutputs: an existing file apreqel did not write", () => {
  it("is refused without force, for every kind", async () => {
    const cases: Array<[string, string | Buffer, "gguf" | "profile" | "scores" | "html" | "json"]> = [
      ["notes.txt", "my notes\n", "gguf"],
      ["other.gguf", GGUF_THEIRS, "gguf"],
      ["config.json", '{"name":"x"}', "profile"],
      ["list.json", "[1,2]", "scores"],
      ["page.html", "<html><body>mine</body></html>", "html"],
    ];
    for (const [name, content, kind] of cases) {
      const p = file(name, content);
      await refused([{ path: p, option: "--output", kind }], [], new RegExp(`${name.replace(".", "\\.")} exists and is not a file apreqel wrote; pass --force`));
    }
  });

  it("is claimed with force, and files apreqel wrote are claimed without it", async () => {
    const theirs = file("theirs.txt", "keep me?\n");
    const forced = await claimOutputs([{ path: theirs, option: "--output", kind: "gguf" }], [], { force: true });
    await forced.release();
    const ours: Array<[string, string | Buffer, "gguf" | "profile" | "scores" | "html"]> = [
      ["ours.gguf", GGUF_OURS, "gguf"],
      ["profile.json", '{"model":{"sha256":"x"},"types":{}}', "profile"],
      ["scores.json", '{"gamma":0.9,"layers":[]}', "scores"],
      ["report.html", '<!doctype html><meta name="generator" content="apreqel">', "html"],
      ["empty.gguf", "", "gguf"],
    ];
    for (const [name, content, kind] of ours) {
      const p = file(name, content);
      if (content.length > 0) expect(await wroteByApreqel(p, kind)).toBe(true);
      const c = await claimOutputs([{ path: p, option: "--output", kind }], []);
      expect(c.paths).toEqual([p]);
      await c.release();
    }
  });
});

describe("claimOutputs: a lock beside the output", () => {
  const children: Array<ReturnType<typeof spawn>> = [];
  afterAll(() => children.forEach((c) => c.kill("SIGKILL")));

  it("a second claim by a live process fails clearly; after release it succeeds", async () => {
    const out = path.join(dir, "locked.gguf");
    const lock = path.join(dir, ".locked.gguf.lock");
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    children.push(child);
    writeFileSync(lock, `${child.pid}\n`);
    const e = await claimOutputs([{ path: out, option: "--output", kind: "gguf" }], []).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(`--output: another apreqel run (pid ${child.pid}) is writing ${out}; wait for it to finish or choose another output path`);
    expect(readFileSync(lock, "utf8")).toBe(`${child.pid}\n`); // the other run's lock is left alone
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // the owner is gone: its lock is taken over
    const c = await claimOutputs([{ path: out, option: "--output", kind: "gguf" }], []);
    expect(readFileSync(lock, "utf8")).toBe(`${process.pid}\n`);
    await c.release();
    expect(existsSync(lock)).toBe(false);
  });
});

describe("claimOutputs: a folder output and the files inside it (portfolio, sweep)", () => {
  const claimDir = (name: string, files: readonly string[], inputs: Parameters<typeof claimOutputs>[1] = [], force = false) =>
    claimOutputs([{ path: path.join(dir, name), option: "--output", kind: "dir" }, ...files.map((f) => ({ path: path.join(dir, name, f), option: "--output", kind: "gguf" as const }))], inputs, { force });

  it("a new folder is created only once every check passed, and locked with each file inside it", async () => {
    const c = await claimDir("pf-new", ["m-memory.gguf", "m-accuracy.gguf"]);
    expect(existsSync(path.join(dir, "pf-new"))).toBe(true);
    expect(existsSync(path.join(dir, ".pf-new.lock"))).toBe(true);
    expect(existsSync(path.join(dir, "pf-new", ".m-memory.gguf.lock"))).toBe(true);
    await c.release();
    expect(readdirSync(path.join(dir, "pf-new"))).toEqual([]);
    expect(existsSync(path.join(dir, ".pf-new.lock"))).toBe(false);
  });

  it("a folder path that is an existing file is refused", async () => {
    const notes = file("pf-notes.txt", "not a folder\n");
    await refused([{ path: notes, option: "--output", kind: "dir" }], [], /--output: .*pf-notes\.txt exists and is not a folder/);
  });

  it("a file inside the folder that is an input, or not apreqel's, is refused and nothing is created", async () => {
    mkdirSync(path.join(dir, "pf-old"));
    const model = file("pf-old/m-memory.gguf", GGUF_THEIRS);
    const before = readdirSync(path.join(dir, "pf-old")).sort();
    const asInput = await claimDir("pf-old", ["m-memory.gguf"], [{ path: model, option: "MODEL" }], true).then(() => undefined, (e: unknown) => e);
    expect((asInput as Error).message).toMatch(/--output: the output .*m-memory\.gguf is also an input \(MODEL\)/);
    const theirs = await claimDir("pf-old", ["m-memory.gguf"]).then(() => undefined, (e: unknown) => e);
    expect(theirs).toBeInstanceOf(InputError);
    expect((theirs as Error).message).toMatch(/m-memory\.gguf exists and is not a file apreqel wrote; pass --force/);
    expect(readdirSync(path.join(dir, "pf-old")).sort()).toEqual(before);
    expect(existsSync(path.join(dir, ".pf-old.lock"))).toBe(false);
    // a refused claim of a new folder does not leave the folder behind
    const fresh = path.join(dir, "pf-fresh");
    const e = await claimOutputs(
      [
        { path: fresh, option: "--output", kind: "dir" },
        { path: path.join(fresh, "a.gguf"), option: "--output", kind: "gguf" },
        { path: path.join(fresh, "a.gguf"), option: "--recipe", kind: "recipe" },
      ],
      [],
    ).then(() => undefined, (err: unknown) => err);
    expect((e as Error).message).toMatch(/--output and --recipe name the same file/);
    expect(existsSync(fresh)).toBe(false);
  });

  it("recognises its own imatrix and recipe files", async () => {
    // apreqel's imatrix files carry apreqel.writer; llama-imatrix's (same format) are the user's
    const imatrix = file("i.gguf", Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(20), Buffer.from("general.type imatrix apreqel.writer imatrix.chunk_count")]));
    expect(await wroteByApreqel(imatrix, "gguf")).toBe(true);
    expect(await wroteByApreqel(file("i2.gguf", Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(20), Buffer.from("general.type imatrix imatrix.chunk_count")])), "gguf")).toBe(false);
    expect(await wroteByApreqel(file("r.txt", "^blk\\.0\\.attn_q\\.weight$=q4_K\n^output\\.weight$=q6_K\n"), "recipe")).toBe(true);
    expect(await wroteByApreqel(file("r2.txt", "my shopping list\n"), "recipe")).toBe(false);
    expect(await wroteByApreqel(file("fx.gguf", Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(20), Buffer.from("apreqel random llama fixture")])), "gguf")).toBe(true);
  });
});
