/** Reading one or more profile.json files into the method's profile (merging partial ones). */
import { InputError } from "../core/errors.js";
import { readJsonInput } from "../core/files.js";
import { MethodInputError } from "../method/errors.js";
import { parseProfile, type Profile } from "../method/profile.js";
import type { GgmlType } from "../method/types.js";
import { isProfileFile, mergeProfiles, parseProfileFile, toMethodProfile, type ProfileFile } from "./profile-file.js";

/** The method's profile and, when the files were apreqel's own, the merged file. */
export interface LoadedProfile {
  readonly profile: Profile;
  readonly file?: ProfileFile;
}

/**
 * Reads `files` (the `--profile` values). One file may be a bare contract profile from another
 * tool; several must be apreqel profiles of one model, merged with {@link mergeProfiles}. The
 * result must have every metric of every type in `types`.
 *
 * @example
 * const { profile } = await readProfiles(["edge-latency.json", "server-accuracy.json"], types);
 */
export async function readProfiles(files: readonly string[], types: readonly GgmlType[], option = "--profile"): Promise<LoadedProfile> {
  if (files.length === 0) throw new InputError(`${option}: give at least one profile.json`);
  const values = await Promise.all(files.map((f) => readJsonInput(f, option)));
  if (files.length === 1 && !isProfileFile(values[0])) {
    try {
      return { profile: parseProfile(values[0]) };
    } catch (e) {
      if (e instanceof MethodInputError) throw new InputError(`${option} ${files[0]}: ${e.message}`);
      throw e;
    }
  }
  let merged = parseProfileFile(values[0], files[0]);
  for (let i = 1; i < files.length; i++) {
    merged = mergeProfiles(merged, parseProfileFile(values[i], files[i]), [files.slice(0, i).join(" + "), files[i] as string]);
  }
  return { profile: toMethodProfile(merged, types), file: merged };
}
