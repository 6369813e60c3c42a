// Issue 22, item 6: the variant a picker recommends or loads is the manifest's, byte for byte,
// and inside the portfolio folder. Each case writes a portfolio, then damages it.
import { readFileSync, renameSync, symlinkSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../lib/core/errors.js";
import { verifiedVariantFile } from "../../../lib/portfolio/verify.js";
import { AdaptiveModel } from "../../../lib/portfolio/adaptive-model.js";
import { readPortfolio, writePortfolio } from "../../../lib/portfolio/write.js";
import type { Variant } from "../../../lib/portfolio/manifest.js";
import { tempDir } from "../../helpers/tmp.js";
import { FRONT, HERE } from "./helpers.js";

const root = tempDir("apreqel-portfolio-verify-");
let n = 0;

async function portfolio(): Promise<{ dir: string; manifestFile: string; variants: readonly Variant[] }> {
  const dir = path.join(root, `p${n++}`);
  mkdirSync(dir);
  await writePortfolio({
    dir,
    model: FRONT.model,
    mixes: FRONT.variants.map((v) => {
      writeFileSync(path.join(dir, v.file), `weights of ${v.name}`);
      return { name: v.name, file: v.file, weightBytes: v.weightBytes, latency: v.latency, accuracy: v.accuracy, chosenBy: v.chosenBy };
    }),
  });
  const { manifest, path: manifestFile } = await readPortfolio(dir, { verifyFiles: true });
  return { dir, manifestFile, variants: manifest.variants };
}

describe("verifiedVariantFile", () => {
  it("accepts the variant as written, and marks it verified", async () => {
    const { dir, manifestFile, variants } = await portfolio();
    expect(await verifiedVariantFile(dir, variants[0]!, manifestFile)).toBe(path.join(dir, variants[0]!.file));
    const marks = JSON.parse(readFileSync(path.join(dir, ".portfolio.verified.json"), "utf8")) as Record<string, { sha256: string }>;
    expect(marks[variants[0]!.file]!.sha256).toBe(variants[0]!.sha256);
  });

  it("refuses a variant whose bytes changed in place (same size), even after it was verified once", async () => {
    const { dir, manifestFile, variants } = await portfolio();
    const v = variants[1]!;
    await verifiedVariantFile(dir, v, manifestFile);
    const fd = openSync(path.join(dir, v.file), "r+");
    writeSync(fd, Buffer.from("W"), 0, 1, 0); // "weights of …" → "Weights of …": same size, new ctime
    closeSync(fd);
    const e = await verifiedVariantFile(dir, v, manifestFile).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(
      `${manifestFile}: variant ${v.name}'s file ${v.file} does not have the SHA-256 the manifest records (replaced or damaged?); rebuild the portfolio or restore the file`,
    );
  });

  it("refuses a variant that is a link out of the portfolio folder (also when the portfolio is read)", async () => {
    const { dir, manifestFile, variants } = await portfolio();
    const v = variants[2]!;
    const outside = path.join(root, `outside${n++}.gguf`);
    renameSync(path.join(dir, v.file), outside); // the same bytes, hash and size: only the place is wrong
    symlinkSync(outside, path.join(dir, v.file));
    const message = `${manifestFile}: variant ${v.name}'s file ${v.file} is a link to ${outside}, outside the portfolio folder; a portfolio holds its own files`;
    await expect(verifiedVariantFile(dir, v, manifestFile)).rejects.toThrow(message);
    await expect(readPortfolio(dir, { verifyFiles: true })).rejects.toThrow(message);
  });

  it("refuses a replaced file of another size", async () => {
    const { dir, manifestFile, variants } = await portfolio();
    const v = variants[0]!;
    writeFileSync(path.join(dir, v.file), "short");
    await expect(verifiedVariantFile(dir, v, manifestFile)).rejects.toThrow(`has 5 bytes, the manifest says ${v.bytes} (replaced or truncated?)`);
  });
});

describe("AdaptiveModel.open", () => {
  it("loads only a variant whose bytes are the manifest's", async () => {
    const { dir, manifestFile, variants } = await portfolio();
    const loaded: string[] = [];
    const loader = async (file: string) => {
      loaded.push(path.basename(file));
      return { complete: async () => ({ text: "", tokens: 0, decodeMsPerToken: null }), dispose: async () => undefined };
    };
    // plenty of memory: the picker takes the most accurate variant, "large"
    const open = () => AdaptiveModel.open({ portfolio: dir, device: HERE, readState: async () => ({ ramFreeBytes: 64 * 2 ** 30 }), loader });
    await (await open()).dispose();
    expect(loaded).toEqual(["large.gguf"]);
    const large = variants.find((v) => v.name === "large")!;
    const fd = openSync(path.join(dir, large.file), "r+");
    writeSync(fd, Buffer.from("W"), 0, 1, 0);
    closeSync(fd);
    await expect(open()).rejects.toThrow(`${manifestFile}: variant large's file large.gguf does not have the SHA-256 the manifest records`);
    expect(loaded).toEqual(["large.gguf"]);
  });
});
