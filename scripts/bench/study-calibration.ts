// The calibration set of docs/results.md §9 and issue 25's benchmarks: the first 64 paragraphs of wiki.valid.
import { createHash } from "node:crypto";
import { readCalibration, type CalibrationSet } from "../../lib/pipeline/texts.js";

export async function studyCalibration(file: string): Promise<CalibrationSet> {
  const all = await readCalibration(file);
  const prompts = all.prompts.slice(0, 64);
  return { ...all, prompts, sha256: createHash("sha256").update(JSON.stringify(prompts)).digest("hex") };
}
