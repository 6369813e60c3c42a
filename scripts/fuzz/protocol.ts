// What the fuzzer's child (run-case.ts) reports to its parent, on one stdout line.
export const RESULT_MARK = "FUZZ-RESULT ";

export interface CallOutcome {
  readonly ok: boolean;
  /** for rejections: whether the value was an Error, its name and message */
  readonly error?: boolean;
  readonly name?: string;
  readonly message?: string;
  readonly ms: number;
}

export interface CaseResult {
  readonly calls: Record<string, CallOutcome>;
  /** the child's peak resident memory (VmHWM), in KiB */
  readonly maxRssKb: number;
}

export const CALLS = ["inspect", "quantize", "assemble", "captureSimilarity", "perplexity"] as const;
