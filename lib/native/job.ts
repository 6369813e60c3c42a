/**
 * Runs one long native call with the conventions every such call shares: AbortSignal (an
 * Int32Array flag the worker thread polls), progress callbacks, and errors as JS Errors. A
 * progress callback that throws stops the call (through the same flag), which then rejects with
 * what the callback threw: the native side never sees the exception, so it is never dropped.
 */
import { AbortError, InputError } from "../core/errors.js";
import type { JobOptions } from "../core/job-options.js";
import type { RawJobOptions } from "./binding.js";

/** The native side's wording for a file that is not a readable GGUF (native/gguf_file.cpp, native/validate.h). */
const BAD_GGUF = / is not a valid GGUF file: | is empty, not a GGUF file$|lies outside the file \(truncated or corrupt GGUF\)/;

export async function runJob<T>(options: JobOptions, start: (raw: RawJobOptions) => Promise<T>): Promise<T> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const cancelFlag = new Int32Array(1);
  const onAbort = () => Atomics.store(cancelFlag, 0, 1);
  signal?.addEventListener("abort", onAbort, { once: true });
  let thrown: { readonly error: unknown } | undefined;
  const report = (fraction: number): void => {
    if (thrown !== undefined) return;
    try {
      onProgress!(fraction);
    } catch (error) {
      thrown = { error };
      onAbort();
    }
  };
  try {
    const result = await start({ cancelFlag, ...(onProgress ? { onProgress: report } : {}) });
    // finished before it saw the flag: the caller's callback still failed, so the call did
    if (thrown !== undefined) throw thrown.error;
    return result;
  } catch (e) {
    if (thrown !== undefined) throw thrown.error;
    if (signal?.aborted || (e as { code?: string }).code === "ABORT_ERR") {
      throw new AbortError(undefined, { cause: signal?.reason });
    }
    // a file that is not a GGUF (or a corrupt one) is the user's input: exit 2, as README promises (issue 26)
    if (e instanceof Error && !(e instanceof InputError) && BAD_GGUF.test(e.message)) throw Object.assign(new InputError(e.message), { stack: e.stack });
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
