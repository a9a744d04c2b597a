import type { Reporter, TestModule } from "vitest/node";

/** Prints the closing line CI reads: `N passed, N failed` (and skipped when any). */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A hook that failed (beforeAll...) skips its tests: the suite itself is the failure.
      for (const suite of mod.children.allSuites()) {
        if (suite.state() === "failed" && suite.errors().length > 0) failed++;
      }
      // A file that failed to load, or a file-level hook that threw, is a failure too.
      if (
        mod.state() === "failed" &&
        (mod.errors().length > 0 || [...mod.children.allTests()].length === 0)
      ) {
        failed++;
      }
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}
