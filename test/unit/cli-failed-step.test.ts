// Every pipeline command runs through cli/pipeline-options' withSession/withProgress: the step
// that was running when the work failed is shown as failed, never as done (issue 11: profile,
// score, sweep and eval used to print "done" for it). The pipeline is replaced by fakes that
// finish one step and fail in the next, so no addon and no model is needed.
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionOptions } from "../../lib/pipeline/session.js";
import { tempDir } from "../helpers/tmp.js";
import { capturePlainStderr } from "../helpers/stderr.js";

const failure = new Error("the disk is full");

/** Reports one step to completion and fails inside the next, as a real pipeline step would. */
async function failInSecondStep(onStep: ((step: string, fraction: number) => void) | undefined): Promise<never> {
  onStep?.("uniform q4_K", 0.5);
  onStep?.("uniform q4_K", 1);
  onStep?.("measure q4_K", 0.4);
  throw failure;
}

vi.mock("../../lib/pipeline/session.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../lib/pipeline/session.js")>()),
  openSession: async (o: SessionOptions) => ({ model: o.model, onStep: o.onStep, signal: o.signal }),
}));
vi.mock("../../lib/pipeline/profile.js", () => ({ profileModel: (s: { onStep?: never }) => failInSecondStep(s.onStep) }));
vi.mock("../../lib/pipeline/scores.js", () => ({ scoreLayers: (s: { onStep?: never }) => failInSecondStep(s.onStep) }));
vi.mock("../../lib/pipeline/sweep.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../lib/pipeline/sweep.js")>()),
  sweep: (s: { onStep?: never }) => failInSecondStep(s.onStep),
}));
vi.mock("../../lib/pipeline/adaptive.js", () => ({ quantizeAdaptive: (s: { onStep?: never }) => failInSecondStep(s.onStep) }));
// quantize's default method is the front
vi.mock("../../lib/pipeline/front.js", () => ({ quantizeFront: (s: { onStep?: never }) => failInSecondStep(s.onStep) }));
vi.mock("../../lib/pipeline/evaluate.js", () => ({
  evaluate: async (o: { onStep?: never }) => {
    if (path.basename((o as unknown as { models: string[] }).models[0]!) === "ok.gguf") return [];
    return failInSecondStep(o.onStep);
  },
}));

const dir = tempDir();
// plain lines, as when stderr is a file: what a CI log or a pipe shows
const stderr = capturePlainStderr();
beforeEach(() => void vi.spyOn(console, "log").mockImplementation(() => undefined));

const model = path.join(dir, "model.gguf");
const commands: [string, () => Promise<{ run(argv: readonly string[]): Promise<number> }>, string[]][] = [
  ["profile", () => import("../../lib/cli/profile.js"), [model, "-o", path.join(dir, "profile.json")]],
  ["score", () => import("../../lib/cli/score.js"), [model, "-o", path.join(dir, "scores.json")]],
  ["sweep", () => import("../../lib/cli/sweep.js"), [model, "--out-dir", path.join(dir, "sweep")]],
  ["eval", () => import("../../lib/cli/eval.js"), [model]],
  ["quantize", () => import("../../lib/cli/quantize.js"), [model, "-o", path.join(dir, "mixed.gguf")]],
];

describe("a failing step is reported as failed", () => {
  it.each(commands)("%s", async (_name, load, argv) => {
    const command = await load();
    await expect(command.run(argv)).rejects.toBe(failure);
    // quantize numbers its steps ("[2/17, ETA 1m05s] measure q4_K"): the step itself is what is checked here
    const lines = stderr().split("\n").map((l) => l.replace(/^\[\d+\/\d+(, ETA [^\]]+)?\] /, ""));
    if (_name === "quantize") expect(stderr()).toMatch(/^\[1\/\d+\] uniform q4_K: started$/m);
    expect(lines).toContain("uniform q4_K: started");
    expect(lines.some((l) => l.startsWith("uniform q4_K: done in "))).toBe(true);
    expect(lines).toContain("measure q4_K: started");
    expect(lines.some((l) => l.startsWith("measure q4_K: failed after "))).toBe(true);
    expect(lines.some((l) => l.startsWith("measure q4_K: done"))).toBe(false);
  });

  it("and work that succeeds leaves no step marked failed", async () => {
    const { run } = await import("../../lib/cli/eval.js");
    await expect(run([path.join(dir, "ok.gguf")])).resolves.toBe(0);
    expect(stderr()).not.toMatch(/failed/);
  });
});
