import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadAddon, prebuildCandidates } from "../../lib/native/loader.js";

const root = mkdtempSync(path.join(os.tmpdir(), "apreqel-loader-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("native loader", () => {
  it("looks for prebuilds of this platform first", () => {
    const dir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "apreqel.napi.node"), "not a binary");
    writeFileSync(path.join(dir, "README"), "");
    expect(prebuildCandidates(root)).toEqual([path.join(dir, "apreqel.napi.node")]);
  });

  it("says what to do when neither a prebuild nor a source build loads", () => {
    const saved = process.env.APREQEL_ADDON;
    delete process.env.APREQEL_ADDON;
    try {
      expect(() => loadAddon(root)).toThrow(
        new RegExp(`no native addon for ${process.platform}-${process.arch} could be loaded .*apreqel\\.napi\\.node.*no source build in build/Release.*npx apreqel build`),
      );
    } finally {
      if (saved !== undefined) process.env.APREQEL_ADDON = saved;
    }
  });
});
