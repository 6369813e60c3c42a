// The 28 weightings of the paper's experiments (section 4.1.1).
import type { Weights } from "./weights.js";

/** What a weighting favours. */
export type WeightingCategory = "fairness" | "memory" | "latency" | "accuracy";

/** One of the paper's weightings. */
export interface Weighting {
  readonly id: string;
  readonly category: WeightingCategory;
  readonly weights: Weights;
}

type Axis = "memory" | "latency" | "accuracy";
const AXES: readonly Axis[] = ["memory", "latency", "accuracy"];

function weights(values: Partial<Record<Axis, number>>): Weights {
  return { memory: values.memory ?? 0, latency: values.latency ?? 0, accuracy: values.accuracy ?? 0 };
}

// Eight per dominant criterion: 0.7/0.8/0.9 with the rest split equally,
// the dominant alone, and 0.75/0.25 and 0.9/0.1 with each other criterion.
function dominant(axis: Axis): Weighting[] {
  const others = AXES.filter((a) => a !== axis) as [Axis, Axis];
  // Rounded so the JSON reads 0.15, not 0.15000000000000002.
  const rest = (w: number): number => Number(((1 - w) / 2).toFixed(4));
  const split = (w: number): Weights => weights({ [axis]: w, [others[0]]: rest(w), [others[1]]: rest(w) });
  return [
    { id: `${axis}-0.7`, category: axis, weights: split(0.7) },
    { id: `${axis}-0.8`, category: axis, weights: split(0.8) },
    { id: `${axis}-0.9`, category: axis, weights: split(0.9) },
    { id: `${axis}-1`, category: axis, weights: weights({ [axis]: 1 }) },
    ...[0.75, 0.9].flatMap((w) =>
      others.map((other) => ({
        id: `${axis}-${w}-${other}-${Number((1 - w).toFixed(2))}`,
        category: axis,
        weights: weights({ [axis]: w, [other]: Number((1 - w).toFixed(2)) }),
      })),
    ),
  ];
}

/**
 * The paper's 28 weightings: 4 "fairness" ones, then 8 each favouring memory,
 * latency and accuracy. The fairness four are our reading of section 4.1.1:
 * all three equal, and each pair at 0.5/0.5 with the third at 0.
 *
 * @example
 * PAPER_WEIGHTINGS.length // 28
 * PAPER_WEIGHTINGS.find((w) => w.id === "latency-0.8")?.weights // { memory: 0.1, latency: 0.8, accuracy: 0.1 }
 */
export const PAPER_WEIGHTINGS: readonly Weighting[] = [
  { id: "fairness-equal", category: "fairness", weights: weights({ memory: 1 / 3, latency: 1 / 3, accuracy: 1 / 3 }) },
  { id: "fairness-memory-latency", category: "fairness", weights: weights({ memory: 0.5, latency: 0.5 }) },
  { id: "fairness-memory-accuracy", category: "fairness", weights: weights({ memory: 0.5, accuracy: 0.5 }) },
  { id: "fairness-latency-accuracy", category: "fairness", weights: weights({ latency: 0.5, accuracy: 0.5 }) },
  ...dominant("memory"),
  ...dominant("latency"),
  ...dominant("accuracy"),
];

/** The `--priority` presets: a user who names what matters most, rather than giving weights. */
export const PRIORITIES = ["memory", "latency", "accuracy", "balanced"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The default when a user gives neither a priority nor weights. */
export const DEFAULT_PRIORITY: Priority = "balanced";

/**
 * Which of the paper's weightings each preset stands for: the 0.8 dominant one for a single
 * criterion (0.8 on it, 0.1 on each other: clearly favoured, yet the others still break
 * ties), and the equal "fairness" weighting for `balanced`.
 */
export const PRIORITY_WEIGHTINGS: Readonly<Record<Priority, string>> = {
  memory: "memory-0.8",
  latency: "latency-0.8",
  accuracy: "accuracy-0.8",
  balanced: "fairness-equal",
};

/**
 * The paper weighting a priority preset stands for.
 *
 * @example
 * priorityWeighting("latency").weights // { memory: 0.1, latency: 0.8, accuracy: 0.1 }
 */
export function priorityWeighting(priority: Priority): Weighting {
  const weighting = PAPER_WEIGHTINGS.find((w) => w.id === PRIORITY_WEIGHTINGS[priority]);
  if (weighting === undefined) throw new Error(`internal: no paper weighting ${PRIORITY_WEIGHTINGS[priority]}`);
  return weighting;
}

/** Weights and where they came from (recorded in outputs so a run says what it optimised). */
export type WeightChoice =
  | { readonly source: "priority"; readonly priority: Priority; readonly weightingId: string; readonly weights: Weights }
  | { readonly source: "weights"; readonly weights: Weights };
