/**
 * Runs one long native call with the conventions every such call shares: AbortSignal (an
 * Int32Array flag the worker thread polls), progress callbacks, and errors as JS Errors.
 */
import { AbortError } from "../errors.js";
import type { RawJobOptions } from "./binding.js";

export interface JobOptions {
  /** Aborts the call; the promise then rejects with an AbortError and no output is left behind. */
  readonly signal?: AbortSignal;
  /** Called on the main thread with the fraction done (0..1), at most once per event-loop turn. */
  readonly onProgress?: (fraction: number) => void;
}

export async function runJob<T>(options: JobOptions, start: (raw: RawJobOptions) => Promise<T>): Promise<T> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const cancelFlag = new Int32Array(1);
  const onAbort = () => Atomics.store(cancelFlag, 0, 1);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await start({ cancelFlag, ...(onProgress ? { onProgress } : {}) });
  } catch (e) {
    if (signal?.aborted || (e as { code?: string }).code === "ABORT_ERR") {
      throw new AbortError(undefined, { cause: signal?.reason });
    }
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
