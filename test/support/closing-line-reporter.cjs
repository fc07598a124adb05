// Prints one plain closing line ("jest: N passed, N failed, N skipped") that CI log readers
// understand, and fails the run when no test executed at all: an empty suite is a broken suite.
class ClosingLineReporter {
  onRunComplete(_contexts, results) {
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
