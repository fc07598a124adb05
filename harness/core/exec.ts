import { $, ProcessOutput } from 'zx';
import { environmentError } from './errors.ts';

/** Shell-quotes one argument so a printed command can be pasted into a shell as it is. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

export interface RunOptions {
  /** Extra environment, merged over the current one. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Text written to standard input. */
  input?: string;
  /** Milliseconds before the command is killed and the call fails. */
  timeoutMs?: number;
  /** What this command is for, named in the error when it fails ("build kube-apiserver"). */
  purpose?: string;
  /** Return the result instead of throwing on a non-zero exit (zx's nothrow). */
  nothrow?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/**
 * Runs an external program through zx, never through a shell string, and turns a failure into an
 * environment error that carries the pasteable command line and the tail of its output.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...args] = argv;
  if (!program) throw new Error('run: empty command');
  const started = performance.now();
  const shell = $({
    quiet: true,
    nothrow: true,
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
  let output: ProcessOutput;
  try {
    output = await shell`${program} ${args}`;
  } catch (error) {
    if (!(error instanceof ProcessOutput)) throw error;
    output = error;
  }
  const result: RunResult = {
    stdout: output.stdout,
    stderr: output.stderr,
    exitCode: output.exitCode ?? -1,
    durationMs: performance.now() - started,
  };
  if (result.exitCode !== 0 && !options.nothrow) throw runFailure(argv, result, options);
  return result;
}

function runFailure(argv: readonly string[], result: RunResult, options: RunOptions) {
  const what = options.purpose ? `${options.purpose} failed` : `command failed`;
  const tail = lastLines(`${result.stderr}\n${result.stdout}`, 15);
  return environmentError(`${what} (exit ${result.exitCode}): ${commandLine(argv)}${tail ? `\n${tail}` : ''}`, {
    where: options.cwd ? `in ${options.cwd}` : undefined,
    hint: `rerun it by hand to see everything: ${options.cwd ? `(cd ${shellQuote(options.cwd)} && ${commandLine(argv)})` : commandLine(argv)}`,
  });
}

/** The last `count` non-empty lines of a text, for error messages and failure reports. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .join('\n');
}
