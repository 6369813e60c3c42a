// Priority weights (memory, latency, accuracy). TOPSIS needs them in [0, 1]
// summing to 1; anything else is rejected rather than renormalised, because a
// silently rescaled weight is a different experiment.
import { MethodInputError, describeValue, expectFiniteNumber } from "./errors.js";

/** How much each criterion matters; each in [0, 1], summing to 1. */
export interface Weights {
  readonly memory: number;
  readonly latency: number;
  readonly accuracy: number;
}

/** The three criteria, in the order weights are written (`--weights m,l,a`). */
export const CRITERIA = ["memory", "latency", "accuracy"] as const;
export type Criterion = (typeof CRITERIA)[number];

/** Sums within this distance of 1 are accepted (1/3 + 1/3 + 1/3 and friends). */
export const WEIGHT_SUM_TOLERANCE = 1e-9;

/**
 * Checks a weight vector; `names[i]` labels entry i in messages.
 *
 * @example
 * validateWeightVector([0.5, 0.7], ["weights[0]", "weights[1]"]) // throws: weights must sum to 1 (got 1.2)
 */
export function validateWeightVector(values: readonly unknown[], names: readonly string[]): number[] {
  let sum = 0;
  const out = values.map((value, i) => {
    const what = names[i] ?? `weights[${i}]`;
    const w = expectFiniteNumber(value, what);
    if (w < 0 || w > 1) throw new MethodInputError(`${what} must be between 0 and 1 (got ${describeValue(w)})`);
    sum += w;
    return w;
  });
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) throw new MethodInputError(`weights must sum to 1 (got ${describeValue(sum)})`);
  return out;
}

/**
 * Validates memory/latency/accuracy weights and returns a plain copy.
 *
 * @example
 * validateWeights({ memory: 0.1, latency: 0.8, accuracy: 0.1 }) // ok
 * validateWeights({ memory: -0.1, latency: 1, accuracy: 0.1 })  // throws: weights.memory must be between 0 and 1 (got -0.1)
 */
export function validateWeights(weights: Weights): Weights {
  if (typeof weights !== "object" || weights === null) {
    throw new MethodInputError(`weights must be an object with memory, latency and accuracy (got ${describeValue(weights)})`);
  }
  const [memory, latency, accuracy] = validateWeightVector(
    CRITERIA.map((c) => weights[c]),
    CRITERIA.map((c) => `weights.${c}`),
  ) as [number, number, number];
  return { memory, latency, accuracy };
}

/**
 * Parses the CLI form `memory,latency,accuracy`.
 *
 * @example
 * parseWeights("0.1,0.8,0.1") // { memory: 0.1, latency: 0.8, accuracy: 0.1 }
 */
export function parseWeights(text: string): Weights {
  const parts = text.split(",");
  if (parts.length !== 3) {
    throw new MethodInputError(`weights must be three comma-separated numbers, memory,latency,accuracy (got ${describeValue(text)})`);
  }
  const values = parts.map((part, i) => {
    const trimmed = part.trim();
    const n = trimmed === "" ? Number.NaN : Number(trimmed);
    if (Number.isNaN(n)) throw new MethodInputError(`weights.${CRITERIA[i]} must be a number (got ${describeValue(part)})`);
    return n;
  });
  return validateWeights({ memory: values[0] as number, latency: values[1] as number, accuracy: values[2] as number });
}
