/**
 * Label placement for the charts' point labels: greedy, in pixels. Vega-Lite draws a text mark
 * at a fixed offset from its point, so close points (q4_K beside Q4_K_M, a sweep's mixes along a
 * front) print their names over each other. Here each label tries positions around its point,
 * nearest first, and takes the first whose box stays inside the plot and meets no point marker
 * and no label already placed; a label moved past the first ring gets a leader line to its point.
 * Pure arithmetic: the spec (specs.ts) turns the boxes back into data coordinates.
 */

/** An axis-aligned box in pixels, origin top-left (SVG's). */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** A point to label, in pixels; `label` null for a point drawn without a label (an obstacle only). */
export interface LabelPoint {
  readonly x: number;
  readonly y: number;
  readonly label: string | null;
}

/** Where a label went: its box (text drawn left-aligned, vertically centred in it), and whether it needs a leader line. */
export interface PlacedLabel {
  /** Index of the point in the input. */
  readonly index: number;
  readonly box: Box;
  /** The label is away from its point (second ring or farther): draw a line from the point to `leaderTo`. */
  readonly leader: boolean;
  /** The box's point nearest the labelled point (the leader's end). */
  readonly leaderTo: { readonly x: number; readonly y: number };
  /** No free position was found: the box is the least-overlapping candidate. */
  readonly overlaps: boolean;
}

export interface LabelLayout {
  /** Plot area in pixels: boxes stay inside [0, width] × [0, height]. */
  readonly width: number;
  readonly height: number;
  /** Font size of the labels, px. */
  readonly fontSize: number;
  /** Half the side of the box kept free around every point (the marker), px. */
  readonly markerRadius: number;
  /** Rings of candidate positions tried around each point (default 6). */
  readonly rings?: number;
}

// Average advance of a character as a share of the font size: 0.62 fits DejaVu Sans (the widest of
// the common sans faces a browser or rsvg picks for "sans-serif") on names like "q4_K", "Q5_K_M",
// so an estimate never comes out narrower than the drawn text.
const CHAR_WIDTH = 0.62;
const PAD = 1;

/**
 * The box a label's text needs, estimated from its length (no font metrics here).
 *
 * @example
 * labelSize("q4_K", 10) // { width: 26.8, height: 12 }
 */
export function labelSize(label: string, fontSize: number): { readonly width: number; readonly height: number } {
  return { width: label.length * CHAR_WIDTH * fontSize + 2 * PAD, height: fontSize * 1.2 };
}

/**
 * Whether two boxes overlap (touching edges do not).
 *
 * @example
 * intersects({ left: 0, top: 0, width: 10, height: 10 }, { left: 10, top: 0, width: 5, height: 5 }) // false
 */
export function intersects(a: Box, b: Box): boolean {
  return a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
}

function overlapArea(a: Box, b: Box): number {
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

// Directions in order of preference: right-above (where readers look first, and what the charts
// did before), right, right-below, left-above, left, left-below, above, below.
const DIRECTIONS: readonly (readonly [number, number])[] = [
  [1, -1],
  [1, 0],
  [1, 1],
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, -1],
  [0, 1],
];

function candidate(p: LabelPoint, size: { width: number; height: number }, [ux, uy]: readonly [number, number], r: number): Box {
  // diagonal positions sit at r along each axis from the point, so the text's corner clears the marker
  const left = ux > 0 ? p.x + r : ux < 0 ? p.x - r - size.width : p.x - size.width / 2;
  const top = uy < 0 ? p.y - r - size.height + (ux === 0 ? 0 : size.height / 2) : uy > 0 ? p.y + r - (ux === 0 ? 0 : size.height / 2) : p.y - size.height / 2;
  return { left, top, width: size.width, height: size.height };
}

function nearestOnBox(b: Box, x: number, y: number): { x: number; y: number } {
  return { x: Math.min(Math.max(x, b.left), b.left + b.width), y: Math.min(Math.max(y, b.top), b.top + b.height) };
}

/**
 * Places the labels of `points` in input order (earlier points get the better spots). Every point,
 * labelled or not, keeps a marker-sized box free. A label that finds no free spot takes the
 * candidate inside the plot with the least overlap, flagged `overlaps`.
 *
 * @example
 * placeLabels([{ x: 100, y: 100, label: "q4_K" }, { x: 104, y: 100, label: "Q4_K_M" }], { width: 560, height: 380, fontSize: 10, markerRadius: 5 })
 * // q4_K right-above its point; Q4_K_M moved to a free spot, with a leader line when it is farther than the first ring
 */
export function placeLabels(points: readonly LabelPoint[], layout: LabelLayout): PlacedLabel[] {
  const { width, height, fontSize, markerRadius } = layout;
  const rings = layout.rings ?? 6;
  const obstacles: Box[] = points.map((p) => ({ left: p.x - markerRadius, top: p.y - markerRadius, width: 2 * markerRadius, height: 2 * markerRadius }));
  const placed: PlacedLabel[] = [];
  const inside = (b: Box) => b.left >= 0 && b.top >= 0 && b.left + b.width <= width && b.top + b.height <= height;
  for (const [index, p] of points.entries()) {
    if (p.label === null || p.label === "" || !Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const size = labelSize(p.label, fontSize);
    const r0 = markerRadius + 2;
    let best: { box: Box; ring: number; cost: number } | undefined;
    search: for (let ring = 0; ring < rings; ring++) {
      const r = r0 + ring * size.height;
      for (const d of DIRECTIONS) {
        const box = candidate(p, size, d, r);
        if (!inside(box)) continue;
        // a label's own marker is an obstacle for the others, not for itself
        let cost = 0;
        for (const [j, o] of obstacles.entries()) if (j !== index) cost += overlapArea(box, o);
        for (const l of placed) cost += overlapArea(box, l.box);
        if (best === undefined || cost < best.cost) best = { box, ring, cost };
        if (cost === 0) break search;
      }
    }
    // no candidate inside the plot at all (a label wider than the plot): right of the point, clipped
    const chosen = best ?? { box: candidate(p, size, [1, 0], r0), ring: 0, cost: 1 };
    placed.push({ index, box: chosen.box, leader: chosen.ring > 0, leaderTo: nearestOnBox(chosen.box, p.x, p.y), overlaps: chosen.cost > 0 });
  }
  return placed;
}
