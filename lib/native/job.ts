/**
 * Runs one long native call with the conventions every such call shares: AbortSignal (an
 * Int32Array flag the worker thread polls), progress callbacks, and errors as JS Errors.
 */
import { AbortError } from "../core/errors.js";
import type { JobOptions } from "../core/job-options.js";
import type { RawJobOptions } from "./binding.js";

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
