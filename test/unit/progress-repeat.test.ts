// withProgress on plain lines: a step answered again from the cache after it was shown done (each
// probe round looks the uniform files up again) is not shown again, and the step it interrupted
// goes on in its one line (issue 26: a default quantize printed some 100 "quantize q8_0: done in 0s").
import { describe, expect, it } from "vitest";
import { withProgress } from "../../lib/cli/pipeline-options.js";
import { capturePlainStderr } from "../helpers/stderr.js";

const stderr = capturePlainStderr();

describe("progress lines of a step that comes back", () => {
  it("a cache hit of a step shown before is not shown; the interrupted step keeps its line", async () => {
    await withProgress(false, async (onStep) => {
      onStep("quantize q8_0", 0.5);
      onStep("quantize q8_0", 1);
      onStep("sensitivity probes", 0.3);
      onStep("quantize q8_0", 1); // looked up again between rounds: a hit
      onStep("sensitivity probes", 0.6);
      onStep("quantize q4_K", 1); // a first hit is shown: it is news
      onStep("front", 1);
    });
    const lines = stderr().trim().split("\n");
    expect(lines.filter((l) => l.startsWith("quantize q8_0: started"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("sensitivity probes: started"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("sensitivity probes: done"))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith("sensitivity probes: 60%"))).toBe(true);
    expect(lines.filter((l) => l.startsWith("quantize q4_K: started"))).toHaveLength(1);
  });
});
