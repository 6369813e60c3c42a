/**
 * Inputs are only read; outputs are written to a temp file beside the destination and renamed
 * over it once complete, so a destination never holds a partial file and a failed or aborted
 * call leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fs, rmSync } from "node:fs";
import path from "node:path";
import { InputError, invalidOption } from "./errors.js";
import { requirePath } from "./validate.js";

// O_NOFOLLOW where the platform has it (Windows has no such flag; its symlinks need privileges)
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Checks `file` is an existing regular file; returns its absolute path. */
export async function requireInputFile(file: unknown, option: string): Promise<string> {
  const abs = path.resolve(requirePath(file, option));
  let st;
  try {
    st = await fs.stat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `${option}: file not found: ${abs}` : `${option}: cannot read ${abs}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new InputError(`${option}: not a regular file: ${abs}`);
  return abs;
}

/** Temp files are named `.<output>.tmp-<pid>-<random>` so a later run can recognise strays. */
function tempPathFor(output: string): string {
  return path.join(path.dirname(output), `.${path.basename(output)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * A new, empty temp file beside `output`, created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW):
 * the name is unique and no file, link or another run's temp can already be there, so whatever
 * writes it (fs, or a native writer handed the path) writes a file this process just made, never
 * through a planted symlink. The one way apreqel makes a temp file (issue 22).
 *
 * @example
 * const temp = await createTempBeside("out.gguf") // "/abs/.out.gguf.tmp-4242-9f3a0c1d", empty
 */
export async function createTempBeside(output: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const temp = tempPathFor(output);
    try {
      const fh = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o644);
      await fh.close();
      return temp;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 4) throw e;
    }
  }
}

/**
 * Validates an output path of a library call exactly as the command line claims its outputs
 * ({@link claimOutputs}, without the lock): a path without NUL bytes, its folder exists and is
 * writable, it is none of `inputs` (compared by path and by device + inode, so links and `./`
 * spellings do not slip through), and an existing non-empty file there is one apreqel wrote
 * (`kind`) unless `force`, or unless this process has already claimed it (the CLI, after its
 * own --force).
 */
export async function requireOutputPath(
  output: unknown,
  option: string,
  inputs: readonly (string | InputRef)[],
  options: { readonly kind?: Exclude<OutputKind, "dir">; readonly force?: boolean } = {},
): Promise<string> {
  const abs = path.resolve(requirePath(output, option));
  const refs = inputs.map((i) => (typeof i === "string" ? { path: i, option: "input" } : i));
  const resolved = await resolveClaims([{ path: abs, option, kind: options.kind ?? "gguf" }]);
  await checkClaims(resolved, refs, { force: options.force === true || claimedHere.has(abs), wording: "library" });
  return abs;
}

/** Checks `dir` is an existing folder this process may create files in. */
async function requireWritableFolder(dir: string, option: string): Promise<void> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new InputError("not a directory");
    await fs.access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not writable" : (e as Error).message;
    throw new InputError(`${option}: the output folder ${dir} ${why}`);
  }
}

/**
 * Removes temp files of `output` left by processes that no longer exist (a SIGKILL leaves one
 * behind: nothing in a killed process can clean up). Returns how many were removed.
 */
async function sweepStaleTemps(output: string): Promise<number> {
  const dir = path.dirname(output);
  const prefix = `.${path.basename(output)}.tmp-`;
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/** Whether a process with this pid exists (a temp file's or a lock's owner may still be working). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/** Runs `write(temp)` and renames temp → output on success; removes temp on any failure. */
export async function writeAtomically<T>(output: string, write: (temp: string) => Promise<T>): Promise<T> {
  await sweepStaleTemps(output);
  const temp = await createTempBeside(output);
  try {
    const result = await write(temp);
    await fs.rename(temp, output);
    return result;
  } catch (e) {
    await fs.rm(temp, { force: true });
    // errors from the native writer name the temp file; the user knows the output path
    if (e instanceof Error) e.message = e.message.replaceAll(temp, output);
    throw e;
  }
}

/** Reads and parses a JSON input file; a missing file or bad JSON is an InputError naming `option`. */
export async function readJsonInput(file: unknown, option: string): Promise<unknown> {
  const abs = await requireInputFile(file, option);
  const text = await fs.readFile(abs, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`${option}: ${abs} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * What an output will hold: how a file apreqel wrote there earlier is recognised. `dir` is a
 * folder a run writes into (a portfolio, a sweep): it may exist; the files written inside it are
 * claimed as outputs of their own, next to it.
 */
export type OutputKind = "gguf" | "profile" | "scores" | "html" | "json" | "recipe" | "dir";

export interface OutputClaim {
  readonly path: string;
  /** the option that named it, for messages ("--report") */
  readonly option: string;
  readonly kind: OutputKind;
}

export interface InputRef {
  readonly path: string;
  readonly option: string;
}

export interface ClaimedOutputs {
  /** the outputs' absolute paths, in the order given */
  readonly paths: readonly string[];
  /** Releases the locks (also done at process exit). */
  release(): Promise<void>;
}

type Resolved = OutputClaim & { readonly abs: string; readonly st: import("node:fs").Stats | null };

/**
 * Checks every output of a run against every input and every other output before any work, and
 * locks them: an output may not be an input or another output (compared by path and by device +
 * inode, so links and other spellings do not slip through); an existing file there must be one
 * apreqel wrote (a GGUF with apreqel.* metadata, our JSON or report) unless `force`; and no other
 * live run may be writing it (`.<name>.lock` beside it, holding the owner's pid). A `dir` output
 * is created once every check has passed; files claimed inside it may then name a folder that
 * does not exist yet. Every refusal is an InputError (exit 2) and leaves every file as it was.
 *
 * @example
 * const out = await claimOutputs([{ path: "mix.gguf", option: "--output", kind: "gguf" }], [{ path: "m.gguf", option: "MODEL" }]);
 * try { ... } finally { await out.release(); }
 */
export async function claimOutputs(
  outputs: readonly OutputClaim[],
  inputs: readonly InputRef[],
  options: { readonly force?: boolean } = {},
): Promise<ClaimedOutputs> {
  const resolved = await resolveClaims(outputs);
  await checkClaims(resolved, inputs, { force: options.force === true, wording: "cli" });
  const created: string[] = [];
  const locks: string[] = [];
  try {
    for (const o of resolved) {
      if (o.kind === "dir" && o.st === null) {
        try {
          await fs.mkdir(o.abs);
          created.push(o.abs);
        } catch (e) {
          // another run made it meanwhile: its lock, taken next, decides
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new InputError(`${o.option}: cannot create the folder ${o.abs}: ${(e as Error).message}`);
        }
      }
    }
    for (const o of resolved) locks.push(await lockOutput(o.abs, o.option));
  } catch (e) {
    await Promise.all(locks.map((l) => fs.rm(l, { force: true })));
    for (const d of created.reverse()) await fs.rmdir(d).catch(() => undefined);
    throw e;
  }
  const onExit = () => {
    for (const l of locks) rmSync(l, { force: true });
  };
  process.once("exit", onExit);
  // the library calls that write these paths next (requireOutputPath) accept them: checked here
  for (const o of resolved) claimedHere.set(o.abs, (claimedHere.get(o.abs) ?? 0) + 1);
  return {
    paths: resolved.map((o) => o.abs),
    async release() {
      process.removeListener("exit", onExit);
      for (const o of resolved) {
        const left = (claimedHere.get(o.abs) ?? 1) - 1;
        if (left > 0) claimedHere.set(o.abs, left);
        else claimedHere.delete(o.abs);
      }
      await Promise.all(locks.map((l) => fs.rm(l, { force: true })));
    },
  };
}

/**
 * The ceremony every run that writes files shares, written once: claim the outputs
 * ({@link claimOutputs}: checked against every input and each other, and locked), run `work` with
 * their absolute paths (in the order given), and release the claims however it ends.
 *
 * @example
 * await withClaimedOutputs([{ path: "im.gguf", option: "--output", kind: "gguf" }], [{ path: "m.gguf", option: "MODEL" }], {}, ([out]) => capture(out!));
 */
export async function withClaimedOutputs<T>(
  outputs: readonly OutputClaim[],
  inputs: readonly InputRef[],
  options: { readonly force?: boolean },
  work: (paths: readonly string[]) => Promise<T>,
): Promise<T> {
  const claimed = await claimOutputs(outputs, inputs, options);
  try {
    return await work(claimed.paths);
  } finally {
    await claimed.release();
  }
}

// Paths this process has claimed (claimOutputs) and not released, with how many claims hold each.
const claimedHere = new Map<string, number>();

async function resolveClaims(outputs: readonly OutputClaim[]): Promise<Resolved[]> {
  const dirs = outputs.filter((o) => o.kind === "dir").map((o) => path.resolve(o.path));
  const resolved: Resolved[] = [];
  for (const o of outputs) {
    const abs = path.resolve(requirePath(o.path, o.option));
    const st = await fs.stat(abs).catch(() => null);
    if (o.kind === "dir") {
      if (st !== null && !st.isDirectory()) throw new InputError(`${o.option}: ${abs} exists and is not a folder; choose a folder path`);
      await requireWritableFolder(st === null ? path.dirname(abs) : abs, o.option);
    } else if (st?.isDirectory()) {
      throw new InputError(`${o.option}: ${abs} is a directory, expected a file path`);
    } else if (!dirs.includes(path.dirname(abs))) {
      // (a file inside a folder this claim creates: the folder's own check covers it)
      await requireWritableFolder(path.dirname(abs), o.option);
    }
    resolved.push({ ...o, abs, st });
  }
  return resolved;
}

// The checks of claimOutputs and requireOutputPath, one code for the CLI and the library: no output
// is an input or another output; an existing file there is apreqel's unless forced.
async function checkClaims(resolved: readonly Resolved[], inputs: readonly InputRef[], o: { readonly force: boolean; readonly wording: "cli" | "library" }): Promise<void> {
  const same = (a: { abs: string; st: import("node:fs").Stats | null }, b: { abs: string; st: import("node:fs").Stats | null }) =>
    a.abs === b.abs || (a.st !== null && b.st !== null && a.st.dev === b.st.dev && a.st.ino === b.st.ino);
  const ins = await Promise.all(
    inputs.map(async (i) => {
      const abs = path.resolve(requirePath(i.path, i.option));
      return { ...i, abs, st: await fs.stat(abs).catch(() => null) };
    }),
  );
  for (const [k, out] of resolved.entries()) {
    for (const i of ins) {
      if (same(out, i)) {
        throw new InputError(`${out.option}: the output ${out.abs} is also an input (${i.option}); choose another output path (inputs are never overwritten)`);
      }
    }
    for (const other of resolved.slice(0, k)) {
      if (same(out, other)) throw new InputError(`${other.option} and ${out.option} name the same file ${out.abs}; give each output its own path`);
    }
    if (out.kind !== "dir" && out.st !== null && out.st.size > 0 && !o.force && !(await wroteByApreqel(out.abs, out.kind))) {
      const how = o.wording === "cli" ? "pass --force to replace it" : "pass force: true to replace it";
      throw new InputError(`${out.option}: ${out.abs} exists and is not a file apreqel wrote; ${how}, or choose another path`);
    }
  }
}

/** `.<name>.lock` beside `output`, created exclusively; a lock whose owner is gone is taken over. */
async function lockOutput(output: string, option: string): Promise<string> {
  const lock = path.join(path.dirname(output), `.${path.basename(output)}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: "wx" });
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new InputError(`${option}: cannot lock ${output}: ${(e as Error).message}`);
    }
    const pid = Number((await fs.readFile(lock, "utf8").catch(() => "")).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new InputError(`${option}: another apreqel run (pid ${pid}) is writing ${output}; wait for it to finish or choose another output path`);
    }
    // the owner is gone (killed) or it is us from an earlier claim: take it over
    await fs.rm(lock, { force: true });
  }
  throw new InputError(`${option}: cannot lock ${output}: another run keeps taking the lock`);
}

/** Whether the file at `file` is one apreqel writes for `kind` (read from its first 1 MiB). */
export async function wroteByApreqel(file: string, kind: OutputKind): Promise<boolean> {
  let head: Buffer;
  try {
    const fh = await fs.open(file, "r");
    try {
      const buf = Buffer.alloc(1 << 20);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  // mixes and imatrix files carry apreqel.* keys; `apreqel fixture` models are named "apreqel random <arch> fixture"
  if (kind === "gguf") return head.toString("latin1", 0, 4) === "GGUF" && (head.includes("apreqel.") || head.includes("apreqel random "));
  if (kind === "html") return head.includes('<meta name="generator" content="apreqel">');
  if (kind === "recipe") return /^(\^[^\n=]+\$=[A-Za-z0-9_]+\n)+$/.test(head.toString("utf8"));
  let value: unknown;
  try {
    value = JSON.parse((await fs.readFile(file, "utf8")).slice(0, 64 << 20));
  } catch {
    return false;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  if (kind === "profile") return typeof o["model"] === "object" && typeof o["types"] === "object";
  if (kind === "scores") return typeof o["gamma"] === "number" && Array.isArray(o["layers"]);
  return true; // "json": any JSON object apreqel's commands write (sweep.json, portfolio.json)
}
