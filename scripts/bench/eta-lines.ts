/**
 * Reads a `quantize` run's progress lines (plain mode: "[3/17, ETA 4m10s] quantize q4_K: 40% …")
 * with the time each was printed, and compares each ETA with the time the run really had left
 * (issue 26: the ETA's error at the first, middle and last step). Pure: scripts/bench/eta.ts
 * times a real run; test/unit/eta-lines.test.ts checks this on lines written by hand.
 */

/** "1h02m", "3m05s", "42s" → ms (formatDuration's forms). */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === "") throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

export interface EtaReading {
  readonly atMs: number;
  readonly step: string;
  readonly index: number;
  readonly etaMs: number;
  /** what the run really had left (its end minus atMs) */
  readonly leftMs: number;
}

/** Every line that carries the run's ETA, with what was really left; `endMs` is when the run ended. */
export function etaReadings(lines: readonly { readonly atMs: number; readonly text: string }[], endMs: number): EtaReading[] {
  return lines.flatMap(({ atMs, text }) => {
    const m = /^\[(\d+)\/\d+, ETA ([0-9hms]+)\] (.+?): /.exec(text);
    return m ? [{ atMs, index: Number(m[1]), step: m[3]!, etaMs: parseDuration(m[2]!), leftMs: endMs - atMs }] : [];
  });
}

/**
 * The readings at the first step with an ETA, the one nearest the middle of the run, and the last
 * step's first, each with its relative error (ETA / left − 1; NaN with under a second left).
 */
export function etaSummary(readings: readonly EtaReading[], startMs: number, endMs: number): { readonly at: string; readonly reading: EtaReading; readonly error: number }[] {
  if (readings.length === 0) return [];
  const middle = (startMs + endMs) / 2;
  const lastIndex = readings[readings.length - 1]!.index;
  const picks: [string, EtaReading][] = [
    ["first", readings[0]!],
    ["middle", readings.reduce((a, b) => (Math.abs(b.atMs - middle) < Math.abs(a.atMs - middle) ? b : a))],
    ["last step", readings.find((r) => r.index === lastIndex)!],
  ];
  // under a second left the ratio says nothing (formatDuration rounds to seconds)
  return picks.map(([at, reading]) => ({ at, reading, error: reading.leftMs >= 1000 ? reading.etaMs / reading.leftMs - 1 : Number.NaN }));
}

/** One step of a run, from its first progress line to the next step's first line (or the run's end). */
export interface StepTime {
  readonly index: number;
  readonly step: string;
  readonly ms: number;
}

/**
 * How long each numbered step took, from the time its lines were printed (the issue 25 breakdown of
 * a whole `quantize` by step); a step's time includes whatever unnumbered work ran before the next.
 */
export function stepTimes(lines: readonly { readonly atMs: number; readonly text: string }[], endMs: number): StepTime[] {
  const starts: { index: number; step: string; atMs: number }[] = [];
  for (const { atMs, text } of lines) {
    const m = /^\[(\d+)\/\d+(?:, ETA [0-9hms]+)?\] (.+?): /.exec(text);
    if (!m) continue;
    const index = Number(m[1]);
    if (starts.length === 0 || starts[starts.length - 1]!.index !== index) starts.push({ index, step: m[2]!, atMs });
  }
  return starts.map((s, i) => ({ index: s.index, step: s.step, ms: (starts[i + 1]?.atMs ?? endMs) - s.atMs }));
}

/** The breakdown's groups: what a user would call each step. */
export function stepGroup(step: string): string {
  if (step.startsWith("quantize ")) return "uniform files (quantize)";
  if (step === "similarity" || step.startsWith("calibration")) return "calibration pass";
  if (step.startsWith("sensitivity") || step.startsWith("probe")) return "sensitivity probes";
  if (step.startsWith("latency")) return "latency";
  if (step.startsWith("perplexity") || step.startsWith("kld")) return "perplexity / KLD";
  if (step.startsWith("assemble")) return "assembly";
  return "other (plan, front, checks)";
}
