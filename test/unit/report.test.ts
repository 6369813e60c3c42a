import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Allocation } from "../../lib/method/index.js";
import { escapeHtml, typeMapCells, viewRows, writeReport, type ReportInput } from "../../lib/report/index.js";
import { tempDir } from "../helpers/tmp.js";

const allocation = (types: string[]): Allocation =>
  Object.fromEntries(types.map((t, i) => [`blk.${i >> 1}.${i & 1 ? "ffn" : "attn"}`, t])) as Allocation;

const input: ReportInput = {
  title: "sweep of <tiny>.gguf",
  notes: ["perplexity on the built-in text: indicative only"],
  measured: true,
  uniform: [
    { type: "q8_0", memoryBytes: 900e6, latencyMsPerToken: 20, perplexity: 6.0 },
    { type: "q4_K", memoryBytes: 500e6, latencyMsPerToken: 12, perplexity: 6.4 },
  ],
  mixed: [
    { id: "memory-0.8", category: "memory", memoryBytes: 520e6, latencyMsPerToken: 11, perplexity: 6.3 }, // a little larger than q4_K, but faster
    { id: "accuracy-0.8", category: "accuracy", memoryBytes: 950e6, latencyMsPerToken: 21, perplexity: 6.1 }, // dominated everywhere by q8_0
  ],
  presets: [{ preset: "Q4_K_M", memoryBytes: 560e6, latencyMsPerToken: 13, perplexity: 6.2 }],
  allocations: [
    { label: "memory-0.8", allocation: allocation(["q8_0", "q4_K", "q4_K", "q4_K"]) },
    { label: "accuracy-0.8", allocation: allocation(["q8_0", "q8_0", "q8_0", "q4_K"]) },
  ],
};

describe("report data", () => {
  it("marks the points no other point dominates in each 2-D view", () => {
    const ml = viewRows(input, "memory", "latency");
    expect(ml.map((r) => [r.label, r.x, r.front])).toEqual([
      ["q8_0", 900, false], // Q4_K_M is smaller and faster
      ["q4_K", 500, true],
      ["memory-0.8", 520, true], // faster than q4_K
      ["accuracy-0.8", 950, false],
      ["Q4_K_M", 560, false], // memory-0.8 is smaller and faster
    ]);
    const lp = viewRows(input, "latency", "perplexity");
    expect(lp.filter((r) => r.front).map((r) => r.label)).toEqual(["q8_0", "memory-0.8", "Q4_K_M"]);
  });

  it("lays out the type map by block and sub-layer", () => {
    expect(typeMapCells(input.allocations!.slice(0, 1))).toEqual([
      { allocation: "memory-0.8", block: "0", kind: "attn", type: "q8_0" },
      { allocation: "memory-0.8", block: "0", kind: "ffn", type: "q4_K" },
      { allocation: "memory-0.8", block: "1", kind: "attn", type: "q4_K" },
      { allocation: "memory-0.8", block: "1", kind: "ffn", type: "q4_K" },
    ]);
  });

  it("lays out tensor units by block and tensor, the units outside the blocks in a column of their own", () => {
    expect(typeMapCells([{ label: "front", allocation: { token_embd: "q4_K", "blk.0.attn_q": "q8_0", "blk.12.ffn_down": "q6_K", output: "q6_K" } }])).toEqual([
      { allocation: "front", block: "–", kind: "token_embd", type: "q4_K" },
      { allocation: "front", block: "0", kind: "attn_q", type: "q8_0" },
      { allocation: "front", block: "12", kind: "ffn_down", type: "q6_K" },
      { allocation: "front", block: "–", kind: "output", type: "q6_K" },
    ]);
  });

  it("escapes HTML", () => {
    expect(escapeHtml(`<q4_K & "x">`)).toBe("&lt;q4_K &amp; &quot;x&quot;&gt;");
  });
});

describe("writeReport", () => {
  const dir = tempDir("apreqel-report-");

  it("writes one self-contained HTML page with the three Pareto views, the type map and every series", async () => {
    const output = path.join(dir, "report.html");
    const result = await writeReport(input, { output, svgDir: dir });
    expect(result.charts.map((c) => c.id)).toEqual(["pareto-memory-latency", "pareto-memory-perplexity", "pareto-latency-perplexity", "type-map"]);
    const html = readFileSync(output, "utf8");
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).not.toMatch(/<script|<link /);
    expect(html).toContain("<title>sweep of &lt;tiny&gt;.gguf</title>");
    expect(html).toContain("perplexity on the built-in text: indicative only");
    for (const c of result.charts) expect(html).toContain(`<figure id="${c.id}"${c.id === "type-map" ? "" : ' class="pareto"'}>`);
    // the legends name the three series; uniform types and presets are labelled on the charts
    const pareto = result.charts[0]!.svg;
    for (const text of ["uniform", "mixed (apreqel)", "llama.cpp preset", "non-dominated", "q8_0", "Q4_K_M", "memory (MB)", "latency (ms/token)"]) {
      expect(pareto).toContain(`>${text}</text>`);
    }
    expect(result.charts[3]!.svg).toContain(">accuracy-0.8</text>");
    // the table has one row per point
    expect(html.match(/<tr data-series="uniform">/g)).toHaveLength(2);
    expect(html.match(/<tr data-series="mixed">/g)).toHaveLength(2);
    expect(html.match(/<tr data-series="llama.cpp preset">/g)).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual([
      "pareto-latency-perplexity.svg",
      "pareto-memory-latency.svg",
      "pareto-memory-perplexity.svg",
      "report.html",
      "type-map.svg",
    ]);
  }, 30_000);

  it("refuses an output folder that does not exist, writing nothing", async () => {
    await expect(writeReport(input, { output: path.join(dir, "missing", "r.html") })).rejects.toThrow(
      `--report: the output folder ${path.join(dir, "missing")} does not exist`,
    );
  });
});
