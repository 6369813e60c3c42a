/**
 * A file's identity for "verified once" marks: device, inode, size, mtime and ctime (ns). A
 * rewrite in place changes the ctime, which no user can set back (touch -r and cp -p restore only
 * the mtime), so a file whose identity is unchanged since it last hashed right still holds the
 * same bytes, and hashing a multi-GB file again can be skipped. Copying or moving a file to
 * another folder or machine changes the inode or device: the mark no longer applies.
 */
import { promises as fs } from "node:fs";

export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

/** The identity of `file` itself (lstat: a link is not followed). */
export async function fileIdentity(file: string): Promise<FileIdentity> {
  const st = await fs.lstat(file, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

/**
 * Whether a recorded mark (read from disk: anything) has exactly this identity.
 *
 * @example
 * sameFileIdentity({ dev: "1", ino: "2", size: 3, mtimeNs: "4", ctimeNs: "5", sha256: "…" }, await fileIdentity(f))
 */
export function sameFileIdentity(mark: unknown, identity: FileIdentity): boolean {
  if (typeof mark !== "object" || mark === null) return false;
  const m = mark as Record<string, unknown>;
  return m["dev"] === identity.dev && m["ino"] === identity.ino && m["size"] === identity.size && m["mtimeNs"] === identity.mtimeNs && m["ctimeNs"] === identity.ctimeNs;
}
