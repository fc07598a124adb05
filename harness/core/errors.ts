import { ExitCode } from './exit-codes.ts';

export type ErrorKind = 'bad-input' | 'environment' | 'check-failed' | 'interrupted';

const exitCodeOf: Record<ErrorKind, ExitCode> = {
  'bad-input': ExitCode.badInput,
  environment: ExitCode.environment,
  'check-failed': ExitCode.checkFailed,
  interrupted: ExitCode.interrupted,
};

export interface HarnessErrorOptions {
  /** What the user can do about it: the next command to run, the setting to change. */
  hint?: string;
  /** Where the problem is: a file, a flag, a config path, a component. */
  where?: string;
  cause?: unknown;
}

/**
 * The one error type the library throws on purpose. The CLI prints `message`, `where` and
 * `hint` and exits with the code that matches `kind`; nothing below the CLI calls process.exit.
 */
export class HarnessError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly where: string | undefined;

  constructor(kind: ErrorKind, message: string, options: HarnessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
    this.kind = kind;
    this.hint = options.hint;
    this.where = options.where;
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.kind];
  }
}

export const badInput = (message: string, options?: HarnessErrorOptions): HarnessError =>
  new HarnessError('bad-input', message, options);

export const environmentError = (message: string, options?: HarnessErrorOptions): HarnessError =>
  new HarnessError('environment', message, options);

/** Renders any thrown value for a person: message, where, hint, and the cause chain. */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return `error: ${String(error)}`;
  const lines = [`error: ${error.message}`];
  if (error instanceof HarnessError) {
    if (error.where) lines.push(`  where: ${error.where}`);
    if (error.hint) lines.push(`  fix:   ${error.hint.split('\n').join('\n         ')}`);
  }
  let cause = error.cause;
  while (cause instanceof Error) {
    lines.push(`  cause: ${cause.message.split('\n').join('\n         ')}`);
    cause = cause.cause;
  }
  return lines.join('\n');
}

export function exitCodeFor(error: unknown): ExitCode {
  return error instanceof HarnessError ? error.exitCode : ExitCode.environment;
}
