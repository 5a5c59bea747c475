/**
 * The one error type the pipeline throws on purpose. It carries an exit code and a hint, and
 * cli.ts is the one place that prints it (one line and the hint; the stack only with --debug).
 *
 * Exit codes: 2 = bad usage or bad input the user can fix; 3 = an input is missing (InputMissing);
 * 1 = a job failed.
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

/**
 * What a report needs is not on this machine (a data set, a file): the report is skipped with this
 * message and its hint (the commands that fix it), the others still build, and the pipeline exits
 * with code 3.
 */
export class InputMissing extends PipelineError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 3, ...(hint === undefined ? {} : { hint }) });
    this.name = 'InputMissing';
  }
}

/**
 * What a report needs is an optional install that is absent (e.g. the npm package with the
 * pretrained language model): the report is skipped with this message, and the build goes on
 * and succeeds with the others. Exit code 3, as for missing data, when it is the only report asked for.
 */
export class OptionalInputMissing extends InputMissing {
  constructor(message: string, hint: string) {
    super(message, hint);
    this.name = 'OptionalInputMissing';
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
