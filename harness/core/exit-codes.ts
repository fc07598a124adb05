/** Every exit code `kth` can return, in one place (the CLI contract in design.md). */
export const ExitCode = {
  /** All checks passed. */
  ok: 0,
  /** A check failed: a regression. */
  checkFailed: 1,
  /** Bad input: scenario, flags, configuration. */
  badInput: 2,
  /** Environment or infrastructure: missing binary, unsupported kernel, cluster failure. */
  environment: 3,
  /** Interrupted (SIGINT); partial results were written. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
