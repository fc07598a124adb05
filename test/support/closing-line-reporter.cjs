// Prints one plain closing line ("jest: N passed, N failed, N skipped") that CI log readers
// understand, and fails the run when no test executed at all: an empty suite is a broken suite.
// Before it, where the time went: wall time per project and the slowest files, so a suite that
// grows past its budget shows which file to share a lab in (README: suite time).
const { relative } = require('node:path');

class ClosingLineReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.files = [];
  }

  onTestResult(test, result) {
    const { start, end } = result.perfStats;
    this.files.push({ project: test.context.config.displayName?.name ?? '-', path: relative(this.rootDir, test.path), ms: end - start });
  }

  onRunComplete(_contexts, results) {
    if (this.files.length > 1) {
      const minutes = (ms) => `${(ms / 60_000).toFixed(1)} min`;
      const byProject = new Map();
      for (const file of this.files) byProject.set(file.project, (byProject.get(file.project) ?? 0) + file.ms);
      process.stdout.write(`\njest time by project: ${[...byProject].map(([project, ms]) => `${project} ${minutes(ms)}`).join(', ')}\n`);
      const slowest = [...this.files].sort((a, b) => b.ms - a.ms).slice(0, 15);
      process.stdout.write(`slowest files:\n${slowest.map((file) => `  ${(file.ms / 1000).toFixed(0).padStart(5)} s  ${file.path}`).join('\n')}\n`);
    }
    const passed = results.numPassedTests;
    const failed = results.numFailedTests;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\njest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    if (passed + failed === 0) {
      process.stderr.write('jest: no test executed; a suite that finds nothing is a failure\n');
      process.exitCode = 1;
    }
  }
}
module.exports = ClosingLineReporter;
