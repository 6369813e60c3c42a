/**
 * Progress of long steps on stderr: a redrawn bar with ETA on a terminal, plain lines (start,
 * every 10%, done) when stderr is a file or pipe, nothing with `--json` (stdout then carries
 * the JSON alone, and stderr stays quiet for scripts).
 */

/** How progress is shown. */
export type ProgressMode = "bar" | "lines" | "silent";

/**
 * Picks the mode: silent for `--json`, a bar on a TTY, lines otherwise.
 *
 * @example
 * progressMode({ json: false, isTTY: process.stderr.isTTY }) // "bar" in a terminal
 */
export function progressMode(options: { readonly json: boolean; readonly isTTY: boolean | undefined }): ProgressMode {
  if (options.json) return "silent";
  return options.isTTY === true ? "bar" : "lines";
}

/**
 * A text bar of `width` cells for a fraction in [0, 1] (clamped).
 *
 * @example
 * formatBar(0.5, 10) // "█████░░░░░"
 */
export function formatBar(fraction: number, width: number): string {
  const cells = Math.round(clamp(fraction) * width);
  return "█".repeat(cells) + "░".repeat(width - cells);
}

/**
 * A duration for humans: `42s`, `3m05s`, `1h02m`.
 *
 * @example
 * formatDuration(185_000) // "3m05s"
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Time left, extrapolating the rate so far; undefined until there is something to
 * extrapolate from (under 1% done or under a second elapsed).
 *
 * @example
 * estimateRemainingMs(0.25, 30_000) // 90000
 */
export function estimateRemainingMs(fraction: number, elapsedMs: number): number | undefined {
  const f = clamp(fraction);
  if (f < 0.01 || elapsedMs < 1000) return undefined;
  return (elapsedMs * (1 - f)) / f;
}

/**
 * One bar line: label, bar, percentage, elapsed and ETA.
 *
 * @example
 * formatProgressLine({ label: "quantize q4_K", fraction: 0.25, elapsedMs: 30_000, width: 20 })
 * // "quantize q4_K  █████░░░░░░░░░░░░░░░  25%  30s  ETA 1m30s"
 */
export function formatProgressLine(options: { readonly label: string; readonly fraction: number; readonly elapsedMs: number; readonly width?: number }): string {
  const { label, fraction, elapsedMs, width = 24 } = options;
  const remaining = estimateRemainingMs(fraction, elapsedMs);
  const percent = `${Math.floor(clamp(fraction) * 100)}%`.padStart(4);
  const eta = remaining === undefined ? "ETA --" : `ETA ${formatDuration(remaining)}`;
  return `${label}  ${formatBar(fraction, width)}  ${percent}  ${formatDuration(elapsedMs)}  ${eta}`;
}

/**
 * A plain progress line (non-TTY) with the step's own ETA once it can be extrapolated, e.g.
 * `quantize q4_K: 40% (12s, ETA 18s)`: a step of 40 minutes says how long it has left.
 */
export function formatPlainLine(label: string, fraction: number, elapsedMs: number): string {
  const remaining = estimateRemainingMs(fraction, elapsedMs);
  return `${label}: ${Math.floor(clamp(fraction) * 100)}% (${formatDuration(elapsedMs)}${remaining === undefined ? "" : `, ETA ${formatDuration(remaining)}`})`;
}

/** A running step's progress sink. */
export interface StepProgress {
  /** Reports the fraction done, 0..1, and what is done in the step's words; cheap to call often (bar redraws are throttled). */
  update(fraction: number, detail?: string): void;
  /** Ends the step (prints its final line). */
  done(note?: string): void;
  /** Ends the step after a failure (clears the bar so the error prints cleanly). */
  fail(): void;
}

/** Where progress goes and how; `now` is injectable for tests. */
export interface ProgressOptions {
  readonly mode: ProgressMode;
  readonly stream?: { write(text: string): unknown; readonly columns?: number };
  readonly now?: () => number;
}

/**
 * Starts showing one step's progress.
 *
 * @example
 * const p = startProgress("quantize q4_K", { mode: progressMode({ json, isTTY: process.stderr.isTTY }) });
 * await quantize({ ..., onProgress: (f) => p.update(f) }); p.done();
 */
export function startProgress(labelOf: string | (() => string), options: ProgressOptions): StepProgress {
  const { mode, stream = process.stderr, now = Date.now } = options;
  // a function label is read at each line or redraw (the whole run's ETA changes within a step)
  const text = typeof labelOf === "function" ? labelOf : () => labelOf;
  const started = now();
  if (mode === "silent") return { update: () => undefined, done: () => undefined, fail: () => undefined };
  let detail: string | undefined;
  const withDetail = (line: string) => (detail === undefined ? line : `${line}, ${detail}`);
  if (mode === "lines") {
    let nextDecile = 1;
    stream.write(`${text()}: started\n`);
    return {
      update(fraction, d) {
        if (d !== undefined) detail = d;
        const decile = Math.floor(clamp(fraction) * 10);
        if (decile < nextDecile || decile >= 10) return;
        nextDecile = decile + 1;
        stream.write(`${withDetail(formatPlainLine(text(), fraction, now() - started))}\n`);
      },
      done(note) {
        stream.write(`${text()}: done in ${formatDuration(now() - started)}${note ? `, ${note}` : ""}\n`);
      },
      fail() {
        stream.write(`${text()}: failed after ${formatDuration(now() - started)}\n`);
      },
    };
  }
  let lastDraw = -Infinity;
  let last = 0;
  const draw = (fraction: number) => {
    const label = text();
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - label.length - 32));
    stream.write(`\r\x1b[2K${withDetail(formatProgressLine({ label, fraction, elapsedMs: now() - started, width }))}`);
  };
  draw(0);
  return {
    update(fraction, d) {
      if (d !== undefined) detail = d;
      last = fraction;
      const t = now();
      if (t - lastDraw < 100 && fraction < 1) return;
      lastDraw = t;
      draw(fraction);
    },
    done(note) {
      draw(Math.max(last, 1));
      stream.write(`${note ? `  ${note}` : ""}\n`);
    },
    fail() {
      stream.write("\r\x1b[2K");
    },
  };
}

function clamp(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}
