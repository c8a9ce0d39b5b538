/** A failure the CLI reports as one plain sentence on stderr and an exit code, without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
