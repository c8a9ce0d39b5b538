import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error';
import { inspectCommand } from './commands/inspect';
import { issueCommand } from './commands/issue';
import { keygenCommand } from './commands/keygen';

export function buildProgram(): Command {
  const program = new Command()
    .name('portfleet-license')
    .description('Portfleet vendor tool: creates the vendor key pair and issues offline-verifiable serial keys')
    .showHelpAfterError()
    .exitOverride();
  keygenCommand(program);
  issueCommand(program);
  inspectCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      process.stderr.write(`portfleet-license: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`portfleet-license: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
