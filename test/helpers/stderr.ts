import { afterEach, beforeEach, vi } from "vitest";

/**
 * For every test of the file that calls it: stderr as plain lines (not a TTY: what a CI log or a
 * pipe shows), captured instead of printed. Returns what the running test has written so far.
 *
 * @example
 * const stderr = capturePlainStderr();
 * it("…", async () => { await withProgress(false, …); expect(stderr()).toMatch(/done/); });
 */
export function capturePlainStderr(): () => string {
  let text = "";
  const wasTTY = process.stderr.isTTY;
  beforeEach(() => {
    text = "";
    (process.stderr as { isTTY?: boolean }).isTTY = false;
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    (process.stderr as { isTTY?: boolean }).isTTY = wasTTY;
  });
  return () => text;
}
