import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Command, Option } from 'commander';
import { badInput } from '../../core/errors.ts';
import { ExitCode } from '../../core/exit-codes.ts';
import { type FinalCounters, writeFinalCounters } from '../../workloads/final-counters.ts';
import { startGrpcServer } from '../../workloads/grpc/server.ts';
import { grpcSettings, parseGrpcServerOptions } from '../../workloads/grpc/options.ts';
import { startHttpServer } from '../../workloads/http/server.ts';
import { httpSettings, parseHttpServerOptions } from '../../workloads/http/options.ts';
import { formatPeer } from '../../workloads/identity.ts';
import { defaultServerRuntime, parseServerRuntime, requireGoServer, type ServerRuntime, serverRuntimes } from '../../workloads/runtime.ts';
import { rawSettings, type SettingTable } from '../../workloads/settings.ts';

const modes = ['http', 'grpc'] as const;

/**
 * `kth serve http|grpc`: the sample servers as local processes (the lab runs pods this way).
 * The first stdout line is machine-readable: `kth serve <mode> listening on <host>:<port>`
 * (gRPC adds ` metrics on <host>:<port>`), so callers using --port 0 learn the chosen ports.
 */
export function registerServe(program: Command): void {
  const serve = program
    .command('serve')
    .description('run a sample server that reports which pod and connection served each request')
    .argument('[mode]', `${modes.join(' or ')}`)
    // Reached only when the mode is not a known subcommand.
    .action((mode: string | undefined) => {
      throw badInput(mode ? `serve mode: '${mode}' is not a mode` : 'serve mode: missing', {
        where: 'kth serve <mode>',
        hint: `use one of: ${modes.map((m) => `kth serve ${m}`).join(', ')} (see kth serve ${modes[0]} --help)`,
      });
    });

  const http = withSettings(
    serve.command('http').description('HTTP/1.1 and h2c (prior knowledge) on one port, with /healthz /readyz /metrics'),
    httpSettings,
    parseHttpServerOptions({}),
  );
  http.command.action(async () => {
    if (http.runtime() === 'go') return execGoServer('http', http.cliArgs());
    const server = await startHttpServer(http.values());
    process.stdout.write(`kth serve http listening on ${formatPeer(server.host, server.port)}\n`);
    await serveUntilSignal('http', server, () => {
      const metrics = server.metrics();
      return { pod: server.config.pod, requests: metrics.requestsTotal, connections: metrics.connectionsTotal, goaways: null };
    });
  });

  const grpc = withSettings(
    serve.command('grpc').description('kth.v1.Echo, grpc.health.v1 and reflection; metrics on an HTTP side port'),
    grpcSettings,
    parseGrpcServerOptions({}),
  );
  grpc.command.action(async () => {
    if (grpc.runtime() === 'go') return execGoServer('grpc', grpc.cliArgs());
    const server = await startGrpcServer(grpc.values());
    process.stdout.write(
      `kth serve grpc listening on ${formatPeer(server.host, server.port)} metrics on ${formatPeer(server.host, server.metricsPort)}\n`,
    );
    await serveUntilSignal('grpc', server, () => {
      const metrics = server.metrics();
      return { pod: server.config.pod, requests: metrics.repliesTotal, connections: metrics.connectionsTotal, goaways: metrics.goawaysSent ?? null };
    });
  });
}

/**
 * Adds one option per setting; `values()` gives flag-or-env raw values for the server to validate.
 * Defaults are only shown in --help: they live in the server's schema, which applies them.
 */
function withSettings(command: Command, table: SettingTable, defaults: Record<string, unknown>) {
  const attributes = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    const shown = spec.value !== '' ? defaults[key] : undefined;
    const defaultText = shown === undefined || shown === '' ? '' : ` (default ${key.endsWith('Ms') ? `${String(shown)}ms` : String(shown)})`;
    const option = new Option(`${spec.flag} ${spec.value}`.trim(), `${spec.description}${defaultText} [env ${spec.env}]`);
    // Commander would otherwise read a value starting with '-' (such as -1) as the next flag.
    if (spec.value !== '') option.argParser((value: string) => value);
    attributes.set(key, option.attributeName());
    command.addOption(option);
  }
  command.addOption(new Option('--runtime <runtime>', `which implementation serves: ${serverRuntimes.join(' or ')} (same contract; go is kth-sample-server, built by setup) [env KTH_RUNTIME]`));
  command.allowExcessArguments(false);
  return {
    command,
    runtime: (): ServerRuntime => {
      const value = (command.getOptionValue('runtime') as string | undefined) ?? process.env.KTH_RUNTIME;
      return value === undefined || value === '' ? defaultServerRuntime : parseServerRuntime(value, '--runtime/KTH_RUNTIME');
    },
    /** The settings given as flags, as flags again (env vars reach a child process by themselves). */
    cliArgs: (): string[] =>
      Object.entries(table).flatMap(([key, spec]) => {
        const attribute = attributes.get(key) as string;
        if (command.getOptionValueSource(attribute) !== 'cli') return [];
        return spec.value === '' ? [spec.flag] : [spec.flag, String(command.getOptionValue(attribute))];
      }),
    values: () =>
      rawSettings(table, (key) => {
        const attribute = attributes.get(key) as string;
        return command.getOptionValueSource(attribute) === 'cli' ? command.getOptionValue(attribute) : undefined;
      }),
  };
}

/**
 * `--runtime go`: the Go sample server in this process's place, with the same flags and env;
 * signals are passed on and its exit code becomes ours, so callers cannot tell the wrapper is there.
 */
async function execGoServer(mode: 'http' | 'grpc', args: string[]): Promise<never> {
  const child = spawn(requireGoServer(), [mode, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  process.exit(code ?? (signal === 'SIGINT' ? ExitCode.interrupted : 1));
}

interface Stoppable {
  readonly config: { terminationLog: string };
  shutdown(): Promise<{ drained: boolean; connectionsForced: number }>;
}

/**
 * Serves until SIGTERM/SIGINT, shuts down as configured, leaves the final counters in the
 * termination log (when one is set), then exits; a second signal exits at once.
 */
async function serveUntilSignal(mode: string, server: Stoppable, finalCounters: () => Omit<FinalCounters, 'kth'>): Promise<never> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const code = signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.ok;
  const again = () => process.exit(code);
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  process.stderr.write(`kth serve ${mode}: ${signal}, shutting down\n`);
  const result = await server.shutdown();
  process.stderr.write(
    `kth serve ${mode}: ${result.drained ? 'drained' : `closed ${result.connectionsForced} connection(s) without draining`}, exiting\n`,
  );
  await writeFinalCounters(server.config.terminationLog, finalCounters());
  process.exit(code);
}
