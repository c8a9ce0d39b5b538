import type { Command } from 'commander';
import { agentPlatform, agentVersion } from '../../control/host-info';

export function versionCommand(program: Command): void {
  program
    .command('version')
    .description('print the agent version')
    .action(() => {
      process.stdout.write(`portfleet-agent ${agentVersion()} (${agentPlatform()}, node ${process.versions.node})\n`);
    });
}
