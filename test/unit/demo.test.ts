// Issue 26: the demo says where its mix and report are, removes the cache it left in a temp folder
// (592 MB there before) and says how to remove the rest; with --dir it keeps the cache for the
// next run. The model generation and the quantize run are faked (no addon, seconds).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../helpers/tmp.js";

const calls: string[][] = [];
vi.mock("../../lib/ops/fixtures.js", () => ({ writeRandomModel: async (o: { output: string }) => writeFileSync(o.output, Buffer.alloc(1000)) }));
vi.mock("../../lib/cli/quantize.js", () => ({
  run: async (argv: string[]) => {
    calls.push(argv);
    const at = (flag: string) => argv[argv.indexOf(flag) + 1]!;
    mkdirSync(path.join(at("--cache-dir"), "uniform"), { recursive: true });
    writeFileSync(path.join(at("--cache-dir"), "uniform", "q4_K.gguf"), Buffer.alloc(5 * 2 ** 20));
    writeFileSync(at("--report"), "<html></html>");
    writeFileSync(at("-o"), Buffer.alloc(2000));
    return 0;
  },
}));

const { run } = await import("../../lib/cli/demo.js");
const dir = tempDir("apreqel-demo-test-");

let stderr = "";
afterEach(() => {
  vi.restoreAllMocks();
  stderr = "";
  calls.length = 0;
});
const capture = () => vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void (stderr += `${a.join(" ")}\n`));

describe("apreqel demo", () => {
  it("with --dir: prints the mix, the report and the folder's size, keeps the cache", async () => {
    capture();
    const d = path.join(dir, "kept");
    expect(await run(["--dir", d])).toBe(0);
    expect(calls[0]).toEqual(expect.arrayContaining(["-o", path.join(d, "demo-llama-apreqel.gguf"), "--report", path.join(d, "report.html")]));
    expect(stderr).toContain(`apreqel demo: the mix: ${path.join(d, "demo-llama-apreqel.gguf")}`);
    expect(stderr).toContain(`apreqel demo: the report: ${path.join(d, "report.html")}`);
    expect(stderr).toMatch(new RegExp(`${d.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} holds it all \\(5\\.2\\d MB, the cache 5\\.24 MB, kept for the next run\\): rm -r `));
    expect(existsSync(path.join(d, "cache", "uniform", "q4_K.gguf"))).toBe(true);
  });

  it("in a temp folder: removes the cache, says how much and how to remove the rest", async () => {
    capture();
    expect(await run([])).toBe(0);
    const out = calls[0]![calls[0]!.indexOf("-o") + 1]!;
    const folder = path.dirname(out);
    expect(stderr).toContain(`apreqel demo: removed the demo's cache (5.24 MB); ${folder} holds the rest`);
    expect(existsSync(path.join(folder, "cache"))).toBe(false);
    expect(existsSync(path.join(folder, "report.html"))).toBe(true);
    await import("node:fs").then((fs) => fs.rmSync(folder, { recursive: true, force: true }));
  });

  it("--json: stderr stays quiet", async () => {
    capture();
    expect(await run(["--dir", path.join(dir, "json"), "--json"])).toBe(0);
    expect(stderr).toBe("");
  });
});
