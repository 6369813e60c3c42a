/**
 * planSensitivity(): the sensitivity table for a fraction of the probes (issue 25, items 4 and 5).
 * The proxy table first (no forward pass), then rounds: lib/method/probe-plan.ts predicts every
 * unmeasured cell from the measured ones and the proxy, and names the cells whose measurement can
 * change the front's choice at the sizes served; those are probed (probeCells: each probe cached
 * as it finishes), until the choice settles or the budget is spent. The table says which cells
 * were measured and how uncertain the others are (`cells`, `probes`).
 *
 * The plan is a function of its settings and budget: a rerun replays the same rounds from the cache
 * (free in time), and cells the cache holds from other runs but the rounds did not pick are not
 * used, so the same command gives the same table whatever ran before. A token or share budget
 * counts every cell the rounds use, cached or not, at what it cost; a time budget counts this
 * run's seconds only.
 */
import { planUnits, type Granularity, type PlanUnit } from "../gguf/units.js";
import { inspect } from "../ops/inspect.js";
import type { ProbeKld } from "../ops/probe.js";
import { AbortError } from "../core/errors.js";
import {
  DEFAULT_PROBE_BUDGET,
  describeProbeBudget,
  planRound,
  predictSensitivity,
  servedSizes,
  type ProbeBudget,
} from "../method/probe-plan.js";
import type { ProbeStop, SensitivityTable } from "../method/sensitivity.js";
import type { GgmlType } from "../method/types.js";
import { probeCells, proxySensitivity, type SensitivityOptions } from "./sensitivity.js";
import type { Session } from "./session.js";
import { resolveUniform, uniformModels, type UniformOptions } from "./uniform.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export interface PlannedSensitivityOptions extends Omit<SensitivityOptions, "units"> {
  readonly units: Granularity;
  /** default DEFAULT_PROBE_BUDGET */
  readonly budget?: ProbeBudget;
  /** file sizes whose choice the table serves (e.g. the user's --target-size); default 8 sizes across the front */
  readonly sizes?: readonly number[];
  /** probes per native call (default 16: each call also decodes the source once per chunk) */
  readonly batch?: number;
  /** stop when what is left to learn is below this share of the estimate (default 0.01) */
  readonly tolerance?: number;
}

export interface PlannedSensitivity {
  readonly table: SensitivityTable;
  /** cells probed in this run, and found in the cache */
  readonly probed: number;
  readonly cached: number;
  readonly rounds: number;
}

/**
 * The cost of one probe in forward-equivalent tokens (tokens × share of the model computed): the
 * count the addon records with the probe when it gives one, else a full probe (every chunk
 * through the whole model, what today's probes do). Read from the probe's own record, so a cell
 * costs the same whether it ran now or came from the cache, and a budget replays alike.
 */
export function probeForwardTokens(kld: ProbeKld, fullProbe: number): number {
  const own = (kld as ProbeKld & { readonly forwardTokens?: number }).forwardTokens;
  return typeof own === "number" && Number.isFinite(own) ? own : fullProbe;
}

/**
 * What one native call costs beside its probes, in forward-equivalent tokens: the source model's
 * decode of every chunk and the reference's own pass (which also captures the blocks' inputs), each
 * a full forward pass of a full probe's tokens. Counted per round whether or not the round's cells
 * came from the cache, so a rerun replays the same budget.
 */
export function callOverheadTokens(fullProbe: number): number {
  return 2 * fullProbe;
}

/** Bytes of each unit in each type, from the uniform files' headers (outside the blocks: the file whose non-layer tensors have that type). */
export async function unitBytes(
  s: Session,
  units: readonly PlanUnit[],
  types: readonly GgmlType[],
  uniform: UniformOptions,
): Promise<{ readonly bytes: number[][]; readonly fixedBytes: number }> {
  const files = await uniformModels(s, types, uniform);
  const sizes = new Map<GgmlType, Map<string, number>>();
  const outside = units.some((u) => u.block === null);
  for (const t of types) {
    const m = new Map((await inspect(files.get(t)!)).tensors.map((x) => [x.name, x.bytes]));
    if (outside) {
      const nonLayer = (await uniformModels(s, [types[0]!], { ...uniform, nonLayerType: t })).get(types[0]!)!;
      for (const x of (await inspect(nonLayer)).tensors) if (units.some((u) => u.block === null && u.tensors.includes(x.name))) m.set(x.name, x.bytes);
    }
    sizes.set(t, m);
  }
  const bytes = units.map((u) => types.map((t) => u.tensors.reduce((acc, name) => acc + (sizes.get(t)!.get(name) ?? 0), 0)));
  const reference = await inspect(files.get(types[0]!)!);
  const planned = new Set(units.flatMap((u) => u.tensors));
  return { bytes, fixedBytes: reference.fileSize - reference.tensors.filter((x) => planned.has(x.name)).reduce((a, x) => a + x.bytes, 0) };
}

/** The planned table (see the module comment). */
export async function planSensitivity(s: Session, o: PlannedSensitivityOptions): Promise<PlannedSensitivity> {
  const budget = o.budget ?? DEFAULT_PROBE_BUDGET;
  const signal = o.signal ?? s.signal;
  const units = planUnits(s.info.tensors, o.units);
  const types = o.types;
  const N = units.length;
  const M = types.length;
  const uniform = await resolveUniform(s, o.uniform ?? {});
  const proxy = await proxySensitivity(s, { units: o.units, types, uniform, ...(signal ? { signal } : {}) });
  const { bytes, fixedBytes } = await unitBytes(s, units, types, uniform);
  const sizes = o.sizes !== undefined ? o.sizes.map((x) => x - fixedBytes) : servedSizes(bytes, 8);
  const nCtx = o.nCtx ?? DEFAULT_CTX;
  // a full probe: every chunk through the whole model (the unit the share budget and the saving are counted in)
  let fullProbe = o.chunks !== undefined ? o.chunks * nCtx : undefined;
  const measured: (number | null)[][] = units.map(() => types.map((_, t) => (t === 0 ? 0 : null)));
  const kldOf: (ProbeKld | undefined)[][] = units.map(() => types.map(() => undefined));
  let referenceKld: number | undefined;
  let spentTokens = 0;
  let probed = 0;
  let cached = 0;
  let rounds = 0;
  let stopped: ProbeStop = "proxy only";
  const started = performance.now();
  const zero = (budget.kind === "tokens" && budget.tokens === 0) || (budget.kind === "seconds" && budget.seconds === 0) || (budget.kind === "share" && budget.share === 0);
  const cellsTotal = N * (M - 1);
  const seconds = budget.kind === "seconds" ? budget.seconds : budget.kind === "share" ? budget.maxSeconds : undefined;
  // tokens the probes are expected to spend after those already spent, as of the last round: the
  // cells the stopping rule still needs (Round.cellsToSettle) at the cost per cell seen so far, and
  // each call's own overhead; undefined before a full probe's size is known
  let forecast: number | undefined;
  let shown = 0;
  // the probe step's progress, for the display and the run's ETA (issue 26): what it spent of what it
  // is expected to spend (the budget, or less when the forecast says the choice settles sooner), at
  // least the share of its time cap gone, never backwards; `running` is the current call's spend
  const progress = (running: number): number => {
    const byTime = seconds !== undefined && seconds > 0 ? (performance.now() - started) / 1000 / seconds : 0;
    const limit = budget.kind === "tokens" ? budget.tokens : budget.kind === "share" ? budget.share * cellsTotal * (fullProbe ?? 0) : Infinity;
    const expected = Math.min(limit, forecast === undefined ? Infinity : spentTokens + forecast);
    const byTokens = Number.isFinite(expected) && expected > 0 ? (spentTokens + running) / expected : 0;
    shown = Math.max(shown, Math.min(1, Math.max(byTime, byTokens)));
    return shown;
  };
  let measuredCells = 0;
  let lastGain = Number.NaN;
  let measuredCellTokens = 0;
  // every probe option the caller gave (and any the probes gain: tokens scored, start block, stopping rule) goes to the probes as given
  const { budget: _budget, sizes: _sizes, batch: _batch, tolerance: _tolerance, units: _units, onProgress: _onProgress, signal: _signal, ...probeOptions } = o;
  const common = { ...probeOptions, nCtx, uniform };
  while (!zero) {
    const round = planRound({ units: proxy.units, types, proxy: proxy.delta, measured, bytes, sizes, batch: o.batch ?? 16, ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}) });
    if (round.cells.length === 0) {
      stopped = round.reason === "complete" ? "complete" : "settled";
      break;
    }
    // what the budget still allows, at the cost per probe seen so far (before any: a full probe)
    let cells = round.cells;
    if (budget.kind !== "seconds" && fullProbe !== undefined) {
      const limit = budget.kind === "tokens" ? budget.tokens : budget.share * cellsTotal * fullProbe;
      // each call also runs the source and the reference once; a probe costs at most a full probe
      // (it stops early, or starts past block 0, when it can), so a round priced at that bound never
      // overshoots the budget, and what the probes save is spent by the next round
      const affordable = Math.floor((limit - spentTokens - callOverheadTokens(fullProbe)) / Math.max(fullProbe, 1));
      if (affordable <= 0) {
        stopped = "budget";
        break;
      }
      cells = cells.slice(0, affordable);
    }
    // a time budget (or the default's cap on time) ends the native call at the deadline; its finished probes are kept
    if (seconds !== undefined && (performance.now() - started) / 1000 >= seconds) {
      stopped = "budget";
      break;
    }
    // this call's expected cost, and what the rounds after it are expected to add
    const perCell = measuredCells > 0 ? measuredCellTokens / measuredCells : fullProbe;
    const callCost = perCell === undefined || fullProbe === undefined ? undefined : cells.length * perCell + callOverheadTokens(fullProbe);
    // cells still to measure: what the values say now (cellsToSettle), or, once two rounds have
    // priced the gain, the rounds its decline so far needs to reach the tolerance (each measured
    // cell moves the predictions of the others, so the values alone tend to say too few)
    const batchSize = Math.max(1, o.batch ?? 16);
    const threshold = (o.tolerance ?? 0.01) * round.estimatedKld;
    const decline = Number.isFinite(lastGain) && lastGain > 0 ? round.expectedGain / lastGain : NaN;
    const roundsByDecline = decline > 0 && decline < 1 && round.expectedGain > threshold ? Math.ceil(Math.log(round.expectedGain / threshold) / Math.log(1 / decline)) : 0;
    lastGain = round.expectedGain;
    const toSettle = Math.max(cells.length, round.cellsToSettle, roundsByDecline * batchSize);
    // until the decline is known, the budget is what the step is expected to spend (an ETA too long
    // at first, that shortens, rather than one too short that a user plans by)
    forecast = perCell === undefined || fullProbe === undefined || roundsByDecline === 0 ? undefined : toSettle * perCell + Math.ceil(toSettle / batchSize) * callOverheadTokens(fullProbe);
    const pick = new Set(cells.map((c) => c.unit * M + c.type));
    const deadline = seconds !== undefined ? new AbortController() : undefined;
    const timer = deadline ? setTimeout(() => deadline.abort(), Math.max(0, seconds! * 1000 - (performance.now() - started))) : undefined;
    const signals = [signal, deadline?.signal].filter((x): x is AbortSignal => x !== undefined);
    let r: Awaited<ReturnType<typeof probeCells>> | undefined;
    try {
      // on a fleet (--redis) the round's cells are computed by its workers into this cache first
      if (s.probeRunner) {
        await s.probeRunner({
          granularity: o.units,
          types,
          cells: cells.map((c) => ({ unit: units[c.unit]!.name, type: types[c.type]! })),
          calibration: o.calibration,
          nCtx,
          ...(o.chunks !== undefined ? { chunks: o.chunks } : {}),
        });
      }
      r = await probeCells(s, {
        ...common,
        units: { granularity: o.units, units },
        select: (u, t) => pick.has(u * M + t),
        ...(signals.length > 0 ? { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) } : {}),
        ...(o.onProgress ? { onProgress: (f: number) => o.onProgress!(progress(f * (callCost ?? 0))) } : {}),
      });
    } catch (e) {
      if (!(deadline?.signal.aborted && !signal?.aborted && e instanceof AbortError)) throw e;
    } finally {
      if (timer) clearTimeout(timer);
    }
    rounds++;
    if (r === undefined) {
      // the deadline ended the call: its finished probes are in the cache; read them without running more
      r = await probeCells(s, { ...common, units: { granularity: o.units, units }, select: () => false });
      stopped = "budget";
    }
    referenceKld = r.reference.mean;
    // without --probe-chunks a full probe is all the chunks the text gives: learnt from the first call
    if (fullProbe === undefined && r.timing) fullProbe = r.timing.decodedTokens / (r.probed + 1);
    const full = fullProbe ?? 0;
    spentTokens += callOverheadTokens(full);
    for (const c of cells) {
      const k = r.kld[c.unit]![c.type];
      if (k === undefined) continue; // cut by the deadline
      measured[c.unit]![c.type] = k.mean - r.reference.mean;
      kldOf[c.unit]![c.type] = k;
      const cost = probeForwardTokens(k, full);
      spentTokens += cost;
      measuredCells++;
      measuredCellTokens += cost;
    }
    probed += r.probed;
    cached += cells.length - Math.min(r.probed, cells.length);
    if (stopped === "budget") break;
  }
  // the step is over, whatever the forecast said (the ETA then drops what it had priced for it)
  if (rounds > 0) o.onProgress?.(1);
  const predicted = predictSensitivity({ units: proxy.units, types, proxy: proxy.delta, measured });
  const nMeasured = countMeasured(measured);
  const note = nMeasured === 0
    ? `probe budget ${describeProbeBudget(budget)}: no probe ran; Δ is the proxy (imatrix-weighted squared quantization error), which ranks the cells but is not KLD, so the plan follows the proxy's ranking and its "KLD" is in the proxy's units`
    : undefined;
  const table: SensitivityTable = {
    kind: nMeasured === 0 ? "proxy" : "measured",
    granularity: o.units,
    types,
    units: proxy.units,
    referenceKld: nMeasured === 0 ? 0 : referenceKld!,
    delta: predicted.delta,
    cells: { measured: predicted.measured, sigma: predicted.sigma },
    probes: {
      measured: nMeasured,
      predicted: cellsTotal - nMeasured,
      forwardTokens: spentTokens,
      fullTableTokens: cellsTotal * (fullProbe ?? 0),
      budget: describeProbeBudget(budget),
      stopped: nMeasured === cellsTotal ? "complete" : stopped,
      ...(note ? { note } : {}),
    },
  };
  return { table, probed, cached, rounds };
}

function countMeasured(measured: readonly (readonly (number | null)[])[]): number {
  return measured.reduce((acc, row) => acc + row.filter((d, t) => t > 0 && d !== null).length, 0);
}
