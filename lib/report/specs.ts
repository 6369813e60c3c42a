/**
 * The report's charts as Vega-Lite specs: three 2-D Pareto views and the per-layer type map.
 * Specs are plain data (no rendering here), so they can be tested and reused in a notebook.
 */
import type { TopLevelSpec } from "vega-lite";
import { nonDominated } from "../method/hypervolume.js";
import { blockOf } from "../gguf/layers.js";
import { GGML_TYPE_TABLE } from "../method/types.js";
import type { Estimate } from "../method/estimators.js";
import { placeLabels, type LabelPoint } from "./labels.js";
import type { LabelledAllocation, ReportInput, Spread } from "./types.js";

/** The objectives, with how an axis shows them (KLD from the source: the default method's accuracy). */
export type Objective = "memory" | "latency" | "perplexity" | "kld";

/** The views the paper plots, in its order. */
export const PARETO_VIEWS: readonly (readonly [Objective, Objective])[] = [
  ["memory", "latency"],
  ["memory", "perplexity"],
  ["latency", "perplexity"],
];

/**
 * The views of a plan that ran on KLD (issue 26: the report drew perplexity while the front planned
 * on KLD, and the chosen mix's estimate was "not drawn"): KLD first, perplexity as a second view.
 */
export const KLD_VIEWS: readonly (readonly [Objective, Objective])[] = [
  ["memory", "latency"],
  ["memory", "kld"],
  ["latency", "kld"],
  ["memory", "perplexity"],
  ["latency", "perplexity"],
];

/** Series names as the legend shows them, in legend order. */
export const SERIES = { source: "source", uniform: "uniform", mixed: "mixed (apreqel)", preset: "llama.cpp preset", reference: "reference" } as const;
export type SeriesName = (typeof SERIES)[keyof typeof SERIES];

const SERIES_COLORS: Readonly<Record<SeriesName, string>> = {
  source: "#222222",
  uniform: "#4c78a8",
  "mixed (apreqel)": "#e45756",
  "llama.cpp preset": "#54a24b",
  reference: "#888888",
};
const SERIES_SHAPES: Readonly<Record<SeriesName, string>> = { source: "cross", uniform: "square", "mixed (apreqel)": "circle", "llama.cpp preset": "triangle-up", reference: "diamond" };

/** Mixed points are labelled when there are this few (a quantize run's one chosen mix; not a sweep's 28). */
export const LABEL_MIXED_UP_TO = 3;

/** One point of a Pareto view, as the spec's data holds it. */
export interface ViewRow {
  readonly series: SeriesName;
  readonly label: string;
  readonly x: number;
  readonly y: number;
  /** Not dominated in this view by any point of any series. */
  readonly front: boolean;
  /** `front` as the legend shows it ("yes"/"no"). */
  readonly nonDominated: "yes" | "no";
  /** Labelled on the chart (uniform types, presets, references, and mixed points when few). */
  readonly labelled: boolean;
  /** Error bar ends where a spread was measured (the latency's interval, or ± sd from older profiles; perplexity ± stderr); equal to x / y otherwise. */
  readonly xLo: number;
  readonly xHi: number;
  readonly yLo: number;
  readonly yHi: number;
}

/** Memory in GB for models of a GB or more, MB below, so axes read naturally. */
function memoryUnit(input: ReportInput): { readonly name: "GB" | "MB"; readonly bytes: number } {
  const max = Math.max(...[...input.uniform, ...input.mixed, ...(input.presets ?? []), ...(input.source ? [input.source] : [])].map((p) => p.memoryBytes));
  return max >= 1e9 ? { name: "GB", bytes: 1e9 } : { name: "MB", bytes: 1e6 };
}

/**
 * The rows of one 2-D view over every series, with the view's non-dominated points marked.
 *
 * @example
 * viewRows(input, "memory", "latency").filter((r) => r.front).map((r) => r.label)
 */
export function viewRows(input: ReportInput, x: Objective, y: Objective): ViewRow[] {
  const unit = memoryUnit(input);
  type Point = Estimate & Spread;
  const value = (p: Point, o: Objective): number =>
    o === "memory" ? p.memoryBytes / unit.bytes : o === "latency" ? p.latencyMsPerToken : o === "kld" ? (p.kld ?? Number.NaN) : p.perplexity;
  // error bar ends: the latency's interval where measured (asymmetric), else ± its sd; perplexity ± stderr
  const bar = (p: Point, o: Objective, v: number): readonly [number, number] => {
    if (o === "latency" && p.latencyInterval !== undefined) return [p.latencyInterval.low, p.latencyInterval.high];
    const s = o === "latency" ? p.latencyMsPerTokenSd : o === "perplexity" ? p.perplexityStderr : o === "kld" ? p.kldStderr : undefined;
    return s !== undefined && Number.isFinite(s) ? [v - s, v + s] : [v, v];
  };
  const row = (series: SeriesName, label: string, p: Point, labelled: boolean) => {
    const [vx, vy] = [value(p, x), value(p, y)];
    const [[xLo, xHi], [yLo, yHi]] = [bar(p, x, vx), bar(p, y, vy)];
    return { series, label, x: vx, y: vy, labelled, xLo, xHi, yLo, yHi };
  };
  const labelMixed = input.mixed.length <= LABEL_MIXED_UP_TO;
  const scored = [
    ...input.uniform.map((p) => row(SERIES.uniform, p.type, p, true)),
    ...input.mixed.map((p) => row(SERIES.mixed, p.id, p, labelMixed)),
    ...(input.presets ?? []).map((p) => row(SERIES.preset, p.preset, p, true)),
  ];
  // the source model and the references (the plan's estimate) are drawn but take no part in the
  // front (the source is what is quantized, not one of the choices); the source is opaque when no
  // quantized point beats it on both axes
  // a point without a value on an axis (not measured: a uniform file without KLD) is drawn as
  // missing and takes no part in the front
  const finite = scored.flatMap((r, i) => (Number.isFinite(r.x) && Number.isFinite(r.y) ? [i] : []));
  const front = new Set(nonDominated(finite.map((i) => [scored[i]!.x, scored[i]!.y])).map((k) => finite[k]!));
  const source = input.source ? row(SERIES.source, input.source.label, input.source, true) : undefined;
  const beaten = source !== undefined && scored.some((r) => r.x <= source.x && r.y <= source.y && (r.x < source.x || r.y < source.y));
  return [
    ...(source ? [{ ...source, front: false, nonDominated: beaten ? ("no" as const) : ("yes" as const) }] : []),
    ...scored.map((r, i) => ({ ...r, front: front.has(i), nonDominated: front.has(i) ? ("yes" as const) : ("no" as const) })),
    ...(input.references ?? []).map((p) => ({ ...row(SERIES.reference, p.label, p, true), front: false, nonDominated: "no" as const })),
  ];
}

/** How a Pareto view draws its axes: a log scale, or another title (the docs plot KLD where the report plots perplexity). */
export interface ParetoOptions {
  readonly log?: readonly Objective[];
  readonly titles?: Partial<Record<Objective, string>>;
}

/** The plot area of a Pareto view, px (the page scales each chart to its column: html.ts). */
export const PARETO_SIZE = { width: 560, height: 380 } as const;
const LABEL_FONT_SIZE = 10;
const MARKER_SIZE = 70; // area, px²
const MARKER_RADIUS = 5; // kept free around each point: half a 70 px² marker's side (4.2) and its stroke

/**
 * The axis domain a view draws: `values` padded by 3% of their span (so no point sits on the
 * frame) and widened to round ticks, as Vega's `nice` would, but fixed here so the labels can be
 * placed in pixels before Vega draws.
 *
 * @example
 * axisDomain([70.43, 71.33], false) // [70.4, 71.4]
 * axisDomain([1.2e-4, 0.016], true) // [0.0001, 0.1]
 */
export function axisDomain(values: readonly number[], log: boolean): readonly [number, number] {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (finite.length === 0) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (log) {
    const a = Math.floor(Math.log10(lo));
    const b = Math.ceil(Math.log10(hi));
    return [Number(`1e${a}`), Number(`1e${b > a ? b : a + 1}`)]; // exact powers of ten (10 ** -4 is not)
  }
  const pad = hi === lo ? (lo === 0 ? 1 : Math.abs(lo) * 0.05) : (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  // d3's tick step for about 10 ticks, then the domain snapped outwards to it
  const raw = (hi - lo) / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  const error = raw / power;
  const step = power * (error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1);
  const snap = (v: number) => Number(v.toPrecision(12)); // 70.39999999 → 70.4
  return [snap(Math.floor(lo / step) * step), snap(Math.ceil(hi / step) * step)];
}

/** Data value ↔ pixel along one axis (pixels grow rightwards and downwards). */
function axisScale(domain: readonly [number, number], length: number, log: boolean, flip: boolean) {
  const t = (v: number) => (log ? Math.log10(v) : v);
  const [a, b] = [t(domain[0]), t(domain[1])];
  return {
    toPixel: (v: number) => {
      const f = (t(v) - a) / (b - a);
      return (flip ? 1 - f : f) * length;
    },
    toValue: (px: number) => {
      const f = flip ? 1 - px / length : px / length;
      const u = a + f * (b - a);
      return log ? 10 ** u : u;
    },
  };
}

/** Label order: the chosen mix, the source and reference points first (they are why the chart is read), then uniform types, then presets. */
const LABEL_PRIORITY: Readonly<Record<SeriesName, number>> = { "mixed (apreqel)": 0, source: 1, reference: 2, uniform: 3, "llama.cpp preset": 4 };

/**
 * Label positions for a view's rows, in data coordinates (text left edge, vertical centre), and
 * the leader line's end for labels set away from their point; placed by {@link placeLabels}.
 */
export function labelRows(rows: readonly ViewRow[], xDomain: readonly [number, number], yDomain: readonly [number, number], o: { readonly xLog: boolean; readonly yLog: boolean }) {
  const sx = axisScale(xDomain, PARETO_SIZE.width, o.xLog, false);
  const sy = axisScale(yDomain, PARETO_SIZE.height, o.yLog, true);
  const order = rows.map((_, i) => i).sort((i, j) => LABEL_PRIORITY[rows[i]!.series] - LABEL_PRIORITY[rows[j]!.series] || i - j);
  const points: LabelPoint[] = order.map((i) => {
    const r = rows[i]!;
    return { x: sx.toPixel(r.x), y: sy.toPixel(r.y), label: r.labelled ? r.label : null };
  });
  const placed = placeLabels(points, { ...PARETO_SIZE, fontSize: LABEL_FONT_SIZE, markerRadius: MARKER_RADIUS });
  return placed.map((p) => {
    const r = rows[order[p.index]!]!;
    return {
      label: r.label,
      labelX: sx.toValue(p.box.left + 1), // the box's 1 px padding (labelSize)
      labelY: sy.toValue(p.box.top + p.box.height / 2),
      leader: p.leader,
      x: r.x,
      y: r.y,
      leaderX: sx.toValue(p.leaderTo.x),
      leaderY: sy.toValue(p.leaderTo.y),
    };
  });
}

/**
 * A Pareto view: every point by series, the view's non-dominated points opaque and joined by
 * a step line (lower-left is better on both axes), uniform types, presets and references
 * labelled where their labels do not cover another label or point (labels.ts).
 *
 * @example
 * await renderSvg(paretoSpec(input, "memory", "perplexity"))
 * await renderSvg(paretoSpec(input, "memory", "perplexity", { log: ["perplexity"], titles: { perplexity: "KLD (log)" } }))
 */
export function paretoSpec(input: ReportInput, x: Objective, y: Objective, options: ParetoOptions = {}): TopLevelSpec {
  const rows = viewRows(input, x, y);
  const present = (Object.values(SERIES) as SeriesName[]).filter((s) => rows.some((r) => r.series === s));
  const axisTitle = (o: Objective): string =>
    options.titles?.[o] ?? (o === "memory" ? `memory (${memoryUnit(input).name})` : o === "latency" ? "latency (ms/token)" : o === "kld" ? "KLD from the source (log)" : "perplexity");
  const kind = input.measured ? "measured" : "estimated";
  // KLD spans orders of magnitude along a front: always a log axis
  const [xLog, yLog] = [options.log?.includes(x) ?? x === "kld", options.log?.includes(y) ?? y === "kld"];
  // the points set the domains, not their error bars: a bar wider than the differences runs off
  // the frame (clipped), which says what it must, and the points keep the room to be told apart
  const xDomain = axisDomain(rows.map((r) => r.x), xLog);
  const yDomain = axisDomain(rows.map((r) => r.y), yLog);
  const labels = labelRows(rows, xDomain, yDomain, { xLog, yLog });
  // domains fixed (not Vega's nice) so the labels placed in pixels land where they were placed
  // Vega-Lite warns on every chart when a log scale carries `zero` at all (even false): only linear ones get it
  const scale = (domain: readonly [number, number], log: boolean) =>
    log ? { type: "log" as const, domain: [...domain], nice: false } : { type: "linear" as const, domain: [...domain], nice: false, zero: false };
  const xEnc = { field: "x", type: "quantitative" as const, title: axisTitle(x), scale: scale(xDomain, xLog) };
  const yEnc = { field: "y", type: "quantitative" as const, title: axisTitle(y), scale: scale(yDomain, yLog) };
  // one colour encoding for points and their bars, so Vega-Lite draws one legend for both
  const seriesColor = { field: "series", type: "nominal" as const, title: null, scale: { domain: present, range: present.map((s) => SERIES_COLORS[s]) }, legend: { orient: "top" as const } };
  const barColor = seriesColor;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${axisTitle(x).split(" (")[0]} vs ${axisTitle(y).split(" (")[0]}`, subtitle: `${kind}; lower-left is better` },
    width: PARETO_SIZE.width,
    height: PARETO_SIZE.height,
    background: "white",
    // solid legend symbols: the merged colour legend would take the bars' and points' translucency
    config: { legend: { symbolOpacity: 1 } },
    data: { values: rows as unknown as Record<string, unknown>[] },
    layer: [
      {
        transform: [{ filter: "datum.front" }],
        mark: { type: "line", interpolate: "step-after", color: "#888", strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { x: xEnc, y: yEnc, order: { field: "x", type: "quantitative" } },
      },
      {
        // error bars in their point's colour (a bar clipped at the frame is still told apart): the
        // latency's interval, ± stderr of perplexity, where measured
        transform: [{ filter: "datum.xHi > datum.xLo" }],
        mark: { type: "rule", strokeWidth: 1.2, opacity: 0.45, clip: true },
        encoding: { x: { ...xEnc, field: "xLo" }, x2: { field: "xHi" }, y: yEnc, color: barColor },
      },
      {
        transform: [{ filter: "datum.yHi > datum.yLo" }],
        mark: { type: "rule", strokeWidth: 1.2, opacity: 0.45, clip: true },
        encoding: { x: xEnc, y: { ...yEnc, field: "yLo" }, y2: { field: "yHi" }, color: barColor },
      },
      {
        mark: { type: "point", filled: true, size: MARKER_SIZE, strokeWidth: 1 },
        encoding: {
          x: xEnc,
          y: yEnc,
          color: seriesColor,
          shape: { field: "series", type: "nominal", title: null, scale: { domain: present, range: present.map((s) => SERIES_SHAPES[s]) } },
          opacity: {
            field: "nonDominated",
            type: "ordinal",
            title: "non-dominated",
            sort: ["yes", "no"],
            scale: { domain: ["yes", "no"], range: [0.95, 0.3] },
            legend: { orient: "top" },
          },
        },
      },
      {
        // leader lines from a point to its label where the label had to move away
        data: { values: labels.filter((l) => l.leader) },
        mark: { type: "rule", strokeWidth: 0.7, color: "#999" },
        encoding: { x: xEnc, y: yEnc, x2: { field: "leaderX" }, y2: { field: "leaderY" } },
      },
      {
        data: { values: labels },
        mark: { type: "text", align: "left", baseline: "middle", fontSize: LABEL_FONT_SIZE, color: "#333" },
        encoding: { x: { ...xEnc, field: "labelX" }, y: { ...yEnc, field: "labelY" }, text: { field: "label" } },
      },
    ],
  } as TopLevelSpec;
}

// Viridis at nine stops; a map picks evenly spaced ones so neighbouring types stay distinct
// (vega's ordinal scheme bunches a few types into the greens).
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];

function spreadColors(n: number): string[] {
  if (n <= 1) return [VIRIDIS[0] as string];
  return Array.from({ length: n }, (_, i) => VIRIDIS[Math.round((i * (VIRIDIS.length - 1)) / (n - 1))] as string);
}

/** One cell of the type map. */
export interface TypeMapCell {
  readonly allocation: string;
  /** the block's index as text, or "–" for a unit outside the blocks (token embeddings, output head) */
  readonly block: string;
  /** the unit within its block ("attn", "ffn", or a tensor such as "attn_q"), or the unit's name outside the blocks */
  readonly kind: string;
  readonly type: string;
}

/** The type map's column of units outside the blocks. */
export const OUTSIDE_BLOCKS = "–";

/**
 * The cells of the type map: one per (allocation, unit). Units are the paper's sub-layers
 * (`blk.N.attn`) or tensors (`blk.N.attn_q`, `token_embd`), as lib/gguf/units.ts names them.
 *
 * @example
 * typeMapCells([{ label: "latency-0.8", allocation }]).length // 2 × blocks for sub-layers
 * typeMapCells([{ label: "x", allocation: { "blk.3.attn_q": "q4_K", output: "q6_K" } }])
 * // [{ allocation: "x", block: "3", kind: "attn_q", type: "q4_K" }, { allocation: "x", block: "–", kind: "output", type: "q6_K" }]
 */
export function typeMapCells(allocations: readonly LabelledAllocation[]): TypeMapCell[] {
  return allocations.flatMap(({ label, allocation }) =>
    Object.entries(allocation).map(([unit, type]) => {
      const block = blockOf(unit);
      return block === null
        ? { allocation: label, block: OUTSIDE_BLOCKS, kind: unit, type }
        : { allocation: label, block: String(block), kind: unit.slice(`blk.${block}.`.length), type };
    }),
  );
}

/**
 * The per-unit type map: a block × unit strip per allocation (attn/ffn for sub-layers, one row
 * per tensor for tensor units, the units outside the blocks in a last column), coloured by type
 * from least (dark) to most aggressive (light).
 *
 * @example
 * await renderSvg(typeMapSpec([{ label: "latency-0.8", allocation }], ["q8_0", "q6_K", "q5_K", "q4_K", "q3_K"]))
 */
export function typeMapSpec(allocations: readonly LabelledAllocation[], candidateTypes: readonly string[] = []): TopLevelSpec {
  const cells = typeMapCells(allocations);
  // blocks in order, then the units outside them; kinds in the order the allocations name them
  const blocks = [...new Set(cells.map((c) => c.block))].sort((a, b) => (a === OUTSIDE_BLOCKS ? 1 : b === OUTSIDE_BLOCKS ? -1 : Number(a) - Number(b)));
  const kinds = [...new Set(cells.map((c) => c.kind))];
  // every candidate type in the legend, so colours mean the same in every report of a run
  const used = new Set([...candidateTypes, ...cells.map((c) => c.type)]);
  const domain = GGML_TYPE_TABLE.map((t) => t.name as string).filter((t) => used.has(t));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "per-layer types", subtitle: "least aggressive type darkest" },
    background: "white",
    data: { values: cells as unknown as Record<string, unknown>[] },
    facet: {
      row: {
        field: "allocation",
        type: "nominal",
        title: null,
        sort: allocations.map((a) => a.label),
        header: { labelAngle: 0, labelOrient: "top", labelAnchor: "start", labelAlign: "left", labelFontSize: 11, labelPadding: 2 },
      },
    },
    spacing: 4,
    spec: {
      width: { step: 14 },
      height: { step: 14 },
      mark: { type: "rect", stroke: "white", strokeWidth: 1 },
      encoding: {
        x: { field: "block", type: "ordinal", title: "block", sort: blocks, axis: { labelAngle: 0, labelFontSize: 9, labelExpr: `datum.value === '${OUTSIDE_BLOCKS}' || datum.value % 4 === 0 ? datum.value : ''` } },
        y: { field: "kind", type: "nominal", title: null, sort: kinds, axis: { labelFontSize: 10 } },
        color: { field: "type", type: "ordinal", title: "type", scale: { domain, range: spreadColors(domain.length) }, legend: { orient: "right" } },
      },
    },
    resolve: { scale: { x: "shared" } },
  } as TopLevelSpec;
}
