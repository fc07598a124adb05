import { Command, CommanderError } from 'commander';
import { exitCodeFor, formatError } from '../core/errors.ts';
import { ExitCode } from '../core/exit-codes.ts';
import { harnessVersion } from '../core/version.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerSetup } from './commands/setup.ts';
import { registerLab } from './commands/lab.ts';
import { registerServe } from './commands/serve.ts';

// The CLI is the only layer that prints errors and chooses exit codes; everything below throws.
const program = new Command('kth')
  .description('kube-traffic-harness: measure how Kubernetes Service traffic really spreads over pods')
  .version(harnessVersion(), '-V, --version')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

registerSetup(program);
registerDoctor(program);
registerLab(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0 through here; usage mistakes are bad input (exit 2).
    process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput);
  }
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(exitCodeFor(error));
}
