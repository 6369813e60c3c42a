/**
 * apreqel: adaptive mixed-precision quantization of GGUF models. The package's front door: what a
 * Node program needs to get exactly what the CLI gives (the CLI is a parser over these calls).
 *
 * - a session on a source model (`openSession`), one set of defaults (`DEFAULTS`, `resolveSettings`),
 *   one quantize entry (`quantizeModel`, and `presetSize` for "the size of Q4_K_M");
 * - the other commands' steps: `profileModel`, `scoreLayers`, `sweep`, `evaluate`;
 * - a portfolio of mixes, its runtime `pick` and the `AdaptiveModel` that swaps them;
 * - the HTML report, and the error classes every call throws.
 *
 * The pure method is `apreqel/method`; one function per native call is `apreqel/ops`.
 */
export { openSession, type Session, type SessionOptions, type StepReporter } from "./pipeline/session.js";
export { DEFAULTS, resolveSettings, type Limits, type MethodName, type RunWeights, type Settings, type SettingsOptions } from "./pipeline/settings.js";
export { presetSize, quantizeFile, quantizeModel, type QuantizeFileOptions, type QuantizeModelOptions, type QuantizeModelResult } from "./pipeline/quantize-model.js";
export type { FrontResult } from "./pipeline/front.js";
export type { AdaptiveResult } from "./pipeline/adaptive.js";
export { readCalibration, readEvalText, type CalibrationSet, type EvalText } from "./pipeline/texts.js";
export { profileModel, type ProfileOptions } from "./pipeline/profile.js";
export { scoreLayers, type ScoreOptions, type ScoreResult } from "./pipeline/scores.js";
export { sweep, type SweepOptions, type SweepResult } from "./pipeline/sweep.js";
export { evaluate, type EvaluateOptions } from "./pipeline/evaluate.js";
export type { MeasuredModel } from "./pipeline/measure-file.js";
export { buildPortfolio, type BuildPortfolioOptions, type BuildPortfolioResult } from "./portfolio/build.js";
export { readPortfolio } from "./portfolio/write.js";
export { profilePortfolio } from "./portfolio/profile.js";
export type { PortfolioManifest, Variant } from "./portfolio/manifest.js";
// the runtime choice of a variant (portfolio/choose.ts), named for what the CLI calls it
export { choose as pick, NoVariantFitsError, type Choice, type DeviceState, type PickLimits, type PickPolicy } from "./portfolio/choose.js";
export { AdaptiveModel, nodeLlamaCppLoader, type AdaptiveModelOptions } from "./portfolio/adaptive-model.js";
export { adaptiveReport, frontReport, sweepReport, writeReport, type WriteReportOptions } from "./report/index.js";
export { AbortError, InputError, OptionError } from "./core/errors.js";
export { InfeasibleConstraintsError, MethodInputError } from "./method/errors.js";
export type { JobOptions } from "./core/job-options.js";
