import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addDeviceLatencies, readPortfolio, writePortfolio, type ChosenMix } from "../../../lib/portfolio/write.js";
import { tempDir } from "../../helpers/tmp.js";
import { ELSEWHERE, FRONT, HERE, latency, variant } from "./helpers.js";

const dir = tempDir("apreqel-portfolio-");
const model = { name: "tiny", sha256: "a".repeat(64) };

function mix(name: string, content: string): ChosenMix {
  writeFileSync(path.join(dir, `${name}.gguf`), content);
  const v = variant(name, 1, 5, 0.1);
  return { name, file: path.join(dir, `${name}.gguf`), weightBytes: v.weightBytes, latency: v.latency, accuracy: v.accuracy, chosenBy: v.chosenBy };
}

describe("writePortfolio", () => {
  it("hashes the files, merges identical mixes and writes a manifest a reader accepts", async () => {
    const mixes = [mix("a", "first"), mix("b", "second"), { ...mix("c", "first"), chosenBy: [{ by: "extreme", criterion: "memory" } as const] }];
    const result = await writePortfolio({ dir, model, mixes, createdAt: "2026-12-01T22:00:00Z" });
    expect(result.merged).toEqual([{ name: "c", into: "a" }]);
    expect(result.manifest.variants.map((v) => [v.name, v.file, v.bytes])).toEqual([["a", "a.gguf", 5], ["b", "b.gguf", 6]]);
    // sha256("first"), computed with `printf first | sha256sum`
    expect(result.manifest.variants[0]!.sha256).toBe("a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e");
    expect(result.manifest.variants[0]!.chosenBy).toEqual([{ by: "extreme", criterion: "accuracy" }, { by: "extreme", criterion: "memory" }]);
    const back = await readPortfolio(dir, { verifyFiles: true });
    expect(back.manifest).toEqual(result.manifest);
    expect(JSON.parse(readFileSync(path.join(dir, "portfolio.json"), "utf8"))).toEqual(result.manifest);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("writes nothing when a mix is invalid or outside the folder", async () => {
    const before = readFileSync(path.join(dir, "portfolio.json"), "utf8");
    await expect(writePortfolio({ dir, model, mixes: [{ ...mix("d", "x"), weightBytes: -1 }] })).rejects.toThrow(
      "portfolio (to be written): variants[0].weightBytes must be a positive integer (got -1)",
    );
    await expect(writePortfolio({ dir, model, mixes: [{ ...mix("e", "y"), file: "/tmp/elsewhere.gguf" }] })).rejects.toThrow(
      `portfolio: e's file /tmp/elsewhere.gguf must lie directly in the portfolio folder ${dir}`,
    );
    expect(readFileSync(path.join(dir, "portfolio.json"), "utf8")).toBe(before);
  });

  it("notices a variant file replaced after the manifest was written", async () => {
    writeFileSync(path.join(dir, "b.gguf"), "longer content");
    await expect(readPortfolio(dir, { verifyFiles: true })).rejects.toThrow("variant b's file b.gguf has 14 bytes, the manifest says 6 (replaced or truncated?)");
  });
});

describe("addDeviceLatencies", () => {
  it("appends a new device and replaces a re-profiled one", () => {
    const jetson = { small: latency(40, ELSEWHERE), medium: latency(60, ELSEWHERE), large: latency(120, ELSEWHERE) };
    const once = addDeviceLatencies(FRONT, jetson);
    expect(once.variants.map((v) => v.latency.map((m) => [m.device.fingerprint, m.decode.mean]))).toEqual([
      [[HERE, 10], [ELSEWHERE, 40]],
      [[HERE, 16], [ELSEWHERE, 60]],
      [[HERE, 30], [ELSEWHERE, 120]],
    ]);
    const again = addDeviceLatencies(once, { ...jetson, small: latency(38, ELSEWHERE) });
    expect(again.variants[0]!.latency.map((m) => m.decode.mean)).toEqual([10, 38]);
  });

  it("refuses a profile that misses a variant or names an unknown one", () => {
    expect(() => addDeviceLatencies(FRONT, { small: latency(1, ELSEWHERE) })).toThrow("no latency given for variant medium; a device profile must measure every variant");
    expect(() => addDeviceLatencies(FRONT, { tiny: latency(1, ELSEWHERE) })).toThrow('no variant named "tiny" to add a latency to');
  });
});
