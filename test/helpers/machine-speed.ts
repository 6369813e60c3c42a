/**
 * How much slower than the reference machine this run's tests will go, measured once when vitest
 * loads its config, so that the long native tests' time limits stretch on a slow or busy machine
 * instead of failing there (issue 26: the suite beside other work, load 12 on 2 cores).
 *
 * A fixed amount of arithmetic is timed by the wall clock: on a busy machine the process gets a
 * share of a core and the wall time grows with the load; on a slower CPU it grows with the CPU.
 * The ratio to what the same loop takes on the reference machine (the 2-core CI VM, idle) is the
 * scale. It is taken at start-up only: a load that arrives later is not seen, which is why the
 * floor is 1 and the unscaled limits already have the headroom they had before.
 *
 * Plain Node (no vitest import): vitest.config.ts runs it in the main process and hands the result
 * to the workers through the environment (APREQEL_TEST_TIME_SCALE, which a user may also set).
 */

/** Milliseconds the loop below takes on the reference machine when nothing else runs. */
export const REFERENCE_LOOP_MS = 30;
/** A run slower than this is not worth waiting for: the limits stop growing here. */
export const MAX_SCALE = 20;
export const SCALE_ENV = "APREQEL_TEST_TIME_SCALE";

/** One fixed unit of work (integer hashing over a small array: no allocation, no I/O). */
function work(): number {
  const a = new Uint32Array(4096);
  let h = 2166136261;
  for (let round = 0; round < 6000; round++) {
    for (let i = 0; i < a.length; i++) {
      h = Math.imul(h ^ (a[i]! + i + round), 16777619) >>> 0;
      a[i] = h;
    }
  }
  return h;
}

/**
 * Times `repeats` runs of the loop and returns the median wall time in milliseconds (the median:
 * a single descheduling does not decide the scale; a load that lasts does).
 */
export function measureLoopMs(repeats = 5, now: () => number = () => performance.now()): number {
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = now();
    sink ^= work();
    times.push(now() - t0);
  }
  if (sink === 0.5) console.log(sink); // keeps the loop from being optimised away
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)]!;
}

/** The scale for a measured loop time: never below 1, never above MAX_SCALE. */
export function scaleFor(loopMs: number): number {
  const raw = loopMs / REFERENCE_LOOP_MS;
  return Math.min(MAX_SCALE, Math.max(1, Math.round(raw * 10) / 10));
}

/** The scale: APREQEL_TEST_TIME_SCALE when set (a number ≥ 1), else measured now. */
export function machineTimeScale(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[SCALE_ENV];
  if (given !== undefined && given !== "") {
    const n = Number(given);
    if (Number.isFinite(n) && n >= 1) return Math.min(MAX_SCALE, n);
    throw new Error(`${SCALE_ENV}=${given}: expected a number ≥ 1`);
  }
  return scaleFor(measureLoopMs());
}

/**
 * A test's time limit stretched by the run's scale (read in the workers from the environment
 * vitest.config.ts set; 1 when a file runs outside that config).
 */
export function slow(ms: number): number {
  const n = Number(process.env[SCALE_ENV]);
  return Number.isFinite(n) && n >= 1 ? Math.round(ms * n) : ms;
}
