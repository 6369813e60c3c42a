/**
 * The variant about to be loaded is the one the manifest describes (issue 22): a regular file in
 * the portfolio folder (a link is followed only when it stays inside the folder) with the size and
 * SHA-256 the manifest records. Hashing a GB variant on every `pick` would cost a full read, so
 * `.portfolio.verified.json` beside the manifest remembers each file's identity (device, inode,
 * size, mtime, ctime) when it last hashed right; an unchanged identity skips the hash, any change
 * (a rewrite in place moves the ctime; a copy, the inode) hashes it again. The mark is written best
 * effort: on a read-only folder every pick hashes.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { hashFile } from "../cache/cache.js";
import { InputError } from "../core/errors.js";
import { writeAtomically } from "../core/files.js";
import { fileIdentity, sameFileIdentity } from "../core/file-identity.js";
import type { Variant } from "./manifest.js";

const MARKS = ".portfolio.verified.json";

/**
 * The variant's file, resolved and checked: inside `dir`, the manifest's size (always) and
 * SHA-256 (from the mark when the file is unchanged since it last hashed right, else hashed now).
 * `manifestFile` names the manifest in messages.
 *
 * @example
 * const file = await verifiedVariantFile(dir, choice.variant, "out/portfolio.json");
 */
export async function verifiedVariantFile(dir: string, variant: Variant, manifestFile: string): Promise<string> {
  const file = await variantFileInside(dir, variant, manifestFile);
  const st = await fs.stat(file);
  if (st.size !== variant.bytes) {
    throw new InputError(`${manifestFile}: variant ${variant.name}'s file ${variant.file} has ${st.size} bytes, the manifest says ${variant.bytes} (replaced or truncated?)`);
  }
  const marksFile = path.join(dir, MARKS);
  const marks = await readMarks(marksFile);
  const identity = await fileIdentity(await fs.realpath(file));
  const mark = marks[variant.file];
  if (sameFileIdentity(mark, identity) && (mark as { sha256?: unknown }).sha256 === variant.sha256) return file;
  const sha256 = await hashFile(file);
  if (sha256 !== variant.sha256) {
    throw new InputError(`${manifestFile}: variant ${variant.name}'s file ${variant.file} does not have the SHA-256 the manifest records (replaced or damaged?); rebuild the portfolio or restore the file`);
  }
  marks[variant.file] = { ...identity, sha256 };
  await writeAtomically(marksFile, (temp) => fs.writeFile(temp, JSON.stringify(marks))).catch(() => undefined);
  return file;
}

/**
 * The variant's path, which must exist and stay inside `dir`: a link out of the folder (to a file
 * the portfolio does not own) is refused.
 */
export async function variantFileInside(dir: string, variant: Variant, manifestFile: string): Promise<string> {
  const file = path.join(dir, variant.file);
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    throw new InputError(`${manifestFile}: variant ${variant.name}'s file ${file} does not exist`);
  }
  const realDir = await fs.realpath(dir);
  if (path.dirname(real) !== realDir) {
    throw new InputError(`${manifestFile}: variant ${variant.name}'s file ${variant.file} is a link to ${real}, outside the portfolio folder; a portfolio holds its own files`);
  }
  if (!(await fs.stat(real)).isFile()) throw new InputError(`${manifestFile}: variant ${variant.name}'s file ${file} is not a regular file`);
  return file;
}

async function readMarks(file: string): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await fs.readFile(file, "utf8")) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // absent or damaged: every file is hashed again
  }
}
