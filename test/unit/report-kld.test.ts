// Issue 26: the report speaks the method's terms. A front planned on KLD draws KLD axes (log), its
// estimate as the reference point on them, and perplexity as a second view; the source (KLD 0 by
// definition) has no point on a log axis.
import path from "node:path";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { frontReport } from "../../lib/report/from-results.js";
import { viewRows, writeReport } from "../../lib/report/index.js";
import { tempDir } from "../helpers/tmp.js";

const measured = (memoryBytes: number, latency: number, ppl: number, kld: number) => ({
  memoryBytes,
  latencyMsPerToken: latency,
  perplexity: ppl,
  perplexityStderr: 0.5,
  kld: { mean: kld, stderr: kld / 10, sameTopPercent: 90 },
});

/** A FrontResult as frontReport reads it: a KLD table, two uniform files, the measured mix, the source. */
const front = (accuracy: "kld" | "perplexity") =>
  ({
    model: { costs: { accuracy, source: "measured" } },
    choice: { estimate: { memoryBytes: 7e6, latencyMsPerToken: 1.1, kld: 0.004 }, assignment: { "blk.0.attn_q": "q4_K" } },
    uniform: { q8_0: measured(12e6, 1.5, 99.3, 0.0001), q4_K: measured(7.5e6, 1.0, 99.9, 0.01) },
    result: measured(7.2e6, 1.05, 99.6, 0.005),
    source: { label: "source (F16)", measured: measured(23e6, 2.0, 99.0, 0) },
  }) as never;

const o = { title: "apreqel: m.gguf", notes: [], types: ["q8_0", "q4_K"] as const, label: "balanced" };

describe("the report of a front planned on KLD", () => {
  it("uniform files measured without KLD (a given profile) are missing on the KLD views, not an error", () => {
    const r = front("kld") as unknown as { uniform: Record<string, Record<string, unknown>> };
    const withoutKld = { ...r, uniform: Object.fromEntries(Object.entries(r.uniform).map(([t, m]) => [t, { ...m, kld: undefined }])) };
    const rows = viewRows(frontReport(withoutKld as never, { ...o, types: [...o.types] }), "memory", "kld");
    expect(rows.filter((x) => x.series === "uniform").every((x) => Number.isNaN(x.y) && !x.front)).toBe(true);
    expect(rows.find((x) => x.label === "chosen: balanced")?.front).toBe(true);
  });

  it("draws KLD from the measurements and the plan's estimate as the reference point; the source has none", () => {
    const input = frontReport(front("kld"), { ...o, types: [...o.types] });
    expect(input.accuracy).toBe("kld");
    const rows = viewRows(input, "memory", "kld");
    const y = Object.fromEntries(rows.map((r) => [r.label, r.y]));
    expect(y).toMatchObject({ q8_0: 0.0001, q4_K: 0.01, "chosen: balanced": 0.005, "plan estimate": 0.004 });
    expect(Number.isNaN(y["source (F16)"])).toBe(true);
    // error bars: KLD ± its stderr where measured
    const q4 = rows.find((r) => r.label === "q4_K")!;
    expect([q4.yLo, q4.yHi]).toEqual([0.01 - 0.001, 0.01 + 0.001]);
    // a perplexity table keeps the perplexity axis and its estimate there
    const ppl = frontReport(front("perplexity"), { ...o, types: [...o.types] });
    expect(ppl.accuracy).toBeUndefined();
    expect(viewRows(ppl, "memory", "perplexity").find((r) => r.label === "plan estimate")?.y).toBe(0.004);
  });

  it("writes KLD views first (log axes), perplexity as a second view, and a KLD column", async () => {
    const dir = tempDir("apreqel-report-kld-");
    const output = path.join(dir, "report.html");
    const r = await writeReport(frontReport(front("kld"), { ...o, types: [...o.types] }), { output });
    expect(r.charts.map((c) => c.id)).toEqual([
      "pareto-memory-latency",
      "pareto-memory-kld",
      "pareto-latency-kld",
      "pareto-memory-perplexity",
      "pareto-latency-perplexity",
      "type-map",
    ]);
    expect(r.charts[1]!.svg).toContain(">KLD from the source (log)</text>");
    expect(r.charts[1]!.svg).toContain(">plan estimate</text>");
    expect(r.charts[3]!.caption).toMatch(/a second view: the plan ran on KLD/i);
    const html = readFileSync(output, "utf8");
    expect(html).toContain("<th>KLD ± se</th>");
    expect(html).toMatch(/<td>q4_K<\/td>.*<td>0\.01 ± 0\.001<\/td><\/tr>/);
  });
});
