import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadAddon, prebuildCandidates, staleBy } from "../../lib/native/loader.js";

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

  it("refuses a source build older than its sources, naming the newest, instead of running it", () => {
    const clone = mkdtempSync(path.join(os.tmpdir(), "apreqel-loader-stale-"));
    try {
      mkdirSync(path.join(clone, "build", "Release"), { recursive: true });
      mkdirSync(path.join(clone, "native"));
      const built = path.join(clone, "build", "Release", "apreqel.node");
      writeFileSync(built, "not a binary");
      writeFileSync(path.join(clone, "native", "probe.cpp"), "");
      writeFileSync(path.join(clone, "native", "job.h"), "");
      const t = Date.now() / 1000;
      utimesSync(built, t - 100, t - 100);
      utimesSync(path.join(clone, "native", "job.h"), t - 200, t - 200); // older: fine
      utimesSync(path.join(clone, "native", "probe.cpp"), t - 50, t - 50); // edited after the build
      expect(staleBy(clone, built)).toBe(path.join("native", "probe.cpp"));
      const saved = process.env.APREQEL_ADDON;
      delete process.env.APREQEL_ADDON;
      try {
        expect(() => loadAddon(clone)).toThrow(/build\/Release\/apreqel\.node is older than native\/probe\.cpp: rebuild it \(`npm run build`\)/);
      } finally {
        if (saved !== undefined) process.env.APREQEL_ADDON = saved;
      }
      // rebuilt (newer than every source): loaded as before (here: fails as the garbage it is)
      utimesSync(built, t, t);
      expect(staleBy(clone, built)).toBeUndefined();
      expect(() => loadAddon(clone)).toThrow(/build\/Release\/apreqel\.node: (?!is older)/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
