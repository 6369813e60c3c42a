/**
 * The verify step (issue 25, item 7): assemble the chosen mix, measure its KLD on the calibration
 * chunks the Δ table was probed on (one probe-sized pass, far cheaper than the table), fit the
 * correlation term of lib/method/verify.ts on every mix measured so far, re-plan on the corrected
 * costs, and repeat while the choice changes (at most `rounds` measurements). Of the mixes
 * measured, the one kept is the last choice unless an earlier one is no larger and measured no
 * worse, so a re-plan never costs accuracy on the calibration text.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FrontChoice } from "../method/choose.js";
import type { CostTable } from "../method/cost-table.js";
import { paretoFront, type Front, type FrontOptions } from "../method/front.js";
import type { GgmlType } from "../method/types.js";
import { correlatedExcess, fitCorrelation, linearisedDelta, type VerifiedMix } from "../method/verify.js";
import { probeSensitivity } from "../ops/probe.js";
import { calibrationText } from "./sensitivity.js";
import type { Session } from "./session.js";
import type { CalibrationSet } from "./texts.js";

export interface VerifyOptions {
  readonly calibration: CalibrationSet;
  /** as the Δ table was probed: tokens per chunk and chunks */
  readonly nCtx: number;
  readonly chunks?: number;
  readonly threads?: number;
  /** mixes to measure at most (default 2: the first choice and one re-plan) */
  readonly rounds?: number;
  /** the front's bounds, as the first front was built */
  readonly bounds?: FrontOptions["bounds"];
}

export interface VerifiedChoice {
  readonly choice: FrontChoice;
  /** the front the choice is on (the corrected one after a re-plan) */
  readonly front: Front;
  /** every mix measured: its additive estimate, the corrected one at the end, and the measurement (KLD on the calibration chunks) */
  readonly measured: readonly { readonly additive: number; readonly corrected: number; readonly kld: number; readonly sizeBytes: number }[];
  /** the fitted mean correlation of the units' effects */
  readonly rho: number;
  /** the kept choice's estimate with the correlation term (KLD) */
  readonly estimate: number;
}

/** The verify step on a built front (see the module comment); `choose` is the user's choice rule (weights, limits). */
export async function verifyChoice(
  s: Session,
  m: { readonly table: CostTable; readonly front: Front; readonly assemble: (choice: FrontChoice, file: string) => Promise<unknown> },
  choose: (front: Front) => FrontChoice,
  o: VerifyOptions,
): Promise<VerifiedChoice> {
  const table = m.table;
  const fixedKld = table.fixed.kld;
  const deltasOf = (choice: FrontChoice): number[] => table.units.map((u) => u.costs[choice.assignment[u.name]! as GgmlType]!.kld);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "apreqel-verify-"));
  const mixes: VerifiedMix[] = [];
  const tried: { choice: FrontChoice; front: Front; kld: number; additive: number }[] = [];
  try {
    let front = m.front;
    let choice = choose(front);
    const rounds = o.rounds ?? 2;
    for (let round = 0; round < rounds; round++) {
      const file = path.join(dir, `mix-${round}.gguf`);
      await m.assemble(choice, file);
      const r = await probeSensitivity({
        model: file,
        base: s.model,
        text: calibrationText(o.calibration),
        nCtx: o.nCtx,
        ...(o.chunks !== undefined ? { chunks: o.chunks } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        probes: [{ tensors: [] }],
        ...(s.signal ? { signal: s.signal } : {}),
      });
      await fs.rm(file, { force: true });
      const deltas = deltasOf(choice);
      const kld = r.kld[0]!.mean;
      mixes.push({ deltas, measuredExcess: kld - fixedKld });
      tried.push({ choice, front, kld, additive: fixedKld + deltas.reduce((a, d) => a + d, 0) });
      if (round + 1 === rounds) break;
      const rho = fitCorrelation(mixes);
      const rootSum = deltas.reduce((a, d) => a + Math.sqrt(Math.max(0, d)), 0);
      // the surrogate sums to the correlated estimate plus ρS², the same for every mix: taken off
      // every unit's costs in equal parts (the fixed part must stay ≥ 0; a unit's Δ may be negative)
      const offset = (rho * rootSum * rootSum) / table.units.length;
      const corrected: CostTable = {
        ...table,
        units: table.units.map((u) => ({
          ...u,
          costs: Object.fromEntries(Object.entries(u.costs).map(([t, c]) => [t, { ...c!, kld: linearisedDelta(c!.kld, rho, rootSum) - offset }])),
        })),
      };
      front = paretoFront(corrected, o.bounds ? { bounds: o.bounds } : {});
      const next = choose(front);
      if (sameMix(next, choice)) break;
      choice = next;
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const rho = fitCorrelation(mixes);
  const last = tried[tried.length - 1]!;
  // an earlier mix no larger and measured no worse wins over a re-plan that did not pay
  const kept = tried.reduce((best, x) => (x.kld <= best.kld && x.choice.estimate.sizeBytes <= best.choice.estimate.sizeBytes ? x : best), last);
  return {
    choice: kept.choice,
    front: kept.front,
    measured: tried.map((x) => ({ additive: x.additive, corrected: fixedKld + correlatedExcess(deltasOf(x.choice), rho), kld: x.kld, sizeBytes: x.choice.estimate.sizeBytes })),
    rho,
    estimate: fixedKld + correlatedExcess(deltasOf(kept.choice), rho),
  };
}

function sameMix(a: FrontChoice, b: FrontChoice): boolean {
  return Object.entries(a.assignment).every(([unit, t]) => b.assignment[unit] === t);
}
