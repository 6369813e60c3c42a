/**
 * Names the test files that were scheduled but never finished, after vitest's own summary.
 *
 * Vitest's summary counts them only in the total ("Test Files 54 passed (81)"): when a worker dies
 * or the run stops on an unhandled error, 27 files that never ran are one number in parentheses
 * (issue 26). This reporter lists them by name and makes the run fail, so a green-looking summary
 * cannot hide files that were not run.
 */
import path from "node:path";
import type { Reporter, TestModule, TestSpecification } from "vitest/node";

export class NeverRanReporter implements Reporter {
  private scheduled: { key: string; file: string }[] = [];

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.scheduled = specifications.map((s) => ({ key: `${s.project.name}\0${s.moduleId}`, file: `${s.project.name}: ${path.relative(process.cwd(), s.moduleId)}` }));
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const finished = new Set(
      testModules.filter((m) => ["passed", "failed", "skipped"].includes(m.state())).map((m) => `${m.project.name}\0${m.moduleId}`),
    );
    const missing = neverRan(this.scheduled, finished);
    if (missing.length === 0) return;
    const lines = [`\n${missing.length} of ${this.scheduled.length} test files never ran to the end (not counted as passed or failed above):`, ...missing.map((f) => `  ${f}`)];
    process.stderr.write(lines.join("\n") + "\n");
    process.exitCode = 1;
  }
}

/** The scheduled files whose key is not among the finished ones, in schedule order. */
export function neverRan(scheduled: readonly { key: string; file: string }[], finished: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  return scheduled.filter((s) => !finished.has(s.key) && !seen.has(s.key) && seen.add(s.key)).map((s) => s.file);
}
