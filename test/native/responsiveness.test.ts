import { readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { quantize } from "../../lib/ops/quantize.js";
import { slowModel } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/tmp.js";
import { slow } from "../helpers/machine-speed.js";

const dir = tempDir();
let model: string;

beforeAll(async () => {
  model = await slowModel();
}, slow(600_000));

describe("long native calls stay off the event loop", () => {
  it("a timer keeps firing while quantize runs; abort stops it within a second and leaves no file", async () => {
    const controller = new AbortController();
    let last = performance.now();
    let maxLag = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 10);
      last = now;
      ticks++;
    }, 10);
    let progressed = 0;
    const run = quantize({
      input: model,
      output: path.join(dir, "aborted.gguf"),
      type: "q6_K",
      threads: 2,
      signal: controller.signal,
      onProgress: (f) => (progressed = f),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const abortedAt = performance.now();
    controller.abort();
    const err = await run;
    const stoppedAfter = performance.now() - abortedAt;
    clearInterval(timer);
    expect(progressed).toBeGreaterThan(0);
    expect(progressed).toBeLessThan(1); // still running when aborted
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("AbortError");
    expect(stoppedAfter).toBeLessThan(1000);
    expect(ticks).toBeGreaterThan(100);
    expect(maxLag).toBeLessThan(50);
    expect(readdirSync(dir)).toEqual([]); // neither the output nor a temp file
  });
});
