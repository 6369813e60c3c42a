// Step 5: how much of objective space a set of models dominates. All
// objectives are minimised (memory, latency, perplexity). The volume is
// computed exactly by slicing: sort by the last objective, and between two
// consecutive values the dominated region is a prism over the (d−1)-volume of
// the points seen so far (the "HSO" scheme, While et al., 2006); in 2-D the
// slices reduce to a running minimum. Fine for the tens of points a report has.
import { MethodInputError, describeValue } from "./errors.js";
import type { Estimate } from "./estimators.js";

/** A point in objective space (all objectives minimised). */
export type Point = readonly number[];

/**
 * Exact volume dominated by `points` and bounded by `reference`. Points not
 * strictly better than the reference in every objective add nothing and are
 * ignored.
 *
 * @example
 * hypervolume([[0, 0, 0]], [1, 1, 1])              // 1
 * hypervolume([[0, 0.5], [0.5, 0]], [1, 1])        // 0.75
 */
export function hypervolume(points: readonly Point[], reference: Point): number {
  const d = checkPoints(points, reference);
  const inside = points.filter((p) => p.every((x, k) => x < (reference[k] as number)));
  return volume(inside, reference, d);
}

/**
 * Indices of the points no other point dominates (≤ in every objective and <
 * in one), in input order. Equal points do not dominate each other.
 *
 * @example
 * nonDominated([[1, 2], [2, 1], [2, 2]]) // [0, 1]
 */
export function nonDominated(points: readonly Point[]): number[] {
  if (points.length === 0) return [];
  checkPoints(points, points[0] as Point);
  return points.flatMap((p, i) => (points.some((q, j) => j !== i && dominates(q, p)) ? [] : [i]));
}

/** Hypervolume of one set, with its non-dominated members (indices into the set). */
export interface SetVolume {
  readonly hypervolume: number;
  readonly nonDominated: readonly number[];
}

/** Output of {@link hypervolumeReport}. Volumes are in the normalised space (reference 1, 1, 1). */
export interface HypervolumeReport {
  /** Per objective min and max over the uniform set: x' = (x − min) / (max − min). */
  readonly normalisation: { readonly min: Estimate; readonly max: Estimate };
  readonly reference: readonly [1, 1, 1];
  readonly uniform: SetVolume;
  readonly mixed: SetVolume;
  /** uniform ∪ mixed; indices: uniform first, then mixed. */
  readonly union: SetVolume;
  /** (HV_mixed − HV_uniform) / HV_uniform; null when HV_uniform is 0. */
  readonly gain: number | null;
  /** Present when a baseline set (e.g. llama.cpp's presets) was given. */
  readonly baseline?: {
    readonly baseline: SetVolume;
    /** uniform ∪ baseline: the best one can do without the method. */
    readonly withUniform: SetVolume;
    /** uniform ∪ baseline ∪ mixed. */
    readonly all: SetVolume;
    /** HV(all) − HV(uniform ∪ baseline): what the mixed set adds. */
    readonly added: number;
    /** added / HV(uniform ∪ baseline); null when that is 0. */
    readonly addedRelative: number | null;
    /** (HV_mixed − HV(uniform ∪ baseline)) / HV(uniform ∪ baseline), the paper's gain against this stronger set; null when 0. */
    readonly gain: number | null;
  };
}

/**
 * The paper's report: normalise every objective by the uniform set's min and
 * max, take the uniform set's worst value (1, 1, 1) as the reference, and
 * compare the volumes of the uniform, mixed and union sets. Mixed or baseline
 * points worse than the worst uniform value in some objective add nothing.
 *
 * @example
 * const report = hypervolumeReport({ uniform: uniformEstimates, mixed: planEstimates });
 * report.gain // e.g. 0.12 for 12% more dominated volume
 */
export function hypervolumeReport(sets: {
  readonly uniform: readonly Estimate[];
  readonly mixed: readonly Estimate[];
  readonly baseline?: readonly Estimate[];
}): HypervolumeReport {
  const { uniform, mixed, baseline } = sets;
  if (!Array.isArray(uniform) || uniform.length < 2) {
    throw new MethodInputError(`the uniform set must have at least 2 points to normalise by (got ${Array.isArray(uniform) ? uniform.length : describeValue(uniform)})`);
  }
  const keys = ["memoryBytes", "latencyMsPerToken", "perplexity"] as const;
  const toPoints = (set: readonly Estimate[], name: string): number[][] =>
    set.map((e, i) =>
      keys.map((key) => {
        const x = e[key];
        if (typeof x !== "number" || !Number.isFinite(x)) {
          throw new MethodInputError(`${name}[${i}].${key} must be a finite number (got ${describeValue(x)})`);
        }
        return x;
      }),
    );
  const u = toPoints(uniform, "uniform");
  const m = toPoints(mixed, "mixed");
  const b = baseline === undefined ? undefined : toPoints(baseline, "baseline");
  const min = keys.map((_, k) => Math.min(...u.map((p) => p[k] as number)));
  const max = keys.map((_, k) => Math.max(...u.map((p) => p[k] as number)));
  keys.forEach((key, k) => {
    if (min[k] === max[k]) {
      throw new MethodInputError(`the uniform set has the same ${key} (${describeValue(min[k])}) at every point, so it cannot be normalised`);
    }
  });
  const normalise = (set: number[][]): Point[] =>
    set.map((p) => p.map((x, k) => (x - (min[k] as number)) / ((max[k] as number) - (min[k] as number))));
  const reference = [1, 1, 1] as const;
  const measure = (points: readonly Point[]): SetVolume => ({
    hypervolume: hypervolume(points, reference),
    nonDominated: nonDominated(points),
  });
  const nu = normalise(u);
  const nm = normalise(m);
  const uniformVolume = measure(nu);
  const mixedVolume = measure(nm);
  const estimate = (v: readonly number[]): Estimate => ({
    memoryBytes: v[0] as number,
    latencyMsPerToken: v[1] as number,
    perplexity: v[2] as number,
  });
  const report: HypervolumeReport = {
    normalisation: { min: estimate(min), max: estimate(max) },
    reference,
    uniform: uniformVolume,
    mixed: mixedVolume,
    union: measure([...nu, ...nm]),
    gain: relative(mixedVolume.hypervolume - uniformVolume.hypervolume, uniformVolume.hypervolume),
  };
  if (b === undefined) return report;
  const nb = normalise(b);
  const withUniform = measure([...nu, ...nb]);
  const all = measure([...nu, ...nb, ...nm]);
  const added = all.hypervolume - withUniform.hypervolume;
  return {
    ...report,
    baseline: {
      baseline: measure(nb),
      withUniform,
      all,
      added,
      addedRelative: relative(added, withUniform.hypervolume),
      gain: relative(mixedVolume.hypervolume - withUniform.hypervolume, withUniform.hypervolume),
    },
  };
}

function relative(delta: number, base: number): number | null {
  return base === 0 ? null : delta / base;
}

function dominates(a: Point, b: Point): boolean {
  let strictly = false;
  for (let k = 0; k < a.length; k++) {
    if ((a[k] as number) > (b[k] as number)) return false;
    if ((a[k] as number) < (b[k] as number)) strictly = true;
  }
  return strictly;
}

function checkPoints(points: readonly Point[], reference: Point): number {
  if (!Array.isArray(reference) || reference.length === 0) {
    throw new MethodInputError(`reference must be a non-empty array of numbers (got ${describeValue(reference)})`);
  }
  reference.forEach((x, k) => {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new MethodInputError(`reference[${k}] must be a finite number (got ${describeValue(x)})`);
  });
  if (!Array.isArray(points)) throw new MethodInputError(`points must be an array (got ${describeValue(points)})`);
  points.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== reference.length) {
      throw new MethodInputError(`points[${i}] must have ${reference.length} coordinates like the reference (got ${Array.isArray(p) ? p.length : describeValue(p)})`);
    }
    p.forEach((x, k) => {
      if (typeof x !== "number" || !Number.isFinite(x)) throw new MethodInputError(`points[${i}][${k}] must be a finite number (got ${describeValue(x)})`);
    });
  });
  return reference.length;
}

// Points are strictly inside the reference box here.
function volume(points: readonly Point[], reference: Point, d: number): number {
  if (points.length === 0) return 0;
  if (d === 1) return (reference[0] as number) - Math.min(...points.map((p) => p[0] as number));
  const last = d - 1;
  const sorted = [...points].sort((a, b) => (a[last] as number) - (b[last] as number));
  let total = 0;
  if (d === 2) {
    let minX = Infinity;
    sorted.forEach((p, i) => {
      minX = Math.min(minX, p[0] as number);
      const top = i + 1 < sorted.length ? ((sorted[i + 1] as Point)[1] as number) : (reference[1] as number);
      total += (top - (p[1] as number)) * ((reference[0] as number) - minX);
    });
    return total;
  }
  for (let i = 0; i < sorted.length; i++) {
    const top = i + 1 < sorted.length ? ((sorted[i + 1] as Point)[last] as number) : (reference[last] as number);
    const height = top - ((sorted[i] as Point)[last] as number);
    if (height > 0) total += height * volume(sorted.slice(0, i + 1), reference, last);
  }
  return total;
}
