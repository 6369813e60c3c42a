/**
 * Reading and writing a portfolio folder: `DIR/portfolio.json` beside the variants' GGUF files.
 *
 * {@link writePortfolio} is the seam for `apreqel portfolio MODEL` (built over the front
 * optimizer): it takes the mixes the front chose, already assembled into DIR and measured,
 * hashes them, merges mixes whose files are identical, validates the result with the same
 * parser a reader uses, and writes the manifest atomically. {@link addDeviceLatencies} is the
 * pure half of `apreqel portfolio profile DIR` on a second device.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { hashFile } from "../cache/cache.js";
import { InputError } from "../core/errors.js";
import { readJsonInput, writeAtomically } from "../core/files.js";
import { variantFileInside } from "./verify.js";
import {
  MANIFEST_FILE,
  PORTFOLIO_FORMAT,
  PORTFOLIO_VERSION,
  parseManifest,
  type LatencyMeasurement,
  type PortfolioManifest,
  type Variant,
} from "./manifest.js";

/**
 * One mix the front chose, assembled and measured: a {@link Variant} before its file is hashed
 * and sized; `file` is the GGUF's path, which must lie directly in the portfolio folder.
 */
export type ChosenMix = Omit<Variant, "sha256" | "bytes">;

export interface WritePortfolioOptions {
  readonly dir: string;
  readonly model: { readonly name: string; readonly sha256: string };
  readonly mixes: readonly ChosenMix[];
  /** defaults to now */
  readonly createdAt?: string;
}

export interface WritePortfolioResult {
  readonly manifest: PortfolioManifest;
  readonly path: string;
  /** mixes whose file was identical to an earlier one: their selections were merged into it */
  readonly merged: readonly { readonly name: string; readonly into: string }[];
}

/**
 * Hashes the mixes' files, merges identical ones (the earlier keeps its name and measurements
 * and gains the later's selections; the later file is left on disk, unlisted), validates and
 * writes `dir/portfolio.json` atomically. Nothing is written when any check fails.
 *
 * @example
 * await writePortfolio({ dir: "out", model: { name: "tiny", sha256 }, mixes })
 * // { path: "/abs/out/portfolio.json", manifest: { variants: [...] }, merged: [] }
 */
export async function writePortfolio(o: WritePortfolioOptions): Promise<WritePortfolioResult> {
  const dir = path.resolve(o.dir);
  const variants: Variant[] = [];
  const merged: { name: string; into: string }[] = [];
  const bySha = new Map<string, number>();
  for (const mix of o.mixes) {
    const abs = path.resolve(dir, mix.file);
    if (path.dirname(abs) !== dir) throw new InputError(`portfolio: ${mix.name}'s file ${abs} must lie directly in the portfolio folder ${dir}`);
    const stat = await fs.stat(abs).catch((e: NodeJS.ErrnoException) => {
      throw new InputError(`portfolio: ${mix.name}'s file ${abs} ${e.code === "ENOENT" ? "does not exist" : `cannot be read: ${e.message}`}`);
    });
    const sha256 = await hashFile(abs);
    const seen = bySha.get(sha256);
    if (seen !== undefined) {
      const first = variants[seen]!;
      variants[seen] = { ...first, chosenBy: [...first.chosenBy, ...mix.chosenBy] };
      merged.push({ name: mix.name, into: first.name });
      continue;
    }
    bySha.set(sha256, variants.length);
    variants.push({
      name: mix.name,
      file: path.basename(abs),
      sha256,
      bytes: stat.size,
      weightBytes: mix.weightBytes,
      ...(mix.gpuBytes !== undefined ? { gpuBytes: mix.gpuBytes } : {}),
      ...(mix.distribution !== undefined ? { distribution: mix.distribution } : {}),
      latency: mix.latency,
      accuracy: mix.accuracy,
      chosenBy: mix.chosenBy,
    });
  }
  const candidate = {
    format: PORTFOLIO_FORMAT,
    version: PORTFOLIO_VERSION,
    model: o.model,
    createdAt: o.createdAt ?? new Date().toISOString(),
    variants,
  };
  // what we write is exactly what a reader accepts (round-trip through JSON)
  const manifest = parseManifest(JSON.parse(JSON.stringify(candidate)), "portfolio (to be written)");
  const file = path.join(dir, MANIFEST_FILE);
  await writeAtomically(file, (temp) => fs.writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`));
  return { manifest, path: file, merged };
}

/**
 * Reads and validates `dir/portfolio.json`; with `verifyFiles`, also checks each variant's file
 * exists with the recorded size (hashing is left to callers who need it: it reads every byte).
 *
 * @example
 * const { manifest, dir } = await readPortfolio("out")
 */
export async function readPortfolio(dirOrManifest: string, o: { readonly verifyFiles?: boolean } = {}): Promise<{ manifest: PortfolioManifest; dir: string; path: string }> {
  const given = path.resolve(dirOrManifest);
  const isDir = (await fs.stat(given).catch(() => null))?.isDirectory() ?? false;
  const file = isDir ? path.join(given, MANIFEST_FILE) : given;
  const manifest = parseManifest(await readJsonInput(file, "portfolio"), file);
  const dir = path.dirname(file);
  if (o.verifyFiles) {
    for (const v of manifest.variants) {
      // (exists, and a link only within the folder; the variant about to be loaded is hashed too: verify.ts)
      const st = await fs.stat(await variantFileInside(dir, v, file));
      if (st.size !== v.bytes) throw new InputError(`${file}: variant ${v.name}'s file ${v.file} has ${st.size} bytes, the manifest says ${v.bytes} (replaced or truncated?)`);
    }
  }
  return { manifest, dir, path: file };
}

/**
 * The manifest with one device's latencies added: `byName` gives a measurement per variant name;
 * a variant already measured on that device (same fingerprint) has its entry replaced, others
 * get it appended. Every variant must be measured, so a portfolio never has a device that knows
 * only some of its variants. Pure.
 *
 * @example
 * addDeviceLatencies(manifest, { small: onJetson, large: onJetson2 }).variants[0].latency.length // 2
 */
export function addDeviceLatencies(manifest: PortfolioManifest, byName: Readonly<Record<string, LatencyMeasurement>>): PortfolioManifest {
  const names = new Set(manifest.variants.map((v) => v.name));
  for (const name of Object.keys(byName)) if (!names.has(name)) throw new InputError(`portfolio: no variant named ${JSON.stringify(name)} to add a latency to`);
  const variants = manifest.variants.map((v) => {
    const m = byName[v.name];
    if (m === undefined) throw new InputError(`portfolio: no latency given for variant ${v.name}; a device profile must measure every variant`);
    const others = v.latency.filter((x) => x.device.fingerprint !== m.device.fingerprint);
    return { ...v, latency: [...others, m] };
  });
  return { ...manifest, variants };
}

/**
 * Writes a manifest (e.g. from {@link addDeviceLatencies}) back over `file`, atomically, after
 * validating it; the previous manifest stays intact if anything fails.
 */
export async function saveManifest(file: string, manifest: PortfolioManifest): Promise<void> {
  const checked = parseManifest(JSON.parse(JSON.stringify(manifest)), "portfolio (to be written)");
  await writeAtomically(file, (temp) => fs.writeFile(temp, `${JSON.stringify(checked, null, 2)}\n`));
}
