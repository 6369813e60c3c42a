/**
 * The jobs a fleet runs: each kind as one member of a discriminated union, and the one schema
 * check a worker runs on every payload before it acts on it. A payload names nothing on disk:
 * the model and the texts are content hashes of files in the store, the units are names the
 * worker matches against the model's own units, the types are names from llama.cpp's type
 * table. So a payload cannot make a worker read or write outside its store and cache, and a
 * payload that tries (a path, an unknown field, a wrong type) is refused whole.
 */
import { describeValue } from "../core/errors.js";
import { GRANULARITIES, type Granularity } from "../gguf/units.js";

/** A text the coordinator put in the store: the sha256 of its prompts' JSON, and its file name (null: the built-in set). */
export interface TextRef {
  readonly sha256: string;
  /** the calibration file's base name (llama-imatrix records it as the dataset; it is in the importance matrix's bytes) */
  readonly name: string | null;
}

/** Where a uniform file's importance matrix comes from: none, the calibration pass's, or a file in the store. */
export type ImatrixRef =
  | { readonly from: "none" }
  | { readonly from: "calibration"; readonly calibration: TextRef; readonly nCtx: number }
  | { readonly from: "file"; readonly sha256: string };

/** How the uniform files are made (as UniformOptions, with the importance matrix as a reference). */
export interface UniformRef {
  readonly nonLayerType: string;
  readonly imatrix: ImatrixRef;
}

interface JobCommon {
  readonly v: 1;
  /** sha256 of the source model, stored in the store as a blob */
  readonly model: string;
  /** the source model's file name, for descriptions and messages only */
  readonly modelName: string;
  readonly threads: number;
  /**
   * The coordinator's build fingerprint (apreqel + llama.cpp + CUDA or not): a uniform file or a
   * probe depends on it, and a worker of another build would make entries under other keys
   */
  readonly build: string;
  /** cache entries (their key ids) the job uses, put in the store by earlier jobs */
  readonly needs: readonly string[];
}

/** The calibration pass: cosines for `score` and the importance matrix. */
export interface CalibrationJob extends JobCommon {
  readonly kind: "calibration";
  readonly calibration: TextRef;
  readonly nCtx: number;
}

/** One uniform file: the model quantized to `type`. */
export interface UniformJob extends JobCommon {
  readonly kind: "uniform";
  readonly type: string;
  readonly uniform: UniformRef;
}

/**
 * A probe batch: the cells (unit, type) of `units` × `types` of one model, run in one native call
 * with the reference loaded once (lib/pipeline/sensitivity.ts). `types[0]` is the reference's type;
 * a batch of one block unit at `[types[0]]` alone measures the reference. `cells`, when given, are
 * the only cells to probe (indices into `units` and `types`): a round of the probe planner, which
 * measures what can change the choice within the user's budget, not the whole table.
 */
export interface ProbeJob extends JobCommon {
  readonly kind: "probe";
  readonly granularity: Granularity;
  readonly units: readonly string[];
  readonly types: readonly string[];
  readonly cells: readonly (readonly [number, number])[] | null;
  readonly calibration: TextRef;
  readonly nCtx: number;
  readonly chunks: number | null;
  readonly uniform: UniformRef;
}

/** The latency part of a profile of the uniform set, measured by a worker of one device class. */
export interface LatencyJob extends JobCommon {
  readonly kind: "latency";
  readonly deviceClass: string;
  readonly types: readonly string[];
  readonly uniform: UniformRef;
  readonly latency: { readonly nGen: number; readonly nPrompt: number; readonly reps: number };
  readonly gpuLayers: number;
}

/**
 * The latencies of a portfolio's variants (`apreqel portfolio profile` on a device of one class):
 * the variant files are blobs in the store, measured in place with llama-bench's rules.
 */
export interface VariantsJob extends JobCommon {
  readonly kind: "variants";
  readonly deviceClass: string;
  readonly variants: readonly { readonly name: string; readonly sha256: string }[];
  readonly latency: { readonly nGen: number; readonly nPrompt: number; readonly reps: number };
  readonly gpuLayers: number;
}

export type FleetJob = CalibrationJob | UniformJob | ProbeJob | LatencyJob | VariantsJob;
export type FleetJobKind = FleetJob["kind"];
export const JOB_KINDS: readonly FleetJobKind[] = ["calibration", "uniform", "probe", "latency", "variants"];

/** A payload that is not a job this version runs: never retried (the payload will not change). */
export class JobPayloadError extends Error {
  override readonly name = "JobPayloadError";
}

const HEX64 = /^[0-9a-f]{64}$/;
// a base name: no separators, no NUL, not "." or ".."; what a calibration file may be called
const BASENAME = /^(?!\.\.?$)[^/\\\0]{1,255}$/;
// ggml type names and unit names (blk.N.attn, blk.0.ffn_up.weight, token_embd.weight): dotted words
const NAME = /^[A-Za-z0-9_.+-]{1,128}$/;
/** A device class: what a queue is named after. */
export const DEVICE_CLASS = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a payload against the job schema and returns it typed; throws JobPayloadError naming the
 * first field that is wrong. Unknown fields are refused too (a newer coordinator's job is not
 * half-run by an older worker).
 *
 * @example
 * parseJob({ v: 1, kind: "uniform", model: "ab…", modelName: "m.gguf", threads: 1, needs: [], type: "q4_K", uniform: { nonLayerType: "q8_0", imatrix: { from: "none" } } }).kind // "uniform"
 * parseJob({ ...job, model: "../../etc/passwd" }) // throws JobPayloadError: job.model: expected a sha256 …
 */
export function parseJob(value: unknown): FleetJob {
  const o = record(value, "job");
  const kind = oneOf(o["kind"], "job.kind", JOB_KINDS);
  const common = {
    v: oneOf(o["v"], "job.v", [1] as const),
    model: hex(o["model"], "job.model"),
    modelName: str(o["modelName"], "job.modelName", BASENAME),
    threads: int(o["threads"], "job.threads", 0, 4096),
    build: str(o["build"], "job.build", /^[0-9a-f]{16}$/),
    needs: list(o["needs"], "job.needs", 100_000).map((x, i) => hex(x, `job.needs[${i}]`)),
  };
  const fields = ["kind", "v", "model", "modelName", "threads", "build", "needs"];
  switch (kind) {
    case "calibration":
      exact(o, [...fields, "calibration", "nCtx"]);
      return { ...common, kind, calibration: textRef(o["calibration"], "job.calibration"), nCtx: int(o["nCtx"], "job.nCtx", 8, 1 << 20) };
    case "uniform":
      exact(o, [...fields, "type", "uniform"]);
      return { ...common, kind, type: str(o["type"], "job.type", NAME), uniform: uniformRef(o["uniform"], "job.uniform") };
    case "probe": {
      exact(o, [...fields, "granularity", "units", "types", "cells", "calibration", "nCtx", "chunks", "uniform"]);
      const types = list(o["types"], "job.types", 64).map((x, i) => str(x, `job.types[${i}]`, NAME));
      if (types.length === 0) throw new JobPayloadError("job.types: expected at least one type");
      const units = list(o["units"], "job.units", 100_000).map((x, i) => str(x, `job.units[${i}]`, NAME));
      if (units.length === 0) throw new JobPayloadError("job.units: expected at least one unit");
      // absent (a coordinator before cells existed) or null: every cell
      const cells = o["cells"] === undefined || o["cells"] === null
        ? null
        : list(o["cells"], "job.cells", 1_000_000).map((x, i) => {
            const pair = list(x, `job.cells[${i}]`, 2);
            if (pair.length !== 2) throw new JobPayloadError(`job.cells[${i}]: expected [unit index, type index]`);
            return [int(pair[0], `job.cells[${i}][0]`, 0, units.length - 1), int(pair[1], `job.cells[${i}][1]`, 0, types.length - 1)] as const;
          });
      return {
        ...common,
        kind,
        granularity: oneOf(o["granularity"], "job.granularity", GRANULARITIES),
        units,
        types,
        cells,
        calibration: textRef(o["calibration"], "job.calibration"),
        nCtx: int(o["nCtx"], "job.nCtx", 8, 1 << 20),
        chunks: o["chunks"] === null ? null : int(o["chunks"], "job.chunks", 1, 1 << 20),
        uniform: uniformRef(o["uniform"], "job.uniform"),
      };
    }
    case "variants": {
      exact(o, [...fields, "deviceClass", "variants", "latency", "gpuLayers"]);
      const variants = list(o["variants"], "job.variants", 1000).map((x, i) => {
        const v = record(x, `job.variants[${i}]`);
        exact(v, ["name", "sha256"], `job.variants[${i}]`);
        return { name: str(v["name"], `job.variants[${i}].name`, NAME), sha256: hex(v["sha256"], `job.variants[${i}].sha256`) };
      });
      if (variants.length === 0) throw new JobPayloadError("job.variants: expected at least one variant");
      return { ...common, kind, deviceClass: str(o["deviceClass"], "job.deviceClass", DEVICE_CLASS), variants, latency: latencySettings(o["latency"]), gpuLayers: int(o["gpuLayers"], "job.gpuLayers", -1, 100_000) };
    }
    case "latency": {
      exact(o, [...fields, "deviceClass", "types", "uniform", "latency", "gpuLayers"]);
      const types = list(o["types"], "job.types", 64).map((x, i) => str(x, `job.types[${i}]`, NAME));
      if (types.length === 0) throw new JobPayloadError("job.types: expected at least one type");
      return {
        ...common,
        kind,
        deviceClass: str(o["deviceClass"], "job.deviceClass", DEVICE_CLASS),
        types,
        uniform: uniformRef(o["uniform"], "job.uniform"),
        latency: latencySettings(o["latency"]),
        gpuLayers: int(o["gpuLayers"], "job.gpuLayers", -1, 100_000),
      };
    }
  }
}

function latencySettings(value: unknown): { nGen: number; nPrompt: number; reps: number } {
  const l = record(value, "job.latency");
  exact(l, ["nGen", "nPrompt", "reps"], "job.latency");
  return { nGen: int(l["nGen"], "job.latency.nGen", 1, 1 << 20), nPrompt: int(l["nPrompt"], "job.latency.nPrompt", 0, 1 << 20), reps: int(l["reps"], "job.latency.reps", 1, 1000) };
}

function textRef(value: unknown, where: string): TextRef {
  const o = record(value, where);
  exact(o, ["sha256", "name"], where);
  return { sha256: hex(o["sha256"], `${where}.sha256`), name: o["name"] === null ? null : str(o["name"], `${where}.name`, BASENAME) };
}

function uniformRef(value: unknown, where: string): UniformRef {
  const o = record(value, where);
  exact(o, ["nonLayerType", "imatrix"], where);
  const m = record(o["imatrix"], `${where}.imatrix`);
  const from = oneOf(m["from"], `${where}.imatrix.from`, ["none", "calibration", "file"] as const);
  let imatrix: ImatrixRef;
  if (from === "none") {
    exact(m, ["from"], `${where}.imatrix`);
    imatrix = { from };
  } else if (from === "calibration") {
    exact(m, ["from", "calibration", "nCtx"], `${where}.imatrix`);
    imatrix = { from, calibration: textRef(m["calibration"], `${where}.imatrix.calibration`), nCtx: int(m["nCtx"], `${where}.imatrix.nCtx`, 8, 1 << 20) };
  } else {
    exact(m, ["from", "sha256"], `${where}.imatrix`);
    imatrix = { from, sha256: hex(m["sha256"], `${where}.imatrix.sha256`) };
  }
  return { nonLayerType: str(o["nonLayerType"], `${where}.nonLayerType`, NAME), imatrix };
}

function record(value: unknown, where: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new JobPayloadError(`${where}: expected an object but received ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function exact(o: Readonly<Record<string, unknown>>, allowed: readonly string[], where = "job"): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new JobPayloadError(`${where}: unknown field ${JSON.stringify(extra)}`);
}

function oneOf<T extends string | number>(value: unknown, where: string, valid: readonly T[]): T {
  if (!valid.includes(value as T)) throw new JobPayloadError(`${where}: expected one of ${valid.map((x) => JSON.stringify(x)).join(", ")} but received ${describeValue(value)}`);
  return value as T;
}

function hex(value: unknown, where: string): string {
  if (typeof value !== "string" || !HEX64.test(value)) throw new JobPayloadError(`${where}: expected a sha256 (64 lowercase hex digits) but received ${describeValue(value)}`);
  return value;
}

function str(value: unknown, where: string, pattern: RegExp): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new JobPayloadError(`${where}: expected a name (no path) but received ${describeValue(value)}`);
  return value;
}

function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new JobPayloadError(`${where}: expected an integer from ${min} to ${max} but received ${describeValue(value)}`);
  return value;
}

function list(value: unknown, where: string, max: number): readonly unknown[] {
  if (!Array.isArray(value) || value.length > max) throw new JobPayloadError(`${where}: expected an array of at most ${max} items but received ${describeValue(value)}`);
  return value;
}
