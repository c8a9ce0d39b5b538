import { InvalidArgumentError, Option, type Command } from 'commander';
import { Agent } from '../../control/agent';
import { StateFileCorruptError, StateStore } from '../../control/state-store';
import { MemoryDataPlane, parseTapAddress } from '../../divert/memory';
import { Engine } from '../../engine/engine';
import { CliError } from '../cli-error';
import { announce, createLogger } from '../log';
import { removePidFile, writePidFile } from '../pid-file';
import { stateDirOption } from '../state-dir-option';

interface RunOptions {
  stateDir: string;
  standalone?: boolean;
  dataplane: 'memory';
  tap?: string;
  reportIntervalMs: number;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('run the agent: apply the saved rules, connect to the controller, forward packets (until SIGINT/SIGTERM)')
    .addOption(new Option('--dataplane <kind>', 'packet source: memory (packets only through --tap)').choices(['memory']).default('memory'))
    .option('--tap <path|port>', 'memory data plane: listen for packets on this Unix socket path, or loopback TCP port')
    .option('--report-interval-ms <ms>', 'period of activity reports', positiveInteger, 5_000)
    .option('--standalone', 'run without a controller: rules only from `portfleet-agent rules import` (no enrollment needed)')
    .addOption(stateDirOption())
    .action(async (options: RunOptions) => {
      const log = createLogger();
      const store = new StateStore(options.stateDir);
      let credential;
      try {
        credential = options.standalone ? undefined : await store.readCredential();
      } catch (error) {
        if (error instanceof StateFileCorruptError) {
          throw new CliError(`${error.message}; enroll again with \`portfleet-agent enroll --force --controller HOST:PORT --token T\``, 2);
        }
        throw error;
      }
      if (credential === null) {
        throw new CliError(
          `not enrolled (no ${store.path('credential')}); run \`portfleet-agent enroll --controller HOST:PORT --token T\` first, or \`run --standalone\``,
          2,
        );
      }

      const plane = new MemoryDataPlane({ tap: options.tap === undefined ? undefined : parseTapAddress(options.tap) });
      const agent = new Agent({
        credential,
        store,
        plane,
        engine: new Engine(),
        log,
        reportIntervalMs: options.reportIntervalMs,
        announce,
      });
      log.info(
        { event: 'agent.starting', agentId: credential?.agentId, controller: credential?.controller ?? 'none (standalone)', stateDir: store.dir, dataplane: plane.capabilities.kind },
        'agent starting',
      );
      // `rules import` sends SIGHUP to have waiting imports applied at once.
      const reload = () => void agent.applyImported().catch((error: Error) => log.error({ event: 'rules.import_failed', error: error.message }, 'could not apply imported rules'));
      process.on('SIGHUP', reload);
      try {
        await agent.start();
      } catch (error) {
        await agent.stop().catch(() => undefined);
        throw new CliError(`could not start: ${(error as Error).message}`);
      }
      await writePidFile(store.dir);
      const tap = plane.tapAddress();
      if (tap) announce(`PORTFLEET_AGENT_TAP listening=${tap}`);

      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          log.info({ event: 'agent.stopping', signal }, 'agent stopping');
          process.off('SIGINT', shutdown);
          process.off('SIGTERM', shutdown);
          resolve();
        };
        process.on('SIGINT', shutdown);
        process.on('SIGTERM', shutdown);
      });
      process.off('SIGHUP', reload);
      await agent.stop();
      await removePidFile(store.dir);
      log.info({ event: 'agent.stopped' }, 'agent stopped');
    });
}
