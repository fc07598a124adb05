import { textTable } from '../table.ts';
import type { Command } from 'commander';
import { type DoctorReport, runDoctor } from '../../setup/doctor.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('what this host supports: kernel features, tools, binaries, and which provider × proxy mode can run')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await runDoctor();
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
    });
}

export function renderDoctor(report: DoctorReport): string {
  const mark = (ok: boolean) => (ok ? 'yes' : 'NO');
  const capabilities = textTable(['host / binary', 'ok', 'detail', 'fix'], { wordWrap: true, colWidths: [24, 5, 70, 40] });
  for (const c of [...report.host, ...report.binaries]) capabilities.push([c.name, mark(c.available), c.detail, c.fix ?? '']);
  for (const c of report.guest) capabilities.push([`guest: ${c.name}`, mark(c.available), c.detail, c.fix ?? '']);
  const matrix = textTable(['provider', 'proxy mode', 'runs here', 'why / how'], { wordWrap: true, colWidths: [10, 12, 10, 100] });
  for (const cell of report.matrix) matrix.push([cell.provider, cell.proxyMode, mark(cell.available), cell.detail]);
  return `${capabilities.toString()}\n\n${matrix.toString()}\n`;
}
