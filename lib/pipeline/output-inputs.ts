/**
 * The files a pipeline run reads, for checking its output against (issue 22): the library
 * refuses `output` naming any of them exactly as the command line does, not only the model.
 */
import type { InputRef } from "../core/files.js";
import type { CalibrationSet, EvalText } from "./texts.js";

/**
 * The model, the importance matrix, the calibration and evaluation texts (when they are files).
 *
 * @example
 * runInputs("m.gguf", { imatrix: { path: "im.gguf", sha256 }, score: { calibration } }) // [{ path: "m.gguf", option: "model" }, { path: "im.gguf", option: "imatrix" }, …]
 */
export function runInputs(
  model: string,
  o: {
    readonly imatrix?: { readonly path: string };
    readonly score?: { readonly calibration?: CalibrationSet };
    readonly accuracy?: { readonly evalText?: EvalText };
  },
): InputRef[] {
  const out: InputRef[] = [{ path: model, option: "model" }];
  if (o.imatrix !== undefined) out.push({ path: o.imatrix.path, option: "imatrix" });
  const calibration = o.score?.calibration?.source;
  if (calibration?.kind === "file") out.push({ path: calibration.path, option: "calibration" });
  const evalText = o.accuracy?.evalText?.source;
  if (evalText?.kind === "file") out.push({ path: evalText.path, option: "evalText" });
  return out;
}
