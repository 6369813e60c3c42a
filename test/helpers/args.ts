/**
 * The small settings the CLI tests run the pipeline with (the pipeline's behaviour, not its numbers,
 * is under test): one list instead of a copy per test file, and overrides by name instead of
 * editing the copy's elements.
 *
 * @example
 * pipelineArgs({ cacheDir, calibration, evalText, types: "q8_0,q4_K" })
 * // ["--cache-dir", cacheDir, "--calibration", calibration, "--eval-text", evalText, "--ctx", "64", "--n-gen", "4", "--n-prompt", "0", "--reps", "1", "--threads", "2", "--types", "q8_0,q4_K"]
 */
export interface PipelineArgs {
  readonly cacheDir?: string;
  readonly calibration?: string;
  readonly evalText?: string;
  /** default 64 */
  readonly ctx?: number;
  /** latency: generated tokens (default 4), prompt tokens (default 0), rounds (default 1) */
  readonly nGen?: number;
  readonly nPrompt?: number;
  readonly reps?: number;
  /** default 2 */
  readonly threads?: number;
  readonly types?: string;
}

export function pipelineArgs(o: PipelineArgs = {}): string[] {
  return [
    ...(o.cacheDir !== undefined ? ["--cache-dir", o.cacheDir] : []),
    ...(o.calibration !== undefined ? ["--calibration", o.calibration] : []),
    ...(o.evalText !== undefined ? ["--eval-text", o.evalText] : []),
    "--ctx", String(o.ctx ?? 64),
    "--n-gen", String(o.nGen ?? 4),
    "--n-prompt", String(o.nPrompt ?? 0),
    "--reps", String(o.reps ?? 1),
    "--threads", String(o.threads ?? 2),
    ...(o.types !== undefined ? ["--types", o.types] : []),
  ];
}
