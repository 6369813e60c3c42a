/** What every long call accepts (native work off the event loop; see lib/native/job.ts). */
export interface JobOptions {
  /** Aborts the call; the promise then rejects with an AbortError and no output is left behind. */
  readonly signal?: AbortSignal;
  /** Called on the main thread with the fraction done (0..1), at most once per event-loop turn. */
  readonly onProgress?: (fraction: number) => void;
}
