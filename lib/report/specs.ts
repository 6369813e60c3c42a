/**
 * The report's charts as Vega-Lite specs: three 2-D Pareto views and the per-layer type map.
 * Specs are plain data (no rendering here), so they can be tested and reused in a notebook.
 */
import type { TopLevelSpec } from "vega-lite";
import { nonDominated } from "../method/hypervolume.js";
import { blockOf } from "../gguf/layers.js";
import { GGML_TYPE_TABLE } from "../method/types.js";
import type { Estimate } from "../method/estimators.js";
import type { LabelledAllocation, ReportInput, Spread } from "./types.js";

/** The three objectives, with how an axis shows them. */
export type Objective = "memory" | "latency" | "perplexity";

/** The views the paper plots, in its order. */
export const PARETO_VIEWS: readonly (readonly [Objective, Objective])[] = [
  ["memory", "latency"],
  ["memory", "perplexity"],
  ["latency", "perplexity"],
];

/** Series names as the legend shows them, in legend order. */
export const SERIES = { uniform: "uniform", mixed: "mixed (apreqel)", preset: "llama.cpp preset", reference: "reference" } as const;
export type SeriesName = (typeof SERIES)[keyof typeof SERIES];

const SERIES_COLORS: Readonly<Record<SeriesName, string>> = {
  uniform: "#4c78a8",
  "mixed (apreqel)": "#e45756",
  "llama.cpp preset": "#54a24b",
  reference: "#888888",
};
const SERIES_SHAPES: Readonly<Record<SeriesName, string>> = { uniform: "square", "mixed (apreqel)": "circle", "llama.cpp preset": "triangle-up", reference: "diamond" };

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
  /** Error bar ends (value ± spread) where a spread was measured; equal to x / y otherwise. */
  readonly xLo: number;
  readonly xHi: number;
  readonly yLo: number;
  readonly yHi: number;
}

/** Memory in GB for models of a GB or more, MB below, so axes read naturally. */
function memoryUnit(input: ReportInput): { readonly name: "GB" | "MB"; readonly bytes: number } {
  const max = Math.max(...[...input.uniform, ...input.mixed, ...(input.presets ?? [])].map((p) => p.memoryBytes));
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
    o === "memory" ? p.memoryBytes / unit.bytes : o === "latency" ? p.latencyMsPerToken : p.perplexity;
  const spread = (p: Point, o: Objective): number => {
    const s = o === "latency" ? p.latencyMsPerTokenSd : o === "perplexity" ? p.perplexityStderr : undefined;
    return s !== undefined && Number.isFinite(s) ? s : 0;
  };
  const row = (series: SeriesName, label: string, p: Point, labelled: boolean) => {
    const [vx, vy, sx, sy] = [value(p, x), value(p, y), spread(p, x), spread(p, y)];
    return { series, label, x: vx, y: vy, labelled, xLo: vx - sx, xHi: vx + sx, yLo: vy - sy, yHi: vy + sy };
  };
  const labelMixed = input.mixed.length <= LABEL_MIXED_UP_TO;
  const scored = [
    ...input.uniform.map((p) => row(SERIES.uniform, p.type, p, true)),
    ...input.mixed.map((p) => row(SERIES.mixed, p.id, p, labelMixed)),
    ...(input.presets ?? []).map((p) => row(SERIES.preset, p.preset, p, true)),
  ];
  // references (the plan's estimate, the source model) are drawn but take no part in the front
  const front = new Set(nonDominated(scored.map((r) => [r.x, r.y])));
  return [
    ...scored.map((r, i) => ({ ...r, front: front.has(i), nonDominated: front.has(i) ? ("yes" as const) : ("no" as const) })),
    ...(input.references ?? []).map((p) => ({ ...row(SERIES.reference, p.label, p, true), front: false, nonDominated: "no" as const })),
  ];
}

/**
 * A Pareto view: every point by series, the view's non-dominated points opaque and joined by
 * a step line (lower-left is better on both axes), uniform types and presets labelled.
 *
 * @example
 * await renderSvg(paretoSpec(input, "memory", "perplexity"))
 */
export function paretoSpec(input: ReportInput, x: Objective, y: Objective): TopLevelSpec {
  const rows = viewRows(input, x, y);
  const present = (Object.values(SERIES) as SeriesName[]).filter((s) => rows.some((r) => r.series === s));
  const axisTitle = (o: Objective): string =>
    o === "memory" ? `memory (${memoryUnit(input).name})` : o === "latency" ? "latency (ms/token)" : "perplexity";
  const kind = input.measured ? "measured" : "estimated";
  const xEnc = { field: "x", type: "quantitative", title: axisTitle(x), scale: { zero: false, nice: true } } as const;
  const yEnc = { field: "y", type: "quantitative", title: axisTitle(y), scale: { zero: false, nice: true } } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${axisTitle(x).split(" (")[0]} vs ${axisTitle(y).split(" (")[0]}`, subtitle: `${kind}; lower-left is better` },
    // wide enough for the labels to part; the page scales each chart to its column (html.ts)
    width: 560,
    height: 380,
    background: "white",
    data: { values: rows as unknown as Record<string, unknown>[] },
    layer: [
      {
        transform: [{ filter: "datum.front" }],
        mark: { type: "line", interpolate: "step-after", color: "#888", strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { x: xEnc, y: yEnc, order: { field: "x", type: "quantitative" } },
      },
      {
        // error bars: ± sd of latency, ± stderr of perplexity, where measured
        transform: [{ filter: "datum.xHi > datum.xLo" }],
        mark: { type: "rule", strokeWidth: 1.2, color: "#777" },
        encoding: { x: { ...xEnc, field: "xLo" }, x2: { field: "xHi" }, y: yEnc },
      },
      {
        transform: [{ filter: "datum.yHi > datum.yLo" }],
        mark: { type: "rule", strokeWidth: 1.2, color: "#777" },
        encoding: { x: xEnc, y: { ...yEnc, field: "yLo" }, y2: { field: "yHi" } },
      },
      {
        mark: { type: "point", filled: true, size: 70, strokeWidth: 1 },
        encoding: {
          x: xEnc,
          y: yEnc,
          color: { field: "series", type: "nominal", title: null, scale: { domain: present, range: present.map((s) => SERIES_COLORS[s]) }, legend: { orient: "top" } },
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
        transform: [{ filter: "datum.labelled" }],
        mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 10, color: "#333" },
        encoding: { x: xEnc, y: yEnc, text: { field: "label" } },
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
