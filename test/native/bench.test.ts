import { describe, expect, it } from "vitest";
import { inspect } from "../../lib/ops/inspect.js";
import { bench, meanSd } from "../../lib/ops/bench.js";
import { fixtureModel } from "../helpers/fixtures.js";

describe("bench", () => {
  it("times pp and tg per repetition and reports the exact parameter bytes", async () => {
    const model = await fixtureModel();
    const r = await bench({ model, nGen: 8, nPrompt: 64, reps: 3, threads: 2 });
    expect(r.tg?.repetitionsMs).toHaveLength(3);
    expect(r.pp?.repetitionsMs).toHaveLength(3);
    expect(r.tg!.msPerToken.mean).toBeGreaterThan(0);
    // ms/token is total time / tokens per repetition, averaged over repetitions
    expect(r.tg!.msPerToken.mean).toBeCloseTo(meanSd(r.tg!.repetitionsMs.map((ms) => ms / 8)).mean, 9);
    const info = await inspect(model);
    expect(r.modelBytes).toBe(info.tensors.reduce((a, t) => a + t.bytes, 0));
    expect(r.peakRssBytes).toBeGreaterThan(r.modelBytes);
  });

  it("meanSd uses the sample standard deviation", () => {
    // hand-worked: mean of 2, 4, 4, 4, 5, 5, 7, 9 is 5; Σ(x−5)² = 32; 32 / 7 → sd 2.138089935
    const r = meanSd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(r.mean).toBe(5);
    expect(r.sd).toBeCloseTo(2.138089935, 9);
  });
});
