import { Command, CommanderError } from 'commander';
import { agentVersion } from '../control/host-info';
import { CliError } from './cli-error';
import { adapterCommand } from './commands/adapter';
import { enrollCommand } from './commands/enroll';
import { licenseCommand } from './commands/license';
import { rulesCommand } from './commands/rules';
import { runCommand } from './commands/run';
import { serviceCommand } from './commands/service';
import { statusCommand } from './commands/status';
import { versionCommand } from './commands/version';

export function buildProgram(): Command {
  const program = new Command()
    .name('portfleet-agent')
    .description('Portfleet agent: forwards the packets its rules select, managed by a Portfleet controller')
    .version(agentVersion(), '-V, --version', 'print the agent version')
    .showHelpAfterError()
    .exitOverride();
  enrollCommand(program);
  runCommand(program);
  statusCommand(program);
  rulesCommand(program);
  licenseCommand(program);
  adapterCommand(program);
  serviceCommand(program);
  versionCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed help or the usage error
    if (error instanceof CliError) {
      process.stderr.write(`portfleet-agent: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`portfleet-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
