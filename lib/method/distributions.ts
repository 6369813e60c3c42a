// The search space: every way to split L layers among M types, i.e. the weak
// compositions of L into M parts, C(L+M−1, M−1) of them. Candidates are never
// materialised: the enumerator rewrites one Int32Array in place.
import { MethodInputError, describeValue } from "./errors.js";

/**
 * Number of splits of `layers` layers among `types` types: C(L+M−1, M−1).
 *
 * @example
 * countDistributions(64, 5) // 814385
 * countDistributions(72, 5) // 1282975
 */
export function countDistributions(layers: number, types: number): number {
  checkPositive(layers, "L");
  checkPositive(types, "M");
  // C(n, k) built as a product of exact binomials: each step's result is an
  // integer, so the division is exact while it stays below 2^53.
  const k = types - 1;
  let result = 1;
  for (let i = 1; i <= k; i++) {
    result = (result * (layers + i)) / i;
    if (!Number.isSafeInteger(result)) {
      throw new MethodInputError(`too many distributions to enumerate for L = ${layers}, M = ${types}`);
    }
  }
  return result;
}

/**
 * Calls `visit` once per split of `layers` layers among `types` types, with
 * `counts[j]` the number of layers of type j. The same array is reused and
 * rewritten between calls: copy it to keep it. Order: lexicographically
 * decreasing counts, from [L, 0, …, 0] to [0, …, 0, L], i.e. from the least
 * to the most aggressive split. Returns the number of splits visited.
 *
 * @example
 * forEachDistribution(2, 2, (c) => console.log([...c])) // [2,0] [1,1] [0,2]; returns 3
 */
export function forEachDistribution(layers: number, types: number, visit: (counts: Int32Array) => void): number {
  countDistributions(layers, types);
  const counts = new Int32Array(types);
  counts[0] = layers;
  const last = types - 1;
  let visited = 0;
  for (;;) {
    visit(counts);
    visited++;
    // Next in decreasing lexicographic order: take one layer from the last
    // non-empty part before the tail, and move it together with the tail to
    // the part right after it.
    let j = last - 1;
    while (j >= 0 && counts[j] === 0) j--;
    if (j < 0) return visited;
    const tail = counts[last] as number;
    counts[last] = 0;
    counts[j] = (counts[j] as number) - 1;
    counts[j + 1] = tail + 1;
  }
}

function checkPositive(n: number, what: string): void {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new MethodInputError(`${what} must be a positive integer (got ${describeValue(n)})`);
  }
}
