// K mixes spread along a front, for a portfolio (issue 17): the front's
// extremes first (least memory, most accurate, fastest: each the choice of
// chooseOnFront under all weight on one criterion), then the most accurate mix
// within evenly spaced memory limits between the two ends of the size axis, so
// every mix is a choice a user could make with weights and a limit. Where
// accuracy does not fall with size along the front (latency keeps the other
// points on it), those limits give few distinct mixes: the choices under the
// paper's 28 weightings fill the rest. Identical
// mixes are merged (one entry, every selection that chose it), so fewer than K
// come back when the front has fewer distinct choices.
import { MethodInputError, describeValue } from "./errors.js";
import { chooseOnFront, type FrontChoice } from "./choose.js";
import type { Front } from "./front.js";
import type { Criterion, Weights } from "./weights.js";
import { PAPER_WEIGHTINGS } from "./weightings.js";

/** Why a mix was selected. */
export type SpreadSelection =
  | { readonly by: "extreme"; readonly criterion: Criterion }
  | { readonly by: "weights"; readonly weights: Weights; readonly limits: { readonly maxMemoryBytes: number } }
  | { readonly by: "weights"; readonly weights: Weights; readonly weighting: string };

/** One selected mix. */
export interface SpreadMix {
  /** "memory", "accuracy", "latency" for the extremes; "front-1"… by size for the others */
  readonly name: string;
  readonly choice: FrontChoice;
  readonly selections: readonly SpreadSelection[];
}

const ALL_ON: Readonly<Record<Criterion, Weights>> = {
  memory: { memory: 1, latency: 0, accuracy: 0 },
  accuracy: { memory: 0, latency: 0, accuracy: 1 },
  latency: { memory: 0, latency: 1, accuracy: 0 },
};

/**
 * Every name {@link spreadOnFront} can give a mix for `count` (a superset: the extremes it may
 * pick and front-1 … front-count), so the files of a portfolio can be claimed before the front
 * is known.
 *
 * @example
 * spreadNames(2) // ["memory", "latency", "accuracy", "front-1", "front-2"]
 */
export function spreadNames(count: number): string[] {
  return ["memory", "latency", "accuracy", ...Array.from({ length: count }, (_, i) => `front-${i + 1}`)];
}

/**
 * Up to `count` distinct mixes along the front, extremes included, smallest first.
 *
 * @example
 * spreadOnFront(front, 3).map((m) => m.name) // ["memory", "latency", "accuracy"] (by size; K = 3 gives the three extremes)
 * spreadOnFront(front, 5).length              // 5, or fewer when the front has fewer distinct choices
 */
export function spreadOnFront(front: Front, count: number): SpreadMix[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new MethodInputError(`count must be a whole number ≥ 1 (got ${describeValue(count)})`);
  const picked: { name: string; choice: FrontChoice; selections: SpreadSelection[] }[] = [];
  const key = (c: FrontChoice): string => Buffer.from(c.point.mix).toString("hex");
  // merge: record the selection on an identical mix already picked (the weightings' fill-in does not, to keep the list short)
  const add = (name: string, choice: FrontChoice, selection: SpreadSelection, room: boolean, merge = true): boolean => {
    const same = picked.find((p) => key(p.choice) === key(choice));
    if (same) {
      if (merge) same.selections.push(selection);
      return false;
    }
    if (!room) return false;
    picked.push({ name, choice, selections: [selection] });
    return true;
  };
  // K = 1: the most accurate end; K = 2: both ends of the size axis; K ≥ 3: the fastest too
  const extremes: readonly Criterion[] = count === 1 ? ["accuracy"] : ["memory", "accuracy", "latency"];
  for (const criterion of extremes) add(criterion, chooseOnFront(front, { weights: ALL_ON[criterion] }), { by: "extreme", criterion }, picked.length < count);
  const remaining = count - picked.length;
  if (remaining > 0) {
    const sizes = front.points.map((p) => p.estimate.memoryBytes);
    const lo = Math.min(...sizes);
    const hi = Math.max(...sizes);
    // many evenly spaced limits, then `remaining` of the distinct new mixes they give, evenly by index
    const steps = Math.min(front.points.length, 8 * count);
    const found: { choice: FrontChoice; limit: number }[] = [];
    for (let i = 1; i <= steps; i++) {
      const limit = lo + ((hi - lo) * i) / (steps + 1);
      const choice = chooseOnFront(front, { weights: ALL_ON.accuracy, constraints: { maxMemoryBytes: limit } });
      const k = key(choice);
      if (picked.some((p) => key(p.choice) === k) || found.some((f) => key(f.choice) === k)) continue;
      found.push({ choice, limit });
    }
    const take = Math.min(remaining, found.length);
    for (let i = 0; i < take; i++) {
      const f = found[Math.floor(((i + 0.5) * found.length) / take)] as (typeof found)[number];
      add("", f.choice, { by: "weights", weights: ALL_ON.accuracy, limits: { maxMemoryBytes: Math.floor(f.limit) } }, true);
    }
    for (const { id, weights } of PAPER_WEIGHTINGS) {
      add("", chooseOnFront(front, { weights }), { by: "weights", weights, weighting: id }, picked.length < count, false);
    }
  }
  picked.sort((a, b) => a.choice.estimate.memoryBytes - b.choice.estimate.memoryBytes || a.choice.estimate.kld - b.choice.estimate.kld);
  let n = 0;
  return picked.map((p) => ({ ...p, name: p.name === "" ? `front-${++n}` : p.name }));
}
