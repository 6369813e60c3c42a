/**
 * measureSensitivity(): the measured table Δ(u, t) for every plan unit and candidate type (issue
 * 14). The reference is the cached uniform file of the least aggressive type; a probe swaps a
 * unit's tensors in from the cached uniform file of type t (for units outside the blocks, from the
 * uniform file whose non-layer tensors are t), in one native call with the reference loaded once
 * (lib/ops/probe.ts). Every probe is cached on its own as soon as it finishes, so a cancelled table
 * resumes where it stopped, and a table over other units or types reuses the probes it shares.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { planUnits, type Granularity, type PlanUnit } from "../gguf/units.js";
import type { SensitivityTable } from "../method/sensitivity.js";
import type { GgmlType } from "../method/types.js";
import { DEFAULT_PROBE_STOP, DEFAULT_PROBE_WARMUP, probeSensitivity, type ProbeKld, type ProbeResult, type ProbeSpec, type ProbeStopRule } from "../ops/probe.js";
import { quantizationError } from "../ops/quant-error.js";
import type { CalibrationSet } from "./texts.js";
import { DEFAULT_NON_LAYER_TYPE, quantizationSettings, resolveUniform, uniformModels, type UniformOptions } from "./uniform.js";
import { keyFor, type Session } from "./session.js";
import { readCachedJson } from "../cache/read.js";
import { PROBE_SHAPE } from "./cached-shapes.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export interface SensitivityOptions {
  /** a granularity (every unit of the model at it), or chosen units of one */
  readonly units: Granularity | { readonly granularity: Granularity; readonly units: readonly PlanUnit[] };
  /** candidate types, least aggressive first: types[0] is the reference's */
  readonly types: readonly GgmlType[];
  readonly calibration: CalibrationSet;
  /** tokens per chunk (default 512) and how many chunks (default all the calibration text has) */
  readonly nCtx?: number;
  readonly chunks?: number;
  readonly threads?: number;
  /** what each probe scores and how long it runs (lib/ops/probe.ts; defaults DEFAULT_PROBE_WARMUP, true, DEFAULT_PROBE_STOP; stop null: every chunk) */
  readonly warmup?: number | "perplexity";
  readonly startAtBlock?: boolean;
  readonly stop?: ProbeStopRule | null;
  /** how the uniform files are made (non-layer type, imatrix) */
  readonly uniform?: UniformOptions;
  /** default: the session's */
  readonly signal?: AbortSignal;
  /** fraction of the probes still to run that are done */
  readonly onProgress?: (fraction: number) => void;
  /** how many probes will run (the rest are cached) of how many in all, before the first runs */
  readonly onProbeCount?: (toRun: number, total: number) => void;
}

/** Options of {@link probeCells}: which cells to probe now (by unit and type index); the others only from the cache. */
export interface CellsOptions extends SensitivityOptions {
  readonly select?: (unit: number, type: number) => boolean;
}

/** Every cell's probe, or undefined where it was neither selected nor cached. */
export interface ProbedCells extends Omit<MeasuredSensitivity, "table" | "kld"> {
  readonly granularity: Granularity;
  readonly units: readonly PlanUnit[];
  readonly kld: readonly (readonly (ProbeKld | undefined)[])[];
}

export interface MeasuredSensitivity {
  readonly table: SensitivityTable;
  /** KLD of every probe, [unit][type] (types[0]: the reference's own) */
  readonly kld: readonly (readonly ProbeKld[])[];
  readonly reference: ProbeKld;
  /** probes found in the cache, and run now */
  readonly cached: number;
  readonly probed: number;
  /** of the native call, when probes ran */
  readonly timing?: { readonly totalSeconds: number; readonly decodeSeconds: number; readonly kldSeconds: number; readonly swapSeconds: number; readonly decodedTokens: number };
  /** of the native call, when probes ran: tokens decoded and forward-equivalent tokens */
  readonly cost?: ProbeResult["cost"];
}

/** The calibration prompts as one text, as the probe scores it. */
export function calibrationText(c: CalibrationSet): string {
  return c.prompts.join("\n\n");
}

export async function measureSensitivity(s: Session, o: SensitivityOptions): Promise<MeasuredSensitivity> {
  const { granularity, units, kld: cells, reference: ref, ...rest } = await probeCells(s, o);
  const kld = cells.map((row) => row.map((k) => k!));
  const table: SensitivityTable = {
    kind: "measured",
    granularity,
    types: o.types,
    units: units.map((u) => u.name),
    referenceKld: ref.mean,
    delta: kld.map((row) => row.map((k) => k.mean - ref.mean)),
  };
  return { table, kld, reference: ref, ...rest };
}

/**
 * The probes of measureSensitivity's cells: every cell the cache holds, and those `select` picks
 * (all when it is absent) run now; the reference always. Each probe is cached as it finishes.
 */
export async function probeCells(s: Session, o: CellsOptions): Promise<ProbedCells> {
  const signal = o.signal ?? s.signal;
  if (o.types.length === 0) throw new TypeError("measureSensitivity: expected at least one type");
  const granularity = typeof o.units === "string" ? o.units : o.units.granularity;
  const units = typeof o.units === "string" ? planUnits(s.info.tensors, o.units) : o.units.units;
  if (units.length === 0) throw new TypeError("measureSensitivity: the model has no units to probe");
  const uniform = await resolveUniform(s, o.uniform ?? {});
  const nCtx = o.nCtx ?? DEFAULT_CTX;
  const text = calibrationText(o.calibration);
  const files = await uniformModels(s, o.types, uniform);
  const reference = files.get(o.types[0]!)!;
  // outside the blocks a uniform file keeps nonLayerType: a unit there at t comes from the file whose non-layer type is t
  const nonLayerFiles = new Map<GgmlType, string>();
  if (units.some((u) => u.block === null)) {
    for (const t of o.types) {
      nonLayerFiles.set(t, (await uniformModels(s, [o.types[0]!], { ...uniform, nonLayerType: t })).get(o.types[0]!)!);
    }
  }
  const sourceOf = (u: PlanUnit, t: GgmlType): string => (u.block === null ? nonLayerFiles.get(t)! : files.get(t)!);
  const common = {
    referenceType: o.types[0],
    uniform: quantizationSettings(uniform),
    calibrationSha256: o.calibration.sha256,
    nCtx,
    chunks: o.chunks ?? null,
    // everything that changes a cell: which tokens are scored, where a probe starts, when it stops
    warmup: o.warmup ?? DEFAULT_PROBE_WARMUP,
    startAtBlock: o.startAtBlock ?? true,
    stop: o.stop === null ? null : { ...(o.stop ?? DEFAULT_PROBE_STOP), maxTokens: String((o.stop ?? DEFAULT_PROBE_STOP).maxTokens) },
  };
  const keyOf = (tensors: readonly string[], type: GgmlType | null, unitNonLayer: boolean) =>
    keyFor(s, "probe", type, { ...common, tensors, ...(unitNonLayer ? { sourceNonLayerType: type } : {}) });

  // every cell: the reference probe first, then unit × type. A unit at types[0] (outside the
  // blocks: at the reference's non-layer type) is the reference itself, byte for byte, so it is
  // not probed: its KLD is the reference's (test/native/probe.test.ts checks that a probe of it
  // gives exactly that).
  interface Cell { readonly key: ReturnType<typeof keyOf>; readonly spec: ProbeSpec; result?: ProbeKld }
  const referenceCell: Cell = { key: keyOf([], null, false), spec: { tensors: [] } };
  const referenceNonLayer = uniform.nonLayerType ?? DEFAULT_NON_LAYER_TYPE;
  const cells: Cell[][] = units.map((u) =>
    o.types.map((t) =>
      (u.block === null ? t === referenceNonLayer : t === o.types[0])
        ? referenceCell
        : { key: keyOf(u.tensors, t, u.block === null), spec: { tensors: u.tensors, source: sourceOf(u, t) } },
    ),
  );
  const all = [referenceCell, ...new Set(cells.flat().filter((c) => c !== referenceCell))];
  let cached = 0;
  for (const cell of all) {
    // read back checked: a damaged probe.json is a miss (removed, noted, probed again)
    const result = await s.cache.find(cell.key, (dir) => readCachedJson<ProbeKld>(dir, "probe.json", PROBE_SHAPE));
    if (result === undefined) continue;
    cell.result = result;
    cached++;
  }
  const selected = o.select === undefined ? undefined : new Set(cells.flatMap((row, u) => row.filter((_, t) => o.select!(u, t))));
  const todo = all.filter((c) => c.result === undefined && (selected === undefined || c === referenceCell || selected.has(c)));
  o.onProbeCount?.(todo.length, all.length);
  let timing: MeasuredSensitivity["timing"];
  let cost: MeasuredSensitivity["cost"];
  if (todo.length > 0) {
    // each finished probe is published at once; the chain is awaited even when the call fails
    let publishing: Promise<unknown> = Promise.resolve();
    // caught where the chain is made (a rejection nobody awaits yet is an unhandled one: a raw
    // stack); the first fault is thrown once the probes are done (the cache's error names the entry)
    let publishFault: { readonly error: unknown } | undefined;
    const publish = (cell: Cell, kld: ProbeKld) => {
      cell.result = kld;
      publishing = publishing
        .then(() =>
          s.cache.getOrCreate(cell.key, (dir) => fs.writeFile(path.join(dir, "probe.json"), JSON.stringify(kld)), {
            description: `sensitivity probe of ${path.basename(s.model)}: ${cell.spec.tensors.length === 0 ? "reference" : cell.spec.tensors.join(", ")}`,
          }),
        )
        .catch((error: unknown) => {
          publishFault ??= { error };
        });
    };
    try {
      const r = await probeSensitivity({
        model: reference,
        base: s.model,
        text,
        nCtx,
        ...(o.chunks !== undefined ? { chunks: o.chunks } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        warmup: o.warmup ?? DEFAULT_PROBE_WARMUP,
        startAtBlock: o.startAtBlock ?? true,
        ...(o.stop === null ? {} : { stop: o.stop ?? DEFAULT_PROBE_STOP }),
        probes: todo.map((c) => c.spec),
        onProbe: (i, kld) => publish(todo[i]!, kld),
        ...(signal ? { signal } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
      timing = r.timing;
      cost = r.cost;
    } finally {
      await publishing;
    }
    if (publishFault !== undefined) throw publishFault.error;
  }
  const kld = cells.map((row) => row.map((c) => c.result));
  return { granularity, units, kld, reference: referenceCell.result!, cached, probed: todo.length, ...(timing ? { timing } : {}), ...(cost ? { cost } : {}) };
}

export interface ProxyOptions {
  readonly units: Granularity;
  /** candidate types, least aggressive first */
  readonly types: readonly GgmlType[];
  readonly uniform?: UniformOptions;
  /** importance matrix weighting the error's columns (default: the uniform files' imatrix, else none) */
  readonly imatrix?: string;
  readonly signal?: AbortSignal;
}

/**
 * The proxy table: Δ(u, t) = E(u, t) − E(u, types[0]), E the importance-weighted squared
 * quantization error of u's tensors in the cached uniform file of type t (lib/ops/quant-error.ts).
 * No forward pass; referenceKld is 0 and Δ is in the error's own units, so only its ranking means
 * anything (compare it with the measured table by Spearman's ρ).
 */
export async function proxySensitivity(s: Session, o: ProxyOptions): Promise<SensitivityTable> {
  const units = planUnits(s.info.tensors, o.units);
  const uniform = await resolveUniform(s, o.uniform ?? {});
  const files = await uniformModels(s, o.types, uniform);
  const imatrix = o.imatrix ?? uniform.imatrix?.path;
  const signal = o.signal ?? s.signal;
  const blockTensors = units.filter((u) => u.block !== null).flatMap((u) => u.tensors);
  const errors = new Map<string, number[]>();
  if (blockTensors.length > 0) {
    const e = await quantizationError({ source: s.model, files: o.types.map((t) => files.get(t)!), tensors: blockTensors, ...(imatrix ? { imatrix } : {}), ...(signal ? { signal } : {}) });
    blockTensors.forEach((t, i) => errors.set(t, e[i]!));
  }
  const outside = units.filter((u) => u.block === null).flatMap((u) => u.tensors);
  if (outside.length > 0) {
    const nonLayer: string[] = [];
    for (const t of o.types) nonLayer.push((await uniformModels(s, [o.types[0]!], { ...uniform, nonLayerType: t })).get(o.types[0]!)!);
    // llama-imatrix records only matmul inputs: token_embd (a row lookup) has no entry, so it is weighed by 1
    const e = await quantizationError({ source: s.model, files: nonLayer, tensors: outside, ...(signal ? { signal } : {}) });
    outside.forEach((t, i) => errors.set(t, e[i]!));
  }
  const delta = units.map((u) => {
    const sum = o.types.map((_, j) => u.tensors.reduce((acc, t) => acc + errors.get(t)![j]!, 0));
    return sum.map((x) => x - sum[0]!);
  });
  return { kind: "proxy", granularity: o.units, types: o.types, units: units.map((u) => u.name), referenceKld: 0, delta };
}
