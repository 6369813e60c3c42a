/**
 * Inputs are only read; outputs are written to a temp file beside the destination and renamed
 * over it once complete, so a destination never holds a partial file and a failed or aborted
 * call leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { InputError, invalidOption } from "./errors.js";

/** Checks `file` is an existing regular file; returns its absolute path. */
export async function requireInputFile(file: unknown, option: string): Promise<string> {
  if (typeof file !== "string" || file.length === 0) {
    throw invalidOption(option, "a file path", file);
  }
  const abs = path.resolve(file);
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
 * Validates an output path: its folder exists and is writable, and it is none of `inputs`
 * (compared by real path and by inode, so links and `./` spellings do not slip through).
 */
export async function requireOutputPath(output: unknown, option: string, inputs: readonly string[]): Promise<string> {
  if (typeof output !== "string" || output.length === 0) {
    throw invalidOption(option, "a file path", output);
  }
  const abs = path.resolve(output);
  const dir = path.dirname(abs);
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new InputError("not a directory");
    await fs.access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not writable" : (e as Error).message;
    throw new InputError(`${option}: the output folder ${dir} ${why}`);
  }
  const out = await fs.stat(abs).catch(() => null);
  if (out?.isDirectory()) throw new InputError(`${option}: ${abs} is a directory, expected a file path`);
  for (const input of inputs) {
    const inp = await fs.stat(input).catch(() => null);
    const sameInode = out !== null && inp !== null && out.dev === inp.dev && out.ino === inp.ino;
    if (sameInode || path.resolve(input) === abs) {
      throw new InputError(`${option}: the output ${abs} is also an input; choose another output path (inputs are never overwritten)`);
    }
  }
  return abs;
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
  const temp = tempPathFor(output);
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
