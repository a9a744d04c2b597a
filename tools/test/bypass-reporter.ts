import type { Reporter, TestCase, TestModule } from "vitest/node";

/**
 * The only reporter of `npm run test:bypass`: one line per technique (one test each), then
 * `N passed, N failed` (for CI's totals) and last `bypass blocked_or_reported=X of Y`, Y the techniques
 * tried and X those blocked or reported in time. Skipped techniques (no root / no netns) count against X,
 * and a failed setup (every technique skipped) shows as a failure.
 */
export default class BypassReporter implements Reporter {
  onTestCaseResult(test: TestCase): void {
    const result = test.result();
    const mark = result.state === "passed" ? "ok  " : result.state === "failed" ? "FAIL" : "skip";
    const seconds = ((test.diagnostic()?.duration ?? 0) / 1000).toFixed(1);
    process.stdout.write(`${mark} ${test.name} (${seconds} s)\n`);
    if (result.state === "failed") {
      for (const error of result.errors ?? []) process.stdout.write(`     ${error.message.split("\n")[0]}\n`);
    }
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let total = 0;
    let passed = 0;
    let failed = unhandledErrors.length;
    for (const mod of testModules) {
      for (const error of mod.errors())
        process.stdout.write(`setup error: ${error.message.split("\n")[0]}\n`);
      for (const suite of mod.children.allSuites()) {
        for (const error of suite.errors()) {
          process.stdout.write(`setup error: ${error.message.split("\n")[0]}\n`);
          failed++;
        }
      }
      if (mod.errors().length > 0) failed++;
      for (const test of mod.children.allTests()) {
        total++;
        const state = test.result().state;
        if (state === "passed") passed++;
        else failed++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
    process.stdout.write(`bypass blocked_or_reported=${passed} of ${total}\n`);
  }
}
