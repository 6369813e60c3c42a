import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCalibration, readCalibration, readEvalText } from "../../lib/pipeline/texts.js";
import { tempDir } from "../helpers/tmp.js";

const dir = tempDir("apreqel-texts-");

describe("built-in texts", () => {
  it("ship dozens of distinct calibration prompts and a few KB of evaluation text", async () => {
    const calibration = await readCalibration();
    expect(calibration.source.kind).toBe("builtin");
    expect(calibration.prompts.length).toBeGreaterThanOrEqual(60);
    expect(calibration.prompts.length).toBeLessThanOrEqual(80);
    expect(new Set(calibration.prompts).size).toBe(calibration.prompts.length);
    expect(calibration.sha256).toMatch(/^[0-9a-f]{64}$/);
    const evalText = await readEvalText();
    expect(evalText.source.kind).toBe("builtin");
    expect(evalText.text.length).toBeGreaterThan(4000);
  });
});

describe("user texts", () => {
  it("reads blank-line-separated paragraphs as prompts", async () => {
    const file = path.join(dir, "prompts.txt");
    writeFileSync(file, "Explain tides.\r\n\r\nWrite a haiku\nabout snow.\n   \n\n\nList three primes.\n");
    const set = await readCalibration(file);
    expect(set.prompts).toEqual(["Explain tides.", "Write a haiku\nabout snow.", "List three primes."]);
    expect(set.source).toEqual({ kind: "file", path: file });
  });

  it("reads a JSON array of strings", () => {
    expect(parseCalibration('["a", "b"]', "p.txt", false)).toEqual(["a", "b"]);
  });

  it("rejects empty, malformed and binary inputs with the option and file named", async () => {
    expect(() => parseCalibration("[1, 2]", "--calibration p.json", true)).toThrow("--calibration p.json: prompt 1 must be a non-empty string");
    expect(() => parseCalibration("\n\n  \n", "--calibration p.txt", false)).toThrow("--calibration p.txt has no prompts");
    expect(() => parseCalibration("[oops", "--calibration p.json", true)).toThrow(/^--calibration p\.json is not valid JSON/);
    const empty = path.join(dir, "empty.txt");
    writeFileSync(empty, " \n");
    await expect(readEvalText(empty)).rejects.toThrow(`--eval-text ${empty} is empty; it needs enough text for at least two context windows`);
    const binary = path.join(dir, "model.gguf");
    writeFileSync(binary, Buffer.from([0x47, 0x47, 0x55, 0x46, 0xff, 0xfe, 0x00]));
    await expect(readEvalText(binary)).rejects.toThrow(`--eval-text ${binary} is not UTF-8 text`);
    await expect(readCalibration(path.join(dir, "nope.txt"))).rejects.toThrow(`--calibration: file not found: ${path.join(dir, "nope.txt")}`);
  });
});
