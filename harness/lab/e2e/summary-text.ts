import type { LabE2eSummary } from './run-e2e.ts';

/** The summary for people: counts first, then each failure with Ginkgo's message, then the skips and their reasons. */
export function renderE2eSummary(summary: LabE2eSummary): string {
  const lines = [
    `upstream e2e ${summary.kubernetesVersion} on a ${summary.nodes}-node ${summary.proxyMode} lab (agnhost ${summary.agnhostVersion}): ` +
      `${summary.passed.length} passed, ${summary.skipped.length} skipped with reason, ${summary.failed.length} failed` +
      `${summary.skippedByTest.length ? `, ${summary.skippedByTest.length} skipped by the test itself` : ''}` +
      `${summary.notRun.length ? `, ${summary.notRun.length} not run` : ''} of ${summary.selected} selected, in ${summary.durationSeconds} s`,
  ];
  for (const failure of summary.failed) lines.push(`  FAILED (${failure.state}) ${failure.name}`, ...(failure.failure ? [`    ${failure.failure.split('\n')[0]}`] : []));
  for (const name of summary.notRun) lines.push(`  NOT RUN ${name}`);
  for (const skip of summary.skippedByTest) lines.push(`  skipped by the test ${skip.name}`, `    ${skip.reason}`);
  for (const skip of summary.skipped) lines.push(`  skipped ${skip.name}`, `    ${skip.reason}`);
  lines.push(`reports: ${summary.files.junit}, ${summary.files.ginkgoJson}, ${summary.files.summary}; suite log: ${summary.files.log}`);
  return `${lines.join('\n')}\n`;
}
