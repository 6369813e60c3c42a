/**
 * The ceremony a run on one model repeats, written once: claim the outputs (each checked against
 * every input and the others, and locked: core/files.ts), open the session (its preflight checks
 * get the job and its signal, before the model is hashed: session.ts), run, and release the claims
 * whatever happens. Every command of the CLI (through cli/pipeline-options' withSession) and the
 * library's entry points run through it.
 */
import { withClaimedOutputs, type InputRef, type OutputClaim } from "../core/files.js";
import { openSession, type Session, type SessionOptions } from "./session.js";

export interface ModelRun extends SessionOptions {
  /** the files the run writes, claimed before any work */
  readonly outputs: readonly OutputClaim[];
  /** the files it reads besides the model (no output may be one of them) */
  readonly inputs?: readonly InputRef[];
  /** outputs may replace files apreqel did not write */
  readonly force?: boolean;
  /** how refusals name the model: the CLI's `MODEL`, the library's option `model` (the default) */
  readonly modelOption?: string;
}

/**
 * Runs `work` on the session of `run.model` with its outputs claimed (their absolute paths, in
 * the order given). What `work` writes to those paths is covered by the claim until it returns.
 *
 * @example
 * await runOnModel({ model: "m.gguf", outputs: [{ path: "mix.gguf", option: "output", kind: "gguf" }] }, (s, [out]) => quantizeModel(s, { output: out! }));
 */
export function runOnModel<T>(run: ModelRun, work: (s: Session, outputs: readonly string[]) => Promise<T>): Promise<T> {
  const { outputs, inputs = [], force = false, modelOption = "model", ...session } = run;
  return withClaimedOutputs(outputs, [{ path: run.model, option: modelOption }, ...inputs], { force }, async (paths) => work(await openSession(session), paths));
}
