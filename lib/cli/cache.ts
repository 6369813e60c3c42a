/** `apreqel cache list|clear`: what the cache holds, and removing it. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { Cache } from "../cache/cache.js";
import { defaultCacheDir } from "../cache/location.js";
import { describeValue, InputError, OptionError } from "../core/errors.js";
import { parse } from "./args.js";
import { formatBytes } from "../core/format.js";
import { parseAge } from "../core/units.js";

export const usage = `usage: apreqel cache list [--cache-dir DIR] [--json]
       apreqel cache clear [--older-than AGE] [--cache-dir DIR] [--json]
  The cache keeps uniform quantizations, profiles and scores per model content, settings and
  hardware/build, so later runs with other priorities skip that work.
  --cache-dir DIR     default $APREQEL_CACHE_DIR, else $XDG_CACHE_HOME/apreqel, else ~/.cache/apreqel
  --older-than AGE    clear only entries unused for AGE, e.g. 30m, 12h, 7d`;

/**
 * Opens the cache `--cache-dir` names (or the default); an unusable folder is an InputError.
 *
 * @example
 * const cache = await openCacheOption(values["cache-dir"]);
 */
async function openCacheOption(dir: string | undefined, option = "--cache-dir"): Promise<Cache> {
  const target = path.resolve(dir ?? defaultCacheDir());
  const st = await fs.stat(target).catch(() => undefined);
  if (st !== undefined && !st.isDirectory()) throw new InputError(`${option}: ${target} exists and is not a directory`);
  return Cache.open({ dir: target }); // an unusable folder is an InputError naming it
}

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { "cache-dir": { type: "string" }, "older-than": { type: "string" }, json: { type: "boolean" } });
  const [action, ...extra] = positionals;
  if (action !== "list" && action !== "clear") throw new OptionError("ACTION", `expected "list" or "clear" but received ${describeValue(action)}`);
  if (extra.length > 0) throw new OptionError("ACTION", `unexpected argument ${describeValue(extra[0])}`);
  if (action === "list" && values["older-than"] !== undefined) throw new OptionError("--older-than", "--older-than applies to `cache clear` only");
  const olderThanMs = values["older-than"] === undefined ? undefined : parseAge(values["older-than"], "--older-than");
  const cache = await openCacheOption(values["cache-dir"]);
  if (action === "list") {
    const entries = await cache.list();
    if (values.json) {
      console.log(JSON.stringify({ dir: cache.dir, entries: entries.map((e) => ({ ...e.manifest, dir: e.dir, lastUsedAt: e.lastUsedAt.toISOString() })) }, null, 2));
      return 0;
    }
    console.log(`${cache.dir}: ${entries.length} ${plural(entries.length)}, ${formatBytes(entries.reduce((s, e) => s + e.manifest.totalBytes, 0))}`);
    for (const e of entries) {
      const { kind, type, modelSha256 } = e.manifest.inputs;
      const what = e.manifest.description ?? `${kind}${type === null ? "" : ` ${type}`}`;
      console.log(`  ${e.key.slice(0, 12)}  ${what.padEnd(28)} ${formatBytes(e.manifest.totalBytes).padStart(9)}  model ${modelSha256.slice(0, 12)}  used ${e.lastUsedAt.toISOString()}`);
    }
    return 0;
  }
  const result = await cache.clear(olderThanMs === undefined ? {} : { olderThanMs });
  if (values.json) {
    console.log(JSON.stringify({ dir: cache.dir, removed: result.removed.map((e) => e.key), freedBytes: result.freedBytes, incomplete: result.incomplete }, null, 2));
    return 0;
  }
  console.log(`${cache.dir}: removed ${result.removed.length} ${plural(result.removed.length)} (${formatBytes(result.freedBytes)})${result.incomplete > 0 ? ` and ${result.incomplete} incomplete ones` : ""}`);
  return 0;
}

function plural(n: number): string {
  return n === 1 ? "entry" : "entries";
}
