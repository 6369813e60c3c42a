/**
 * Names the test files that were scheduled but never finished, after vitest's own summary.
 *
 * Vitest's summary counts them only in the total ("Test Files 54 passed (81)"): when a worker dies
 * or the run stops on an unhandled error, 27 files that never ran are one number in parentheses
 * (issue 26). This reporter lists them by name and makes the run fail, so a green-looking summary
 * cannot hide files that were not run.
 */
import { writeSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestModule, TestSpecification } from "vitest/node";

export class NeverRanReporter implements Reporter {
  private scheduled: { key: string; file: string }[] = [];
  private readonly finished = new Set<string>();
  private ended = false;

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.scheduled = specifications.map((s) => ({ key: `${s.project.name}\0${s.moduleId}`, file: `${s.project.name}: ${path.relative(process.cwd(), s.moduleId)}` }));
    // a run that dies before its end (a worker's channel closed, an unhandled rejection in the
    // runner) prints no summary at all: the list is printed as the process exits. Prepended:
    // vitest's own exit listener calls process.exit() again, and listeners after it never run
    process.prependOnceListener("exit", () => {
      if (!this.ended) this.report(this.finished, "the run stopped before its end; ");
    });
  }

  onTestModuleEnd(m: TestModule): void {
    if (["passed", "failed", "skipped"].includes(m.state())) this.finished.add(`${m.project.name}\0${m.moduleId}`);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    this.ended = true;
    const finished = new Set(
      testModules.filter((m) => ["passed", "failed", "skipped"].includes(m.state())).map((m) => `${m.project.name}\0${m.moduleId}`),
    );
    this.report(finished, "");
  }

  private report(finished: ReadonlySet<string>, why: string): void {
    const missing = neverRan(this.scheduled, finished);
    if (missing.length === 0) return;
    const lines = [`\n${why}${missing.length} of ${this.scheduled.length} test files never ran to the end (not counted as passed or failed):`, ...missing.map((f) => `  ${f}`)];
    // synchronous: this may run in the process's exit listener
    writeSync(2, lines.join("\n") + "\n");
    process.exitCode = 1;
  }
}

/** The scheduled files whose key is not among the finished ones, in schedule order. */
export function neverRan(scheduled: readonly { key: string; file: string }[], finished: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  return scheduled.filter((s) => !finished.has(s.key) && !seen.has(s.key) && seen.add(s.key)).map((s) => s.file);
}
