import { describe, expect, it } from "vitest";
import {
  estimateRemainingMs,
  formatBar,
  formatDuration,
  formatPlainLine,
  formatProgressLine,
  progressMode,
  startProgress,
} from "../../lib/cli/progress.js";
import { probeDetail } from "../../lib/pipeline/scores.js";

describe("progress formatting", () => {
  it("draws bars with rounded, clamped cells", () => {
    expect(formatBar(0, 4)).toBe("░░░░");
    expect(formatBar(0.5, 10)).toBe("█████░░░░░");
    expect(formatBar(0.33, 3)).toBe("█░░");
    expect(formatBar(1.7, 4)).toBe("████");
    expect(formatBar(Number.NaN, 2)).toBe("░░");
  });

  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(42_400)).toBe("42s");
    expect(formatDuration(185_000)).toBe("3m05s");
    expect(formatDuration(3_720_000)).toBe("1h02m");
  });

  it("extrapolates the ETA from the rate so far (25% in 30 s leaves 90 s)", () => {
    expect(estimateRemainingMs(0.25, 30_000)).toBe(90_000);
    expect(estimateRemainingMs(0.005, 30_000)).toBeUndefined();
    expect(estimateRemainingMs(0.5, 500)).toBeUndefined();
    expect(estimateRemainingMs(1, 10_000)).toBe(0);
  });

  it("puts label, bar, percent, elapsed and ETA on one line", () => {
    expect(formatProgressLine({ label: "quantize q4_K", fraction: 0.25, elapsedMs: 30_000, width: 20 })).toBe(
      "quantize q4_K  █████░░░░░░░░░░░░░░░   25%  30s  ETA 1m30s",
    );
    expect(formatProgressLine({ label: "bench", fraction: 0, elapsedMs: 0, width: 4 })).toBe("bench  ░░░░    0%  0s  ETA --");
    expect(formatPlainLine("perplexity q8_0", 0.4, 12_000)).toBe("perplexity q8_0: 40% (12s, ETA 18s)");
    // no step ETA before there is something to extrapolate from
    expect(formatPlainLine("perplexity q8_0", 0.005, 12_000)).toBe("perplexity q8_0: 0% (12s)");
  });

  it("chooses silent for --json, a bar on a TTY, lines otherwise", () => {
    expect(progressMode({ json: true, isTTY: true })).toBe("silent");
    expect(progressMode({ json: false, isTTY: true })).toBe("bar");
    expect(progressMode({ json: false, isTTY: undefined })).toBe("lines");
  });
});

describe("startProgress", () => {
  it("prints start, each 10% once, and done as plain lines", () => {
    let out = "";
    let t = 0;
    const p = startProgress("capture", { mode: "lines", stream: { write: (s: string) => (out += s) }, now: () => t });
    for (const f of [0.05, 0.1, 0.12, 0.35, 0.36, 0.99, 1]) {
      t += 1000;
      p.update(f);
    }
    p.done("64 layers");
    expect(out.split("\n")).toEqual([
      "capture: started",
      "capture: 10% (2s, ETA 18s)",
      "capture: 35% (4s, ETA 7s)",
      "capture: 99% (6s, ETA 0s)",
      "capture: done in 7s, 64 layers",
      "",
    ]);
  });

  it("reads a function label at each line (the run's ETA changes within a step)", () => {
    let out = "";
    let t = 0;
    let eta = 60;
    const p = startProgress(() => `[2/5, ETA ${eta}s] probes`, { mode: "lines", stream: { write: (s: string) => (out += s) }, now: () => t });
    t = 10_000;
    eta = 50;
    p.update(0.5);
    p.done();
    expect(out.split("\n").slice(0, 3)).toEqual(["[2/5, ETA 60s] probes: started", "[2/5, ETA 50s] probes: 50% (10s, ETA 10s)", "[2/5, ETA 50s] probes: done in 10s"]);
  });

  it("adds the step's own count to its lines (probe k of n)", () => {
    let out = "";
    let t = 0;
    const p = startProgress("sensitivity probes", { mode: "lines", stream: { write: (s: string) => (out += s) }, now: () => t });
    t = 20_000;
    p.update(0.5, probeDetail(0.5, { toRun: 200, total: 290 }));
    expect(out.split("\n")[1]).toBe("sensitivity probes: 50% (20s, ETA 20s), probe 100 of 200 (90 cached)");
    expect(probeDetail(1, { toRun: 7, total: 7 })).toBe("probe 7 of 7");
    expect(probeDetail(0.3, undefined)).toBeUndefined();
  });

  it("writes nothing when silent", () => {
    let out = "";
    const p = startProgress("bench", { mode: "silent", stream: { write: (s: string) => (out += s) } });
    p.update(0.5);
    p.done();
    expect(out).toBe("");
  });

  it("redraws one terminal line and ends it with a newline", () => {
    let out = "";
    let t = 0;
    const p = startProgress("quantize", { mode: "bar", stream: { write: (s: string) => (out += s), columns: 80 }, now: () => t });
    t = 2000;
    p.update(0.5);
    p.done();
    expect(out.split("\n")).toHaveLength(2);
    expect(out).toContain("\r\x1b[2Kquantize  ");
    expect(out.endsWith("100%  2s  ETA 0s\n")).toBe(true);
  });
});
