import { describe, expect, it } from "vitest";
import { intersects, labelSize, placeLabels, type Box, type LabelPoint } from "../../lib/report/labels.js";
import { axisDomain, labelRows, paretoSpec, viewRows, PARETO_SIZE, type ReportInput } from "../../lib/report/index.js";

const layout = { width: 560, height: 380, fontSize: 10, markerRadius: 5 };
const marker = (p: LabelPoint): Box => ({ left: p.x - 5, top: p.y - 5, width: 10, height: 10 });

function expectClear(points: readonly LabelPoint[], placed: ReturnType<typeof placeLabels>) {
  for (const [i, a] of placed.entries()) {
    expect(a.overlaps, `label ${points[a.index]!.label}`).toBe(false);
    expect(a.box.left).toBeGreaterThanOrEqual(0);
    expect(a.box.top).toBeGreaterThanOrEqual(0);
    expect(a.box.left + a.box.width).toBeLessThanOrEqual(layout.width);
    expect(a.box.top + a.box.height).toBeLessThanOrEqual(layout.height);
    for (const b of placed.slice(i + 1)) expect(intersects(a.box, b.box), `${points[a.index]!.label} × ${points[b.index]!.label}`).toBe(false);
    for (const [j, p] of points.entries()) if (j !== a.index) expect(intersects(a.box, marker(p)), `${points[a.index]!.label} over point ${j}`).toBe(false);
  }
}

describe("placeLabels", () => {
  it("boxes: touching edges do not intersect, one pixel in does", () => {
    const a = { left: 0, top: 0, width: 10, height: 10 };
    expect(intersects(a, { left: 10, top: 0, width: 5, height: 5 })).toBe(false);
    expect(intersects(a, { left: 9, top: 9, width: 5, height: 5 })).toBe(true);
    // 4 characters at 0.62 em of 10 px, plus 1 px each side; 1.2 lines high
    expect(labelSize("q4_K", 10)).toEqual({ width: 26.8, height: 12 });
  });

  it("a lone label goes right-above its point, no leader", () => {
    const [p] = placeLabels([{ x: 100, y: 100, label: "q4_K" }], layout);
    // right of the marker (5 px) plus 2 px; its centre 7 px above the point
    expect(p!.box).toEqual({ left: 107, top: 87, width: 26.8, height: 12 });
    expect(p!.leader).toBe(false);
  });

  it("parts a crafted cluster of close points: no two label boxes intersect, none covers a point", () => {
    // the docs' worst case: uniform types and presets a few pixels apart (q4_K, Q4_K_S, Q4_K_M, Q3_K_*, …)
    const points: LabelPoint[] = [
      { x: 200, y: 200, label: "q4_K" },
      { x: 204, y: 198, label: "Q4_K_S" },
      { x: 207, y: 203, label: "Q4_K_M" },
      { x: 196, y: 206, label: "Q3_K_L" },
      { x: 201, y: 194, label: "chosen: balanced" },
      { x: 210, y: 200, label: null }, // a mixed point drawn without a label: still not to be covered
      { x: 199, y: 201, label: "plan estimate" },
      { x: 205, y: 207, label: "source (F16)" },
    ];
    const placed = placeLabels(points, layout);
    expect(placed.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expectClear(points, placed);
    // the first keeps the preferred spot; later ones moved out of the cluster get leader lines
    expect(placed[0]!.leader).toBe(false);
    expect(placed.filter((p) => p.leader).length).toBeGreaterThan(0);
    for (const p of placed.filter((q) => q.leader)) {
      const b = p.box;
      const { x, y } = p.leaderTo;
      expect(x >= b.left && x <= b.left + b.width && y >= b.top && y <= b.top + b.height).toBe(true);
    }
  });

  it("keeps labels inside the plot at its edges and corners", () => {
    const points: LabelPoint[] = [
      { x: 559, y: 1, label: "Q5_K_S" },
      { x: 555, y: 4, label: "q8_0" },
      { x: 0, y: 379, label: "q3_K" },
      { x: 3, y: 376, label: "Q3_K_S" },
      { x: 280, y: 0, label: "Q3_K_M" },
    ];
    expectClear(points, placeLabels(points, layout));
  });

  it("a crowd with no free spot left: the least-overlapping spot, flagged, still inside", () => {
    // 40 labels on one point of a small plot cannot all be free
    const points = Array.from({ length: 40 }, (_, i) => ({ x: 50, y: 30, label: `mixed-${i}` }));
    const placed = placeLabels(points, { ...layout, width: 100, height: 60 });
    expect(placed).toHaveLength(40);
    expect(placed.some((p) => p.overlaps)).toBe(true);
    for (const p of placed) expect(p.box.left >= 0 && p.box.left + p.box.width <= 100).toBe(true);
  });
});

describe("Pareto view labels", () => {
  it("axis domains snap outwards to round ticks (linear) or powers of ten (log)", () => {
    // span 0.9, padded 3% each side: 70.403–71.357; step 0.1
    expect(axisDomain([70.43, 71.33], false)).toEqual([70.4, 71.4]);
    // span 6.96, padded: 5.131–12.509; a tenth of it is 0.76 → step 0.5
    expect(axisDomain([5.34, 12.3], false)).toEqual([5, 13]);
    expect(axisDomain([1.2e-4, 0.016], true)).toEqual([1e-4, 0.1]);
    // one value: ± 5% (2.85–3.15), a tenth of the span 0.03 → step 0.02 → 2.84–3.16
    expect(axisDomain([3, 3], false)).toEqual([2.84, 3.16]);
    expect(axisDomain([Number.NaN], false)).toEqual([0, 1]);
  });

  const input: ReportInput = {
    title: "t",
    measured: true,
    uniform: [
      { type: "q8_0", memoryBytes: 12.3e6, latencyMsPerToken: 1.43, perplexity: 70.7 },
      { type: "q4_K", memoryBytes: 7.55e6, latencyMsPerToken: 0.99, perplexity: 70.69 },
      { type: "q3_K", memoryBytes: 6.3e6, latencyMsPerToken: 1.5, perplexity: 71.26 },
    ],
    mixed: [{ id: "chosen: balanced", category: "custom", memoryBytes: 7.4e6, latencyMsPerToken: 0.96, perplexity: 70.6 }],
    presets: [
      { preset: "Q4_K_S", memoryBytes: 6.8e6, latencyMsPerToken: 0.99, perplexity: 70.68 },
      { preset: "Q4_K_M", memoryBytes: 7.14e6, latencyMsPerToken: 1.02, perplexity: 70.62 },
    ],
    references: [{ label: "plan estimate", memoryBytes: 7.41e6, latencyMsPerToken: 0.97, perplexity: 70.61 }],
  };

  it("label positions map back to pixels that do not overlap, and the spec draws them at fixed domains", () => {
    const rows = viewRows(input, "memory", "latency");
    const xd = axisDomain(rows.map((r) => r.x), false);
    const yd = axisDomain(rows.map((r) => r.y), false);
    const labels = labelRows(rows, xd, yd, { xLog: false, yLog: false });
    expect(labels.map((l) => l.label).sort()).toEqual(["Q4_K_M", "Q4_K_S", "chosen: balanced", "plan estimate", "q3_K", "q4_K", "q8_0"]);
    // back to pixels: every box from its text anchor, none meeting another
    const px = (v: number, [a, b]: readonly [number, number], len: number) => ((v - a) / (b - a)) * len;
    const boxes = labels.map((l) => {
      const size = labelSize(l.label, 10);
      return { left: px(l.labelX, xd, PARETO_SIZE.width) - 1, top: PARETO_SIZE.height - px(l.labelY, yd, PARETO_SIZE.height) - size.height / 2, ...size };
    });
    for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) expect(intersects(a, b)).toBe(false);
    const spec = JSON.stringify(paretoSpec(input, "memory", "latency"));
    expect(spec).toContain(`"domain":[${xd[0]},${xd[1]}],"nice":false`);
    expect(spec).toContain('"field":"labelX"');
  });

  it("a log axis and another title come from options, not from editing the spec", () => {
    const spec = JSON.stringify(paretoSpec(input, "memory", "perplexity", { log: ["perplexity"], titles: { perplexity: "KLD (log)" } }));
    expect(spec).toContain('"title":"KLD (log)","scale":{"type":"log"');
    expect(spec).toContain('"text":"memory vs KLD"');
  });
});
