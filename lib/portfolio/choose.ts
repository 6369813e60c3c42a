/**
 * The runtime picker: which variant of a portfolio to run given the device's state now. Pure and
 * O(K) in the number of variants (one pass to measure and filter, one for TOPSIS's column terms,
 * one to score), so it can run before every request.
 *
 * The rules, in order:
 * 1. Memory is a hard limit. A variant fits when what it needs (weights, plus the policy's
 *    `contextBytes` for the KV cache and compute buffers) plus the stated headroom
 *    (`headroom.fraction` × need, rounded to a byte, + `headroom.bytes`) is at most the free memory, and the need
 *    itself is at most `limits.maxMemoryBytes`. With `offload`, the weights on the GPU are
 *    checked against free VRAM the same way and the rest against RAM (on unified memory, all of
 *    it against RAM). When `current` is
 *    `resident`, its own memory counts as free: a switch releases it before loading the next.
 * 2. `limits` (memory, latency, KLD, perplexity) are hard: a variant over one is never chosen,
 *    and if none is left the error says which limit and the closest variant.
 * 3. The state's latency budget is soft: variants over it are dropped, and if none meets it the
 *    fastest that fits is chosen with `budgetMet: false`. Latency is the variant's decode
 *    ms/token on this device (a learned running mean once it has MIN_OBSERVED samples, else the
 *    benchmark mean, scaled by how much slower than their benchmarks the learned variants
 *    serve) times the thermal `throttle` factor (1 = as measured, 1.5 = 50% slower).
 * 4. Weights: the policy's, then adjusted to the state. A criterion only costs while its
 *    resource is scarce: memory's weight is scaled by the memory pressure (0 while even the
 *    largest candidate takes at most `plentiful` of the free memory, rising linearly to 1 when
 *    it takes all of it; with `limits.maxMemoryBytes` the share of that limit counts too, since
 *    the limit is the memory the model may use however much is free), latency's by the budget
 *    pressure the same way (unchanged when there is no budget), and what they give up goes to
 *    accuracy. So with plenty of memory and slack in
 *    the budget the picker moves to the accurate end of the front.
 *    Battery: when the battery is at or below `lowBattery` and not charging, half of the accuracy
 *    weight moves to latency: on one SoC the energy of a token is roughly power × time per token,
 *    and a faster variant is the one reading fewer weight bytes per token, so a cheaper variant
 *    stretches what is left of the charge. Charging, or above the threshold, leaves the weights
 *    as they are.
 * 5. TOPSIS over the remaining variants, every criterion a cost: weight bytes, latency, and KLD
 *    (perplexity when a variant lacks KLD), each on a log scale and scaled to the span the
 *    remaining variants cover, shrunk when that span is inside the measurement noise:
 *    - Log scale: every one of these costs is a ratio quantity (twice the bytes, twice the
 *      time per token, twice the divergence), and KLD spans orders of magnitude along a front
 *      (0.03 to 0.00015 on one 11M model, 200×) while bytes and latency span 2–3×. With the
 *      paper's vector normalisation (x / ‖x‖) the largest KLD sets the column's scale, so every
 *      variant at the accurate end normalises to ≈ 0 and a 2× KLD gain there weighed less than
 *      a 6% latency difference: the picker could not reach the accurate end even with accuracy
 *      at 0.9. On a log scale a 2× gain counts the same at either end. A KLD of 0 (a copy of
 *      the source) counts as the smallest measured one: a log scale has no place for 0.
 *    - Span (min–max) scaling: position = (ln x − ln min) / (ln max − ln min) among the
 *      variants considered. Vector normalisation is not defined for log values (their origin
 *      depends on the unit), and the span gives the weights the meaning they have at provisioning:
 *      "how much of the candidates' range on memory is worth how much of their range on
 *      accuracy", so under memory pressure `--priority memory` reaches the small end and
 *      `--priority accuracy` the accurate end. The throttle scales every latency alike, so it
 *      moves no position; it acts through the budget (rule 3).
 *    - Noise: a column whose spread (largest − smallest value) is less than two standard errors
 *      of that difference counts in proportion (a spread of one standard error counts half), so a latency spread measured on a busy machine cannot outweigh a measured
 *      accuracy gain. Standard errors: latency sd/√reps of the benchmark (a learned mean takes
 *      the benchmark's relative sd over its samples), KLD and perplexity their stderr, bytes 0.
 *      The two errors are treated as independent, which overstates the noise of paired
 *      measurements (the same text, interleaved runs): the rule errs towards "no difference".
 *    When memory and latency weigh 0 after rule 4 the score is monotone in accuracy, so the most
 *    accurate variant is chosen (lexicographic accuracy when resources are plentiful). Ties
 *    (scores within 1e-12) go to the more accurate variant, then the smaller, then the name.
 * 6. Hysteresis: the `current` variant is kept unless it no longer passes 1–3 or the best beats
 *    its score by at least `hysteresis`, so a picker polled as the state drifts does not flap.
 */
import { formatBytes, formatNumber } from "../core/format.js";
import { MethodInputError, describeValue, expectFiniteNumber, expectObject } from "../method/errors.js";
import { closeness } from "../method/topsis.js";
import { validateWeights, type Weights } from "../method/weights.js";
import { latencyOn, type LatencyMeasurement, type PortfolioManifest, type Variant } from "./manifest.js";

/** Learned latency replaces the benchmark once this many requests were observed. */
export const MIN_OBSERVED = 5;

/** What the device looks like now. Absent fields are unknown. */
export interface DeviceState {
  /** RAM this process may still use: free memory, within its cgroup's limit */
  readonly ramFreeBytes: number;
  /** free memory of the GPU(s); needed only with `policy.offload` on a discrete GPU */
  readonly gpuFreeBytes?: number;
  /** the GPU shares the RAM (Jetson): offloaded weights are counted against `ramFreeBytes` */
  readonly unifiedMemory?: boolean;
  /** ms per generated token the next request may take */
  readonly latencyBudgetMs?: number;
  /** how much slower than measured the device runs now (1 = as measured); > 0 */
  readonly throttle?: number;
  /** level in [0, 1] */
  readonly battery?: { readonly level: number; readonly charging: boolean };
  /** fingerprint of this device (hardware + build): which latency measurement applies */
  readonly device?: string;
  /** the variant running now, for hysteresis */
  readonly current?: { readonly name: string; readonly resident: boolean };
}

/** Hard limits: a variant over one is never chosen. */
export interface PickLimits {
  readonly maxMemoryBytes?: number;
  readonly maxLatencyMs?: number;
  readonly maxKld?: number;
  readonly maxPerplexity?: number;
}

export interface PickPolicy {
  /** default: 1/3 each */
  readonly weights?: Weights;
  readonly limits?: PickLimits;
  /** memory kept free beyond a variant's need; default { fraction: 0.1, bytes: 0 } */
  readonly headroom?: { readonly fraction: number; readonly bytes: number };
  /** bytes the runtime adds to any variant (KV cache, compute buffers); default 0 */
  readonly contextBytes?: number;
  /** weights offloaded to the GPU (all layers); default false */
  readonly offload?: boolean;
  /** battery level at or below which, not charging, cheaper variants are preferred; default 0.2 */
  readonly lowBattery?: number;
  /** share of a resource below which it is plentiful (its weight goes to accuracy); default 0.5 */
  readonly plentiful?: number;
  /** TOPSIS score the best must gain over `current` to switch; default 0.05 */
  readonly hysteresis?: number;
}

/** One variant as the picker saw it. */
export interface CandidateReport {
  readonly name: string;
  /** RAM it needs, headroom included */
  readonly ramRequiredBytes: number;
  /** VRAM it needs, headroom included (0 without offload) */
  readonly gpuRequiredBytes: number;
  /** decode ms/token now (throttle applied) */
  readonly latencyMs: number;
  /** KLD or perplexity, see Choice.accuracyMetric */
  readonly accuracy: number;
  /** why it was not considered; undefined when it was */
  readonly excluded?: string;
  /** TOPSIS score among the considered; undefined when excluded or when the budget forced the fastest */
  readonly score?: number;
}

export interface Choice {
  readonly variant: Variant;
  /** one line: what was chosen and why */
  readonly reason: string;
  /** true when hysteresis kept the current variant over a slightly better one */
  readonly kept: boolean;
  /** whether the latency budget is met; null when there is no budget */
  readonly budgetMet: boolean | null;
  /** the weights after the state's adjustments (rule 4) */
  readonly weights: Weights;
  readonly accuracyMetric: "kld" | "perplexity";
  /** "this device", "learned", or the fingerprint of the device the latencies come from */
  readonly latencySource: string;
  readonly candidates: readonly CandidateReport[];
}

/** Nothing fits in memory; names the smallest variant and what it needs. */
export class NoVariantFitsError extends MethodInputError {
  readonly smallest: { readonly name: string; readonly resource: "RAM" | "VRAM"; readonly requiredBytes: number; readonly availableBytes: number };
  constructor(message: string, smallest: NoVariantFitsError["smallest"]) {
    super(message);
    this.name = "NoVariantFitsError";
    this.smallest = smallest;
  }
}

const BALANCED: Weights = { memory: 1 / 3, latency: 1 / 3, accuracy: 1 / 3 };
const TIE = 1e-12;

interface Row {
  readonly v: Variant;
  readonly ramNeed: number;
  readonly gpuNeed: number;
  readonly ramRequired: number;
  readonly gpuRequired: number;
  readonly latencyMs: number;
  /** standard error of latencyMs (rule 5's noise) */
  readonly latencySe: number;
  readonly accuracy: number;
  readonly accuracySe: number;
  excluded?: string;
  score?: number;
}

/**
 * Chooses the variant to run now. Throws {@link NoVariantFitsError} when nothing fits in
 * memory and MethodInputError when the hard limits exclude everything or an input is invalid.
 *
 * @example
 * choose(manifest, { ramFreeBytes: 8e9 }, {}).variant.name                        // the most accurate: memory is plentiful
 * choose(manifest, { ramFreeBytes: 8e9, latencyBudgetMs: 20, throttle: 1.5 }, {}) // the best variant under 20 ms once 50% slower
 * choose(manifest, { ramFreeBytes: 1e6 }, {}) // throws: no variant fits in memory: the smallest, "q3", needs 110 MB of RAM …
 */
export function choose(manifest: PortfolioManifest, state: DeviceState, policy: PickPolicy = {}): Choice {
  const s = checkState(state);
  const p = checkPolicy(policy);
  const variants = manifest.variants;
  if (variants.length === 0) throw new MethodInputError("the portfolio has no variants");
  const current = s.current === undefined ? undefined : variants.find((v) => v.name === s.current!.name);
  if (s.current !== undefined && current === undefined) {
    throw new MethodInputError(`state.current names "${s.current.name}", which is not in the portfolio (${variants.map((v) => v.name).join(", ")})`);
  }
  const { pick: latencyOf, source: latencySource } = latencyReader(variants, s.device);
  const accuracyMetric = variants.every((v) => v.accuracy.kld !== undefined) ? "kld" : "perplexity";
  const throttle = s.throttle ?? 1;

  // Memory a variant needs on each side, and what is free for it.
  const need = (v: Variant): { ram: number; gpu: number } => {
    if (!p.offload || s.unifiedMemory === true) return { ram: v.weightBytes + p.contextBytes, gpu: 0 };
    const onGpu = v.gpuBytes ?? v.weightBytes;
    return { ram: v.weightBytes - onGpu, gpu: onGpu + p.contextBytes };
  };
  const withHeadroom = (bytes: number): number => (bytes === 0 ? 0 : bytes + Math.round(bytes * p.headroom.fraction) + p.headroom.bytes);
  const held = current !== undefined && s.current!.resident ? need(current) : { ram: 0, gpu: 0 };
  const ramFree = s.ramFreeBytes + held.ram;
  if (p.offload && s.unifiedMemory !== true && s.gpuFreeBytes === undefined) {
    throw new MethodInputError("policy.offload needs the GPU's free memory, but state.gpuFreeBytes is unknown (no GPU device reported it)");
  }
  const gpuFree = (s.gpuFreeBytes ?? 0) + held.gpu;
  const limits = p.limits;

  const rows: Row[] = variants.map((v) => {
    const n = need(v);
    const lat = latencyOf(v);
    return {
      v,
      ramNeed: n.ram,
      gpuNeed: n.gpu,
      ramRequired: withHeadroom(n.ram),
      gpuRequired: withHeadroom(n.gpu),
      latencyMs: lat.ms * throttle,
      latencySe: lat.se * throttle,
      accuracy: accuracyMetric === "kld" ? v.accuracy.kld!.mean : v.accuracy.perplexity.value,
      accuracySe: accuracyMetric === "kld" ? v.accuracy.kld!.stderr : v.accuracy.perplexity.stderr,
    };
  });

  // Rule 1: memory.
  for (const r of rows) {
    if (limits.maxMemoryBytes !== undefined && r.ramNeed + r.gpuNeed > limits.maxMemoryBytes) {
      r.excluded = `needs ${formatBytes(r.ramNeed + r.gpuNeed)}, over limits.maxMemoryBytes ${formatBytes(limits.maxMemoryBytes)}`;
    } else if (r.ramRequired > ramFree) {
      r.excluded = `needs ${formatBytes(r.ramRequired)} of RAM with headroom, ${formatBytes(ramFree)} free`;
    } else if (r.gpuRequired > gpuFree) {
      r.excluded = `needs ${formatBytes(r.gpuRequired)} of VRAM with headroom, ${formatBytes(gpuFree)} free`;
    }
  }
  if (rows.every((r) => r.excluded !== undefined)) throw noFit(rows, ramFree, gpuFree, p);

  // Rule 2: the other hard limits.
  const hard: [keyof PickLimits, (r: Row) => number, string][] = [
    ["maxLatencyMs", (r) => r.latencyMs, "ms/token"],
    ["maxKld", (r) => r.v.accuracy.kld?.mean ?? Number.POSITIVE_INFINITY, "KLD"],
    ["maxPerplexity", (r) => r.v.accuracy.perplexity.value, "perplexity"],
  ];
  for (const [limit, value, unit] of hard) {
    const max = limits[limit];
    if (max === undefined) continue;
    const before = rows.filter((r) => r.excluded === undefined);
    for (const r of before) if (!(value(r) <= max)) r.excluded = `${unit} ${formatNumber(value(r))} over limits.${limit} ${formatNumber(max)}`;
    if (before.every((r) => r.excluded !== undefined)) {
      const closest = before.reduce((a, b) => (value(b) < value(a) ? b : a));
      const at = limit === "maxLatencyMs" && throttle !== 1 ? ` at throttle ${formatNumber(throttle)}` : "";
      const shown = Number.isFinite(value(closest)) ? `${unit} ${formatNumber(value(closest))}` : `no ${unit} measurement`;
      throw new MethodInputError(
        `no variant that fits in memory meets limits.${limit} ${formatNumber(max)}${at}: the closest, "${closest.v.name}", has ${shown}`,
      );
    }
  }

  // Rule 3: the soft latency budget.
  let considered = rows.filter((r) => r.excluded === undefined);
  const budget = s.latencyBudgetMs;
  let budgetMet: boolean | null = null;
  if (budget !== undefined) {
    const within = considered.filter((r) => r.latencyMs <= budget);
    budgetMet = within.length > 0;
    if (!budgetMet) {
      const fastest = considered.reduce((a, b) => (better(b.latencyMs, a.latencyMs) ?? tieBreak(b, a) ? b : a));
      const candidates = report(rows);
      const reason =
        `"${fastest.v.name}": no variant that fits meets the ${formatNumber(budget)} ms/token budget${throttleNote(throttle)}; ` +
        `the fastest takes ${formatNumber(fastest.latencyMs)} ms/token (${memoryNote(fastest, ramFree, gpuFree, p)})`;
      return { variant: fastest.v, reason, kept: false, budgetMet, weights: p.weights, accuracyMetric, latencySource, candidates };
    }
    for (const r of considered) if (r.latencyMs > budget) r.excluded = `${formatNumber(r.latencyMs)} ms/token over the ${formatNumber(budget)} ms budget`;
    considered = within;
  }

  // Rule 4: weights for this state.
  const notes: string[] = [];
  const pressure = (share: number): number => clamp01((share - p.plentiful) / (1 - p.plentiful));
  const largest = considered.reduce((a, b) => (b.ramRequired + b.gpuRequired > a.ramRequired + a.gpuRequired ? b : a));
  const share = (required: number, free: number): number => (required === 0 ? 0 : required / free);
  const maxMemory = limits.maxMemoryBytes;
  const limitShare = maxMemory === undefined ? 0 : maxMemory === 0 ? 1 : Math.max(...considered.map((r) => r.ramNeed + r.gpuNeed)) / maxMemory;
  const memoryShare = Math.max(share(largest.ramRequired, ramFree), share(largest.gpuRequired, gpuFree), limitShare);
  const memoryPressure = pressure(memoryShare);
  const latencyPressure = budget === undefined ? 1 : pressure(Math.max(...considered.map((r) => r.latencyMs)) / budget);
  let w = { ...p.weights };
  if (memoryPressure < 1 || latencyPressure < 1) {
    const memory = w.memory * memoryPressure;
    const latency = w.latency * latencyPressure;
    w = { memory, latency, accuracy: 1 - memory - latency };
    if (memoryPressure < 1) notes.push(memoryPressure === 0 ? "memory plentiful" : `memory pressure ${formatNumber(memoryPressure, 2)}`);
    if (latencyPressure < 1) notes.push(latencyPressure === 0 ? "latency budget slack" : `latency pressure ${formatNumber(latencyPressure, 2)}`);
  }
  const battery = s.battery;
  if (battery !== undefined && !battery.charging && battery.level <= p.lowBattery) {
    const moved = w.accuracy / 2;
    w = { memory: w.memory, latency: w.latency + moved, accuracy: w.accuracy - moved };
    notes.push(`battery ${Math.round(battery.level * 100)}% and not charging: cheaper preferred`);
  }

  // Rule 5: TOPSIS over the considered variants, each column on a log scale within its span.
  const columns = [
    logSpan(considered.map((r) => ({ value: r.v.weightBytes, se: 0 }))),
    logSpan(considered.map((r) => ({ value: r.latencyMs, se: r.latencySe }))),
    logSpan(considered.map((r) => ({ value: r.accuracy, se: r.accuracySe }))),
  ];
  const weights = [w.memory, w.latency, w.accuracy];
  // Every column runs from 0 (its best) to its scale, so the ideal is 0 and the anti-ideal the weighted scale.
  const anti = columns.map((c, j) => weights[j]! * c.scale);
  let best = considered[0]!;
  considered.forEach((r, i) => {
    let dIdeal = 0;
    let dAnti = 0;
    for (let j = 0; j < 3; j++) {
      const x = weights[j]! * columns[j]!.positions[i]!;
      dIdeal += x * x;
      dAnti += (x - anti[j]!) ** 2;
    }
    r.score = closeness(Math.sqrt(dIdeal), Math.sqrt(dAnti));
    if (r !== best && (better(-r.score, -best.score!) ?? tieBreak(r, best))) best = r;
  });

  // Rule 6: hysteresis.
  const why = `${notes.length > 0 ? `; ${notes.join("; ")}` : ""}`;
  const weightText = `weights memory ${formatNumber(w.memory, 2)}, latency ${formatNumber(w.latency, 2)}, accuracy ${formatNumber(w.accuracy, 2)}`;
  const budgetText = budget === undefined ? "" : `, within the ${formatNumber(budget)} ms/token budget${throttleNote(throttle)}`;
  const currentRow = current === undefined ? undefined : rows.find((r) => r.v === current);
  const base = { budgetMet, weights: w, accuracyMetric, latencySource, candidates: report(rows) } as const;
  const describeRow = (r: Row) =>
    `${formatNumber(r.latencyMs)} ms/token, ${accuracyMetric === "kld" ? "KLD" : "perplexity"} ${formatNumber(r.accuracy)}, ${memoryNote(r, ramFree, gpuFree, p)}`;
  if (currentRow !== undefined && currentRow !== best) {
    if (currentRow.excluded === undefined && best.score! - currentRow.score! < p.hysteresis) {
      const reason =
        `kept "${currentRow.v.name}": the best, "${best.v.name}", scores ${formatNumber(best.score!, 3)} vs ${formatNumber(currentRow.score!, 3)}, ` +
        `less than the ${formatNumber(p.hysteresis)} switching margin (${describeRow(currentRow)}; ${weightText}${why})`;
      return { variant: currentRow.v, reason, kept: true, ...base };
    }
  }
  const switched = currentRow !== undefined && currentRow !== best ? `; switched from "${currentRow.v.name}" (${currentRow.excluded ?? `score ${formatNumber(currentRow.score!, 3)}`})` : "";
  const reason =
    `"${best.v.name}": best TOPSIS score ${formatNumber(best.score!, 3)} of ${considered.length} variant${considered.length === 1 ? "" : "s"} that fit${budgetText} ` +
    `(${describeRow(best)}; ${weightText}${why})${switched}`;
  return { variant: best.v, reason, kept: false, ...base };
}

/** One cost column of rule 5: positions in [0, scale], 0 for the best. */
export interface SpanColumn {
  /** (ln x − ln min) / (ln max − ln min) × scale per entry, in input order */
  readonly positions: readonly number[];
  /** the worst entry's position: 1, less when the spread is inside two standard errors of the
   * difference between the ends, 0 when every value is equal */
  readonly scale: number;
}

/**
 * Rule 5's column: each value's place on a log scale between the best (smallest) and the worst,
 * scaled down when the spread between them is inside the noise. A value of 0 counts as the
 * smallest positive one (a log scale has no place for 0).
 *
 * @example
 * logSpan([{ value: 1, se: 0 }, { value: 2, se: 0 }, { value: 4, se: 0 }]) // positions [0, 0.5, 1], scale 1
 * logSpan([{ value: 10, se: 1 }, { value: 12, se: 1 }])                    // spread 2 < 2·√2: scale 2/(2√2) = 0.707
 */
export function logSpan(entries: readonly { readonly value: number; readonly se: number }[]): SpanColumn {
  const flat = { positions: entries.map(() => 0), scale: 0 };
  const positive = entries.filter((e) => e.value > 0);
  if (positive.length === 0) return flat;
  const floor = Math.min(...positive.map((e) => e.value));
  const low = entries.reduce((a, b) => (b.value < a.value ? b : a));
  const high = entries.reduce((a, b) => (b.value > a.value ? b : a));
  const span = Math.log(high.value) - Math.log(floor);
  if (span === 0) return flat;
  const noise = 2 * Math.hypot(low.se, high.se);
  const scale = noise === 0 ? 1 : Math.min(1, (high.value - low.value) / noise);
  return { positions: entries.map((e) => (scale * (Math.log(Math.max(e.value, floor)) - Math.log(floor))) / span), scale };
}

/** Whether a < b; undefined when they tie (equal within a relative 1e-12). */
function better(a: number, b: number): boolean | undefined {
  if (Math.abs(a - b) <= TIE * Math.max(1, Math.abs(a), Math.abs(b))) return undefined;
  return a < b;
}

/** Ties go to the more accurate variant, then the smaller, then the name. */
function tieBreak(a: Row, b: Row): boolean {
  if (a.accuracy !== b.accuracy) return a.accuracy < b.accuracy;
  if (a.v.weightBytes !== b.v.weightBytes) return a.v.weightBytes < b.v.weightBytes;
  return a.v.name < b.v.name;
}

function report(rows: readonly Row[]): CandidateReport[] {
  return rows.map((r) => ({
    name: r.v.name,
    ramRequiredBytes: r.ramRequired,
    gpuRequiredBytes: r.gpuRequired,
    latencyMs: r.latencyMs,
    accuracy: r.accuracy,
    ...(r.excluded !== undefined ? { excluded: r.excluded } : {}),
    ...(r.excluded === undefined && r.score !== undefined ? { score: r.score } : {}),
  }));
}

function memoryNote(r: Row, ramFree: number, gpuFree: number, p: CheckedPolicy): string {
  const ram = `${formatBytes(r.ramRequired)} of ${formatBytes(ramFree)} free RAM`;
  const headroom = `with ${formatNumber(p.headroom.fraction * 100)}% headroom${p.headroom.bytes > 0 ? ` + ${formatBytes(p.headroom.bytes)}` : ""}`;
  return r.gpuRequired > 0 ? `${formatBytes(r.gpuRequired)} of ${formatBytes(gpuFree)} free VRAM and ${ram} ${headroom}` : `${ram} ${headroom}`;
}

function throttleNote(throttle: number): string {
  return throttle === 1 ? "" : ` at throttle ${formatNumber(throttle)}`;
}

function noFit(rows: readonly Row[], ramFree: number, gpuFree: number, p: CheckedPolicy): NoVariantFitsError {
  const limit = p.limits.maxMemoryBytes;
  const smallest = rows.reduce((a, b) => (b.ramNeed + b.gpuNeed < a.ramNeed + a.gpuNeed ? b : a));
  const headroom = `${formatNumber(p.headroom.fraction * 100)}% headroom${p.headroom.bytes > 0 ? ` + ${formatBytes(p.headroom.bytes)}` : ""}`;
  const parts = `${formatBytes(smallest.v.weightBytes)} of weights${p.contextBytes > 0 ? ` + ${formatBytes(p.contextBytes)} of context` : ""} + ${headroom}`;
  if (limit !== undefined && smallest.ramNeed + smallest.gpuNeed > limit) {
    return new NoVariantFitsError(
      `no variant fits in memory: the smallest, "${smallest.v.name}", needs ${formatBytes(smallest.ramNeed + smallest.gpuNeed)}, over limits.maxMemoryBytes ${formatBytes(limit)}`,
      { name: smallest.v.name, resource: p.offload ? "VRAM" : "RAM", requiredBytes: smallest.ramNeed + smallest.gpuNeed, availableBytes: limit },
    );
  }
  const gpuShort = p.offload && smallest.gpuRequired > gpuFree;
  const [resource, required, free] = gpuShort ? (["VRAM", smallest.gpuRequired, gpuFree] as const) : (["RAM", smallest.ramRequired, ramFree] as const);
  return new NoVariantFitsError(
    `no variant fits in memory: the smallest, "${smallest.v.name}", needs ${formatBytes(required)} of ${resource} (${parts}) but ${formatBytes(free)} is free`,
    { name: smallest.v.name, resource, requiredBytes: required, availableBytes: free },
  );
}

// Which latency applies: this device's when every variant was profiled on it (a learned mean
// once it has enough samples), else the first device every variant was profiled on, named.
// With each, its standard error: the benchmark's sd/√reps; a learned mean has no spread of its
// own, so the benchmark's relative sd over its sample count stands in.
// Learned and benchmark figures are never compared raw: served requests differ from the
// benchmark (prompt lengths, context fill, other load on the device) in ways that slow every
// variant alike, and only the variants that ran get learned figures, so raw figures would
// penalise whichever variant has been serving. A variant without enough observations takes its
// benchmark times the geometric mean of learned ÷ benchmark over the variants that have them.
function latencyReader(variants: readonly Variant[], device: string | undefined): { pick: (v: Variant) => { ms: number; se: number }; source: string } {
  const benchmark = (m: LatencyMeasurement) => ({ ms: m.decode.mean, se: m.decode.sd / Math.sqrt(repsOf(m)) });
  if (device !== undefined && variants.every((v) => latencyOn(v, device) !== undefined)) {
    const observed = (m: LatencyMeasurement) => (m.observed !== undefined && m.observed.samples >= MIN_OBSERVED ? m.observed : undefined);
    const ratios = variants.map((v) => latencyOn(v, device)!).flatMap((m) => (observed(m) ? [Math.log(observed(m)!.decodeMsPerToken / m.decode.mean)] : []));
    const served = ratios.length === 0 ? 1 : Math.exp(ratios.reduce((a, b) => a + b, 0) / ratios.length);
    return {
      pick: (v) => {
        const m = latencyOn(v, device)!;
        const o = observed(m);
        if (o === undefined) {
          const b = benchmark(m);
          return { ms: b.ms * served, se: b.se * served };
        }
        return { ms: o.decodeMsPerToken, se: (o.decodeMsPerToken * m.decode.sd) / m.decode.mean / Math.sqrt(o.samples) };
      },
      source: ratios.length > 0 ? "learned" : "this device",
    };
  }
  const common = variants[0]!.latency.find((m) => variants.every((v) => latencyOn(v, m.device.fingerprint) !== undefined));
  if (common === undefined) {
    throw new MethodInputError("the portfolio's variants have no latency measured on a common device; profile them together (`apreqel portfolio profile DIR`)");
  }
  const fp = common.device.fingerprint;
  return { pick: (v) => benchmark(latencyOn(v, fp)!), source: `${fp} (${common.device.hardware.cpu}; not this device)` };
}

/** The benchmark's repetitions (settings.reps), 1 when the manifest does not say. */
function repsOf(m: LatencyMeasurement): number {
  const reps = m.settings["reps"];
  return typeof reps === "number" && Number.isSafeInteger(reps) && reps >= 1 ? reps : 1;
}

interface CheckedPolicy {
  readonly weights: Weights;
  readonly limits: PickLimits;
  readonly headroom: { readonly fraction: number; readonly bytes: number };
  readonly contextBytes: number;
  readonly offload: boolean;
  readonly lowBattery: number;
  readonly plentiful: number;
  readonly hysteresis: number;
}

function checkPolicy(policy: PickPolicy): CheckedPolicy {
  expectObject(policy, "policy");
  const limits = policy.limits === undefined ? {} : expectObject(policy.limits, "policy.limits");
  for (const key of Object.keys(limits)) {
    if (!["maxMemoryBytes", "maxLatencyMs", "maxKld", "maxPerplexity"].includes(key)) throw new MethodInputError(`policy.limits has an unknown limit ${JSON.stringify(key)}`);
    const v = expectFiniteNumber(limits[key], `policy.limits.${key}`);
    if (v < 0) throw new MethodInputError(`policy.limits.${key} must be at least 0 (got ${describeValue(v)})`);
  }
  const headroom = policy.headroom ?? { fraction: 0.1, bytes: 0 };
  expectObject(headroom, "policy.headroom");
  return {
    weights: policy.weights === undefined ? BALANCED : validateWeights(policy.weights),
    limits: limits as PickLimits,
    headroom: { fraction: nonNegative(headroom.fraction, "policy.headroom.fraction"), bytes: nonNegative(headroom.bytes, "policy.headroom.bytes") },
    contextBytes: policy.contextBytes === undefined ? 0 : nonNegative(policy.contextBytes, "policy.contextBytes"),
    offload: policy.offload ?? false,
    lowBattery: policy.lowBattery === undefined ? 0.2 : unit(policy.lowBattery, "policy.lowBattery"),
    plentiful: policy.plentiful === undefined ? 0.5 : below1(policy.plentiful, "policy.plentiful"),
    hysteresis: policy.hysteresis === undefined ? 0.05 : unit(policy.hysteresis, "policy.hysteresis"),
  };
}

function checkState(state: DeviceState): DeviceState {
  expectObject(state, "state");
  nonNegative(state.ramFreeBytes, "state.ramFreeBytes");
  if (state.gpuFreeBytes !== undefined) nonNegative(state.gpuFreeBytes, "state.gpuFreeBytes");
  if (state.latencyBudgetMs !== undefined && !(expectFiniteNumber(state.latencyBudgetMs, "state.latencyBudgetMs") > 0)) {
    throw new MethodInputError(`state.latencyBudgetMs must be above 0 (got ${describeValue(state.latencyBudgetMs)})`);
  }
  if (state.throttle !== undefined && !(expectFiniteNumber(state.throttle, "state.throttle") > 0)) {
    throw new MethodInputError(`state.throttle must be above 0: 1 is as measured, 1.5 is 50% slower (got ${describeValue(state.throttle)})`);
  }
  if (state.battery !== undefined) {
    unit(expectObject(state.battery, "state.battery")["level"], "state.battery.level");
    if (typeof state.battery.charging !== "boolean") throw new MethodInputError(`state.battery.charging must be true or false (got ${describeValue(state.battery.charging)})`);
  }
  return state;
}

function nonNegative(value: unknown, what: string): number {
  const n = expectFiniteNumber(value, what);
  if (n < 0) throw new MethodInputError(`${what} must be at least 0 (got ${describeValue(n)})`);
  return n;
}

function unit(value: unknown, what: string): number {
  const n = nonNegative(value, what);
  if (n > 1) throw new MethodInputError(`${what} must be between 0 and 1 (got ${describeValue(n)})`);
  return n;
}

function below1(value: unknown, what: string): number {
  const n = nonNegative(value, what);
  if (n >= 1) throw new MethodInputError(`${what} must be at least 0 and below 1 (got ${describeValue(n)})`);
  return n;
}

function clamp01(x: number): number {
  return x <= 0 ? 0 : x >= 1 ? 1 : x;
}
