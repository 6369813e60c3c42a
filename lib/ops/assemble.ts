/**
 * assemble(): a mixed-precision GGUF built by copying each tensor's bytes, unchanged, from the
 * source file chosen for it (e.g. uniformly quantized q4_K and q8_0 files of one model). The
 * metadata comes from `base`. No requantization: it costs about a file copy.
 */
import { invalidOption, unknownName } from "../core/errors.js";
import { requireInputFile, requireOutputPath, writeAtomically } from "../core/files.js";
import { inspect, type ModelInfo } from "./inspect.js";
import { binding } from "../native/binding.js";
import type { JobOptions } from "../core/job-options.js";
import { runJob } from "../native/job.js";
import { requireOptions, requireStringRecord, validateJobOptions } from "../core/validate.js";

export interface AssembleOptions extends JobOptions {
  /** metadata (and any tensor not in `assignment`) comes from this file */
  readonly base: string;
  /** label → GGUF file, e.g. { q4_K: "m-q4_K.gguf", q8_0: "m-q8_0.gguf" } */
  readonly sources: Readonly<Record<string, string>>;
  /** tensor name → source label */
  readonly assignment: Readonly<Record<string, string>>;
  readonly output: string;
  /** extra GGUF metadata to set or replace (labels of what the file is) */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

export interface AssembleResult {
  readonly output: string;
  readonly fileSize: number;
  readonly model: ModelInfo;
  readonly seconds: number;
}

export async function assemble(options: AssembleOptions): Promise<AssembleResult> {
  requireOptions(options, "assemble");
  validateJobOptions(options);
  const base = await requireInputFile(options.base, "base");
  if (typeof options.sources !== "object" || options.sources === null || Array.isArray(options.sources)) {
    throw invalidOption("sources", "an object of label → file", options.sources);
  }
  const labels = Object.keys(options.sources);
  const sourcePaths: string[] = [];
  for (const label of labels) sourcePaths.push(await requireInputFile(options.sources[label], `sources.${label}`));
  const output = await requireOutputPath(options.output, "output", [base, ...sourcePaths]);
  const assignmentOption = requireStringRecord(options.assignment, "assignment", "tensor name → source label");
  if (options.metadata !== undefined) {
    if (typeof options.metadata !== "object" || options.metadata === null || Array.isArray(options.metadata)) {
      throw invalidOption("metadata", "an object of key → string, number or boolean", options.metadata);
    }
    for (const [key, value] of Object.entries(options.metadata)) {
      const ok = typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
      if (!ok) throw invalidOption(`metadata["${key}"]`, "a string, a finite number or a boolean", value);
    }
  }
  const baseInfo = await inspect(base);
  const tensorNames = baseInfo.tensors.map((t) => t.name);
  const assignment: Record<string, number> = {};
  for (const [tensor, label] of Object.entries(assignmentOption)) {
    if (!tensorNames.includes(tensor)) throw unknownName("assignment", "tensor", tensor, tensorNames);
    const index = labels.indexOf(label);
    if (index < 0) throw unknownName(`assignment["${tensor}"]`, "source", label, labels);
    assignment[tensor] = index;
  }

  const started = performance.now();
  return writeAtomically(output, async (temp) => {
    await runJob(options, (job) =>
      binding().assemble({ base, output: temp, sources: sourcePaths, assignment, ...(options.metadata ? { metadata: options.metadata } : {}), ...job }),
    );
    const model = await inspect(temp);
    return { output, fileSize: model.fileSize, model: { ...model, path: output }, seconds: (performance.now() - started) / 1000 };
  });
}
