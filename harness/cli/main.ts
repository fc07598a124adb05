import { Command, CommanderError } from 'commander';
import { exitCodeFor, formatError } from '../core/errors.ts';
import { ExitCode } from '../core/exit-codes.ts';
import { harnessVersion } from '../core/version.ts';
import { interruptCleanup, wasInterrupted } from '../core/interrupts.ts';

/**
 * Command groups, each loaded only when used: @kubernetes/client-node alone takes ~1.6 s to
 * import, and pods that run `kth serve` should not pay for it. Help (or an unknown command) loads
 * them all so every command is listed.
 */
type Register = (program: Command) => unknown;
const commandGroups: Record<string, () => Promise<Register>> = {
  'setup-binaries': async () => (await import('./commands/setup.ts')).registerSetup,
  doctor: async () => (await import('./commands/doctor.ts')).registerDoctor,
  lab: async () => (await import('./commands/lab.ts')).registerLab,
  cleanup: async () => (await import('./commands/lab.ts')).registerLab,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  load: async () => (await import('./commands/load.ts')).registerLoad,
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  report: async () => (await import('./commands/report.ts')).registerReport,
  run: async () => (await import('./commands/run.ts')).registerRun,
  inspect: async () => (await import('./commands/inspect.ts')).registerInspect,
  init: async () => (await import('./commands/init.ts')).registerInit,
  existing: async () => (await import('./commands/existing.ts')).registerExisting,
  kind: async () => (await import('./commands/kind.ts')).registerKind,
};

// The CLI is the only layer that prints errors and chooses exit codes; everything below throws.
const program = new Command('kth')
  .description('kube-traffic-harness: measure how Kubernetes Service traffic really spreads over pods')
  .version(harnessVersion(), '-V, --version')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

const requested = process.argv[2];
const versionOnly = requested === '--version' || requested === '-V';
const loaders = versionOnly ? [] : requested && commandGroups[requested] ? [commandGroups[requested]] : Object.values(commandGroups);
const registered = new Set<Register>();
for (const load of loaders) {
  const register = await load();
  if (!registered.has(register)) register(program);
  registered.add(register);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0 through here; usage mistakes are bad input (exit 2).
    process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput);
  }
  // After Ctrl-C, whatever failed did so because we are stopping: let the cleanup finish, exit 130.
  if (wasInterrupted()) {
    await interruptCleanup();
    process.exit(ExitCode.interrupted);
  }
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(exitCodeFor(error));
}
