/** Where the cache lives unless `--cache-dir` says otherwise. */
import os from "node:os";
import path from "node:path";

/**
 * `$APREQEL_CACHE_DIR`, else `$XDG_CACHE_HOME/apreqel`, else `~/.cache/apreqel` (absolute).
 *
 * @example
 * defaultCacheDir({ XDG_CACHE_HOME: "/var/cache" }) // "/var/cache/apreqel"
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (env["APREQEL_CACHE_DIR"]) return path.resolve(env["APREQEL_CACHE_DIR"]);
  if (env["XDG_CACHE_HOME"]) return path.resolve(env["XDG_CACHE_HOME"], "apreqel");
  return path.join(home, ".cache", "apreqel");
}
