import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../harness/report/model.ts';

/**
 * Runs `kth run <scenario> <args>` into a temporary directory; its exit code, stderr and report (the
 * directory is removed). `interruptAfter` sends Ctrl-C (SIGINT) once that text shows on stderr.
 */
export async function kthRun(scenario: string, args: readonly string[], options: { interruptAfter?: RegExp } = {}): Promise<{ code: number | null; stderr: string; report: Report }> {
  const out = await mkdtemp(join(tmpdir(), 'kth-e2e-run-'));
  try {
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['harness/bin/kth.mjs', 'run', scenario, ...args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let sent = false;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (options.interruptAfter && !sent && options.interruptAfter.test(stderr)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.once('close', resolve);
    });
    const [dir] = await readdir(out);
    if (!dir) throw new Error(`kth run ${scenario} wrote no report (exit ${code}):\n${stderr}`);
    return { code, stderr, report: JSON.parse(await readFile(join(out, dir, 'report.json'), 'utf8')) as Report };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Every errored run and failed check of a report, one line each: `[]` when the run passed. */
export function failures(report: Report): string[] {
  return report.runs.flatMap((run) => [
    ...(run.status === 'error' ? [`${run.variant}: ${run.reason}`] : []),
    ...run.checks.filter((check) => !check.pass).map((check) => `${run.variant}: ${check.name} = ${String(check.value)} (${check.note ?? check.expect})`),
  ]);
}
