/**
 * quantize(): uniform (pure) quantization to one ggml type, or llama.cpp's own presets, with
 * exact per-tensor overrides. Written atomically; reports the type each tensor actually got
 * (llama.cpp falls back to another type where a tensor's rows do not fit the requested one).
 */
import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { invalidOption, unknownName } from "../core/errors.js";
import { requireInputFile, requireOutputPath, writeAtomically } from "../core/files.js";
import { ggmlTypes, quantizePresets, quantizeTypes, requireGgmlType } from "./ggml-types.js";
import { checkImatrix } from "./imatrix-check.js";
import { inspect } from "./inspect.js";
import { binding } from "../native/binding.js";
import { runJob } from "../native/job.js";
import type { RunOptions } from "./run-options.js";
import { optionalBoolean, requireInt, requireOptions, requireStringRecord, validateJobOptions } from "../core/validate.js";

/** What to quantize to: a pure ggml type (every quantizable tensor) or a llama.cpp preset mix. */
export type QuantizeTarget =
  | { readonly type: string; readonly preset?: undefined }
  | { readonly preset: string; readonly type?: undefined };

export type QuantizeOptions = QuantizeTarget &
  RunOptions & {
    readonly input: string;
    readonly output: string;
    /** exact tensor name → ggml type; applied after the target's own choice */
    readonly overrides?: Readonly<Record<string, string>>;
    readonly tokenEmbeddingType?: string;
    readonly outputType?: string;
    /** GGUF importance matrix from llama-imatrix */
    readonly imatrix?: string;
    /** replace an existing output that is not a file apreqel wrote (default: refused, as the CLI without --force) */
    readonly force?: boolean;
    /** allow quantizing tensors that are already quantized (quality loss) */
    readonly allowRequantize?: boolean;
  };

export interface QuantizedTensor {
  readonly name: string;
  readonly type: string;
  readonly bytes: number;
}

export interface QuantizeResult {
  readonly output: string;
  readonly fileSize: number;
  readonly tensors: readonly QuantizedTensor[];
  readonly seconds: number;
}

export async function quantize(options: QuantizeOptions): Promise<QuantizeResult> {
  requireOptions(options, "quantize");
  validateJobOptions(options);
  const input = await requireInputFile(options.input, "input");
  // the importance matrix is an input too: `output: X, imatrix: X` would replace it (issue 22)
  const inputs = [{ path: input, option: "input" }, ...(typeof options.imatrix === "string" ? [{ path: options.imatrix, option: "imatrix" }] : [])];
  const output = await requireOutputPath(options.output, "output", inputs, { force: optionalBoolean(options.force, "force") === true });
  if ((options.type === undefined) === (options.preset === undefined)) {
    throw invalidOption("type", "exactly one of type or preset", { type: options.type, preset: options.preset });
  }
  const { type, preset } = options as { type?: unknown; preset?: unknown };
  if (type !== undefined && typeof type !== "string") throw invalidOption("type", 'a quantization type name such as "q4_K"', type);
  if (preset !== undefined && typeof preset !== "string") throw invalidOption("preset", 'a llama.cpp preset name such as "Q4_K_M"', preset);
  if (options.type !== undefined && !quantizeTypes().includes(options.type)) {
    throw unknownName("type", "quantization type", options.type, quantizeTypes());
  }
  if (options.preset !== undefined && !quantizePresets().includes(options.preset)) {
    throw unknownName("preset", "llama.cpp preset", options.preset, quantizePresets());
  }
  const types = [...ggmlTypes().keys()];
  if (options.tokenEmbeddingType !== undefined) requireGgmlType(options.tokenEmbeddingType, "tokenEmbeddingType", types);
  if (options.outputType !== undefined) requireGgmlType(options.outputType, "outputType", types);
  if (options.threads !== undefined) requireInt(options.threads, "threads", 0);
  optionalBoolean(options.allowRequantize, "allowRequantize");
  const imatrix = options.imatrix === undefined ? undefined : await requireInputFile(options.imatrix, "imatrix");
  const overrides = options.overrides === undefined ? {} : requireStringRecord(options.overrides, "overrides", "tensor name → ggml type");
  const info = imatrix !== undefined || Object.keys(overrides).length > 0 ? await inspect(input) : undefined;
  // another model's matrix, or one with counts ≤ 0, is refused here as the CLI refuses it: llama.cpp
  // would quantize with it silently (issue 22); tensors it does not cover go unweighted, as llama.cpp does
  if (imatrix !== undefined) await checkImatrix(info!, imatrix, "imatrix");
  if (Object.keys(overrides).length > 0) {
    const names = new Set(info!.tensors.map((t) => t.name));
    for (const [name, type] of Object.entries(overrides)) {
      if (!names.has(name)) throw unknownName("overrides", "tensor", name, [...names]);
      requireGgmlType(type, `overrides["${name}"]`, types);
    }
  }

  const started = performance.now();
  return writeAtomically(output, async (temp) => {
    await runJob(options, (job) =>
      binding().quantize({
        input,
        output: temp,
        ...(options.type !== undefined ? { type: options.type } : { preset: options.preset! }),
        overrides,
        ...(options.tokenEmbeddingType !== undefined ? { tokenEmbeddingType: options.tokenEmbeddingType } : {}),
        ...(options.outputType !== undefined ? { outputType: options.outputType } : {}),
        ...(imatrix !== undefined ? { imatrix } : {}),
        threads: options.threads ?? 0,
        allowRequantize: options.allowRequantize ?? false,
        ...job,
      }),
    );
    const written = await inspect(temp);
    return {
      output,
      fileSize: written.fileSize,
      tensors: written.tensors.map((t) => ({ name: t.name, type: t.type, bytes: t.bytes })),
      seconds: (performance.now() - started) / 1000,
    };
  });
}

/** The types a quantization would give each tensor, and the exact bytes of the file it would write. */
export interface QuantizePlan {
  readonly tensors: readonly { readonly name: string; readonly type: string }[];
  readonly fileBytes: number;
}

/**
 * What `quantize({ input, preset })` (or `type`) would write, without quantizing or writing:
 * llama.cpp's own dry run (`llama_model_quantize_params.dry_run`) decides each tensor's type as
 * the real run would, and the file's bytes follow from the header it would build and each
 * tensor's rows at its type. Seconds for any model: no tensor data is read.
 *
 * @example
 * (await quantizePlan({ input: "model-f16.gguf", preset: "Q4_K_M" })).fileBytes // the bytes `quantize({ …, preset: "Q4_K_M" })` writes
 */
export async function quantizePlan(options: QuantizeTarget & RunOptions & { readonly input: string }): Promise<QuantizePlan> {
  requireOptions(options, "quantizePlan");
  validateJobOptions(options);
  const input = await requireInputFile(options.input, "input");
  if ((options.type === undefined) === (options.preset === undefined)) {
    throw invalidOption("type", "exactly one of type or preset", { type: options.type, preset: options.preset });
  }
  if (options.type !== undefined && !quantizeTypes().includes(options.type)) throw unknownName("type", "quantization type", options.type, quantizeTypes());
  if (options.preset !== undefined && !quantizePresets().includes(options.preset)) throw unknownName("preset", "llama.cpp preset", options.preset, quantizePresets());
  if (options.threads !== undefined) requireInt(options.threads, "threads", 0);
  // nothing is written: the output path is only llama.cpp's name for a file it does not open (a
  // temporary name all the same, removed after, so an addon built before dry runs leaves nothing)
  const output = path.join(os.tmpdir(), `apreqel-dry-run-${process.pid}-${randomUUID()}.gguf`);
  try {
    const plan: unknown = await runJob(options, (job) =>
      binding().quantize({
        input,
        output,
        ...(options.type !== undefined ? { type: options.type } : { preset: options.preset! }),
        threads: options.threads ?? 0,
        dryRun: true,
        ...job,
      }),
    );
    if (typeof plan !== "object" || plan === null || typeof (plan as QuantizePlan).fileBytes !== "number") {
      throw new Error("this build of apreqel's addon has no quantize dry run: rebuild it (npm run build, or npx apreqel build)");
    }
    return plan as QuantizePlan;
  } finally {
    await fs.rm(output, { force: true });
  }
}
