/** The report's uncertainty and labels (issue 13): error bars, ± in the table, the chosen mix and the plan's estimate labelled. */
import { describe, expect, it } from "vitest";
import { reportHtml, viewRows, type ReportInput } from "../../lib/report/index.js";

const input: ReportInput = {
  title: "apreqel: tiny.gguf",
  measured: true,
  uniform: [
    { type: "q8_0", memoryBytes: 900e6, latencyMsPerToken: 20, latencyMsPerTokenSd: 1.5, perplexity: 6.0, perplexityStderr: 0.25 },
    { type: "q4_K", memoryBytes: 500e6, latencyMsPerToken: 12, latencyMsPerTokenSd: 0.5, perplexity: 6.5, perplexityStderr: 0.25 },
  ],
  mixed: [{ id: "chosen: balanced", category: "custom", memoryBytes: 600e6, latencyMsPerToken: 14, latencyMsPerTokenSd: 0.5, perplexity: 6.25, perplexityStderr: 0.25 }],
  references: [{ label: "plan estimate", memoryBytes: 600e6, latencyMsPerToken: 10, perplexity: 6.1 }],
};

describe("report uncertainty and labels", () => {
  it("gives each measured point its error bar ends, and none to estimates or memory (exact from the header)", () => {
    const rows = viewRows(input, "latency", "perplexity");
    expect(rows.map((r) => [r.label, r.xLo, r.xHi, r.yLo, r.yHi])).toEqual([
      ["q8_0", 18.5, 21.5, 5.75, 6.25],
      ["q4_K", 11.5, 12.5, 6.25, 6.75],
      ["chosen: balanced", 13.5, 14.5, 6, 6.5],
      ["plan estimate", 10, 10, 6.1, 6.1],
    ]);
    const memory = viewRows(input, "memory", "latency");
    expect(memory.every((r) => r.xLo === r.x && r.xHi === r.x)).toBe(true);
  });

  it("labels a lone chosen mix and the reference, which takes no part in the front", () => {
    const rows = viewRows(input, "latency", "perplexity");
    expect(rows.filter((r) => r.labelled).map((r) => r.label)).toEqual(["q8_0", "q4_K", "chosen: balanced", "plan estimate"]);
    // the estimate (10 ms, 6.1) would dominate the chosen mix (14 ms, 6.25) if it counted
    expect(rows.find((r) => r.label === "plan estimate")).toMatchObject({ series: "reference", front: false });
    expect(rows.find((r) => r.label === "chosen: balanced")!.front).toBe(true);
    // a sweep's many mixes stay unlabelled
    const many = { ...input, mixed: Array.from({ length: 4 }, (_, i) => ({ ...input.mixed[0]!, id: `w${i}` })) };
    expect(viewRows(many, "memory", "latency").filter((r) => r.series === "mixed (apreqel)" && r.labelled)).toEqual([]);
  });

  it("prints ± beside latency and perplexity in the table, and lets the charts take the page width", () => {
    const html = reportHtml(input, []);
    // a profile from before the interleaved protocol has an sd, no interval: said so
    expect(html).toContain("<td>20 ± 1.5 sd</td><td>6 ± 0.25</td>");
    expect(html).toContain('<tr data-series="reference"><td>reference</td><td>plan estimate</td><td>600</td><td>10</td><td>6.1</td></tr>');
    expect(html).toContain("figure.pareto svg { width: 100%; }");
  });
});

describe("report: the source point and the latency interval", () => {
  const measured: ReportInput = {
    ...input,
    uniform: [
      { type: "q8_0", memoryBytes: 900e6, latencyMsPerToken: 20, latencyInterval: { low: 19, high: 23 }, latencyMsPerTokenSd: 1.5, perplexity: 6.0, perplexityStderr: 0.25 },
      { type: "q4_K", memoryBytes: 500e6, latencyMsPerToken: 12, latencyInterval: { low: 11.5, high: 12.25 }, perplexity: 6.5, perplexityStderr: 0.25 },
    ],
    source: { label: "source (F16)", memoryBytes: 1700e6, latencyMsPerToken: 30, latencyInterval: { low: 29, high: 34 }, perplexity: 5.9, perplexityStderr: 0.25 },
  };

  it("draws the median's interval as the latency error bar (asymmetric), not ± sd", () => {
    const rows = viewRows(measured, "latency", "perplexity");
    expect(rows.find((r) => r.label === "q8_0")).toMatchObject({ xLo: 19, xHi: 23 });
    expect(rows.find((r) => r.label === "source (F16)")).toMatchObject({ series: "source", x: 30, xLo: 29, xHi: 34, yLo: 5.65, yHi: 6.15, labelled: true });
  });

  it("draws the source labelled, off the front, opaque only where no quantized point beats it", () => {
    const lp = viewRows(measured, "latency", "perplexity");
    const src = lp.find((r) => r.series === "source")!;
    // best perplexity (5.9 < 6.0): nothing beats it on both axes; q8_0 is still on the front
    expect(src).toMatchObject({ front: false, nonDominated: "yes" });
    expect(lp.find((r) => r.label === "q8_0")!.front).toBe(true);
    // memory × latency: q8_0 is smaller and faster
    expect(viewRows(measured, "memory", "latency").find((r) => r.series === "source")!.nonDominated).toBe("no");
    // memory in GB once the source passes a GB
    expect(viewRows(measured, "memory", "latency").find((r) => r.series === "source")!.x).toBe(1.7);
  });

  it("puts the source first in the table, every latency as median [interval] and perplexity ± stderr", () => {
    const html = reportHtml(measured, []);
    expect(html).toContain('<tr data-series="source"><td>source</td><td>source (F16)</td><td>1700</td><td>30 [29, 34]</td><td>5.9 ± 0.25</td></tr>');
    expect(html).toContain("<td>20 [19, 23]</td>");
    expect(html).toContain("<th>latency (ms/token) [interval]</th><th>perplexity ± se</th>");
    expect(html.indexOf('data-series="source"')).toBeLessThan(html.indexOf('data-series="uniform"'));
  });
});
