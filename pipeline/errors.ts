/**
 * The one error type the pipeline throws on purpose. It carries an exit code and a hint, and
 * cli.ts is the one place that prints it (one line and the hint; the stack only with --debug).
 *
 * Exit codes: 2 = bad usage or bad input the user can fix; 1 = a job failed.
 */
export class PipelineError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PipelineError';
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** A usage error: a flag or id the user typed that does not exist. Exit code 2. */
export function usageError(message: string, hint?: string): PipelineError {
  return new PipelineError(message, { exitCode: 2, hint });
}

/** Names the valid choices in the one-line message of a usage error. */
export function unknownChoice(what: string, given: string, valid: readonly string[]): PipelineError {
  return usageError(`unknown ${what} '${given}'; valid: ${valid.join(', ')}`);
}
