/**
 * --redis URL and --store DIR: the commands that run the pipeline hand their cacheable steps to a
 * fleet of `apreqel worker`s (lib/fleet) instead of computing them here. Without --redis nothing
 * here loads bullmq.
 */
import { OptionError } from "../core/errors.js";
import { formatDuration } from "./progress.js";
import type { CommandContext } from "./args.js";
import type { Coordinator, FleetProgress } from "../fleet/coordinator.js";
import type { GgmlType } from "../method/types.js";
import type { Session } from "../pipeline/session.js";
import type { PipelineSettings, sensitivitySettings } from "./pipeline-options.js";
import { DEFAULT_CTX } from "../core/defaults.js";

export const FLEET_OPTIONS = {
  redis: { type: "string" },
  store: { type: "string" },
} as const;

export const FLEET_OPTIONS_USAGE = `  --redis URL           run the cacheable steps (calibration pass, uniform files, probe batches) on
                        a fleet of \`apreqel worker\`s through Redis (redis://[:password@]host:port,
                        rediss:// for TLS); the plan and the assembly run here (README: Run on a fleet)
  --store DIR           with --redis: the folder coordinator and workers share for models and results`;

/**
 * Opens the coordinator when --redis is given (Redis answers, the store opens: checked before any
 * work), or returns undefined.
 */
export async function openFleet(values: { readonly redis?: string | undefined; readonly store?: string | undefined }, context: CommandContext, json: boolean): Promise<Coordinator | undefined> {
  if (values.redis === undefined) {
    if (values.store !== undefined) throw new OptionError("--store", "--store goes with --redis URL (the store is where the fleet's workers leave their results)");
    return undefined;
  }
  if (values.store === undefined) throw new OptionError("--store", "--redis needs --store DIR: a folder every worker reaches (a shared disk), where models and results are exchanged");
  const { Coordinator } = await import("../fleet/coordinator.js");
  return Coordinator.open({ redis: values.redis, store: values.store, ...(context.signal ? { signal: context.signal } : {}), onProgress: fleetProgressPrinter(json) });
}

/** One line of progress on stderr when it changes (at most once a second; nothing with --json). */
export function fleetProgressPrinter(json: boolean, write: (line: string) => void = (l) => void process.stderr.write(`${l}\n`)): (p: FleetProgress) => void {
  let last = "";
  let lastAt = 0;
  return (p) => {
    if (json) return;
    const line = describeFleetProgress(p);
    const now = Date.now();
    if (line === last || (now - lastAt < 1000 && p.done < p.total && p.waitingForRedis === undefined)) return;
    last = line;
    lastAt = now;
    write(line);
  };
}

/**
 * @example
 * describeFleetProgress({ stage: "probe batches", done: 7, total: 12, running: 2, byWorker: { a: 4, b: 3 }, etaMs: 30_000 })
 * // "fleet: probe batches: 7/12 jobs done, 2 running, ETA 30s (a 4, b 3)"
 */
export function describeFleetProgress(p: FleetProgress): string {
  const workers = Object.entries(p.byWorker).map(([w, n]) => `${w} ${n}`).join(", ");
  const eta = p.etaMs === undefined ? "" : `, ETA ${formatDuration(p.etaMs)}`;
  const redis = p.waitingForRedis === undefined ? "" : `; waiting for Redis (${p.waitingForRedis})`;
  return `fleet: ${p.stage}: ${p.done}/${p.total} jobs done, ${p.running} running${eta}${workers ? ` (${workers})` : ""}${redis}`;
}

/**
 * --redis: a pipeline command's cacheable steps (calibration pass, uniform files, probes) on the
 * fleet, their results brought into the session's cache; the command then runs as in-process in
 * the session returned. Within a probe budget (the default) the planner's rounds go to the fleet
 * one by one (Session.probeRunner): the fleet probes what the budget buys, as a run here would.
 */
export async function fleetSteps(s: Session, fleet: Coordinator, types: readonly GgmlType[], settings: PipelineSettings, measure: ReturnType<typeof sensitivitySettings>): Promise<Session> {
  const { computeOnFleet, probeRoundOnFleet } = await import("../fleet/coordinator.js");
  const planned = measure?.kind === "measured" && measure.budget !== undefined;
  const steps = {
    uniform: settings.uniform,
    types,
    calibration: settings.score.calibration,
    nCtx: settings.score.nCtx ?? DEFAULT_CTX,
    threads: settings.uniform.threads ?? 0,
    ...(measure?.kind === "measured" ? { measure: { granularity: measure.granularity, types: measure.types, planned, ...(measure.chunks !== undefined ? { chunks: measure.chunks } : {}) } } : {}),
  };
  const { probeNeeds } = await computeOnFleet(s, fleet, steps);
  return planned ? { ...s, probeRunner: (round) => probeRoundOnFleet(s, fleet, steps, probeNeeds, round) } : s;
}

/** After a fleet run: which worker did what (stderr), and the queues' connections closed. */
export async function closeFleet(fleet: Coordinator | undefined): Promise<void> {
  if (fleet === undefined) return;
  for (const line of fleet.summary()) console.error(`fleet: ${line}`);
  await fleet.close();
}
