import type { Edition } from '@portfleet/proto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Agent } from '../../control/agent';
import { controllerTargets } from '../../control/client';
import { StateFileCorruptError, StateStore } from '../../control/state-store';
import { agentHostname } from '../../control/host-info';
import { startupTlsFiles } from '../../control/tls/renewal';
import { MemoryDataPlane } from '../../divert/memory';
import { Engine } from '../../engine/engine';
import { AdapterMacService } from '../../mac/adapter-mac-service';
import { platformMacChanger } from '../../mac/platform-mac-changer';
import { CliError } from '../cli-error';
import { createDataPlane, DATAPLANE_KINDS, defaultDataPlane, type DataPlaneKind } from '../dataplane-choice';
import { EXIT_NOT_ENROLLED } from '../exit-codes';
import { standaloneEditionOf } from '../standalone-edition';
import { queueRulesFile } from '../standalone-rules';
import { announce, createLogger } from '../log';
import { removePidFile, writePidFile } from '../pid-file';
import { stateDirOption } from '../state-dir-option';

interface RunOptions {
  stateDir: string;
  standalone?: boolean;
  dataplane?: DataPlaneKind;
  tap?: string;
  rules?: string;
  reportIntervalMs: number;
  controller?: string;
  fastPath: boolean;
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
    .addOption(
      new Option('--dataplane <kind>', 'packet source: linux (NFQUEUE, root), windivert (Windows), memory (packets only through --tap); default: the OS\'s kernel plane when it can run, else memory').choices(
        DATAPLANE_KINDS,
      ),
    )
    .option('--tap <path|port>', 'memory data plane: listen for packets on this Unix socket path, or loopback TCP port')
    .option('--report-interval-ms <ms>', 'period of activity reports', positiveInteger, 5_000)
    .option('--controller <host:port[,host:port…]>', 'dial these controller replicas instead of the address(es) given at enrollment (failover in this order)')
    .option('--no-fast-path', 'linux: keep every packet in userspace (by default conversations the engine only readdresses are handed to nftables after their first packets)')
    .option('--standalone', 'run without a controller: rules from --rules or `portfleet-agent rules import`, edition from `license activate` (else a 30-day trial)')
    .option('--rules <file>', 'standalone: this host\'s rule list (rules file format), applied at start and again on SIGHUP; allowed in every edition')
    .addOption(stateDirOption())
    .action(async (options: RunOptions) => {
      if (options.rules !== undefined && !options.standalone) throw new CliError('--rules needs --standalone (a managed agent gets its rules from the controller)');
      const log = createLogger();
      const store = new StateStore(options.stateDir);
      let credential;
      try {
        credential = options.standalone ? undefined : await store.readCredential();
      } catch (error) {
        if (error instanceof StateFileCorruptError) {
          throw new CliError(`${error.message}; enroll again with \`portfleet-agent enroll --force --controller HOST:PORT --token T\``, EXIT_NOT_ENROLLED);
        }
        throw error;
      }
      if (credential === null) {
        throw new CliError(
          `not enrolled (no ${store.path('credential')}); run \`portfleet-agent enroll --controller HOST:PORT --token T\` first, or \`run --standalone\``,
          EXIT_NOT_ENROLLED,
        );
      }

      if (options.controller !== undefined) {
        if (!credential) throw new CliError('--controller needs an enrolled agent (not --standalone)');
        try {
          controllerTargets(options.controller);
        } catch (error) {
          throw new CliError(`--${(error as Error).message}`);
        }
        credential = { ...credential, controller: options.controller };
      }

      let standaloneEdition: Edition | undefined;
      if (options.standalone) {
        standaloneEdition = await standaloneEditionOf(store, log);
        if (options.rules !== undefined) await queueRulesFile(options.rules, standaloneEdition, store.dir);
      }

      const chosen = options.dataplane
        ? { kind: options.dataplane, reason: '--dataplane' }
        : options.tap !== undefined
          ? { kind: 'memory' as const, reason: '--tap' }
          : defaultDataPlane();
      const engine = new Engine();
      const plane = createDataPlane(chosen.kind, { tap: options.tap, offloadTo: options.fastPath ? engine : undefined });
      log.info({ event: 'dataplane.chosen', dataplane: chosen.kind, reason: chosen.reason }, `data plane: ${chosen.kind} (${chosen.reason})`);
      const changer = platformMacChanger();
      const agent = new Agent({
        credential,
        tls: credential ? await startupTlsFiles(store.dir, credential, agentHostname(), log) : undefined,
        standaloneEdition,
        macs: changer && new AdapterMacService({ store, changer, listAdapters: () => plane.adapters() }),
        store,
        plane,
        engine,
        log,
        reportIntervalMs: options.reportIntervalMs,
        announce,
      });
      log.info(
        { event: 'agent.starting', agentId: credential?.agentId, controller: credential?.controller ?? 'none (standalone)', stateDir: store.dir, dataplane: plane.capabilities.kind },
        'agent starting',
      );
      // `rules import` sends SIGHUP to have waiting imports applied at once; --rules is read again.
      const reload = () =>
        void (async () => {
          if (options.rules !== undefined && standaloneEdition) await queueRulesFile(options.rules, standaloneEdition, store.dir);
          await agent.applyImported();
        })().catch((error: Error) => log.error({ event: 'rules.import_failed', error: error.message }, 'could not apply the rules file; the running list is unchanged'));
      process.on('SIGHUP', reload);
      // Listening before anything is announced: a supervisor may signal as soon as it reads a line.
      const stopRequested = new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          log.info({ event: 'agent.stopping', signal }, 'agent stopping');
          process.off('SIGINT', shutdown);
          process.off('SIGTERM', shutdown);
          resolve();
        };
        process.on('SIGINT', shutdown);
        process.on('SIGTERM', shutdown);
      });
      try {
        await agent.start();
      } catch (error) {
        await agent.stop().catch(() => undefined);
        throw new CliError(`could not start: ${(error as Error).message}`);
      }
      await writePidFile(store.dir);
      const tap = plane instanceof MemoryDataPlane ? plane.tapAddress() : undefined;
      if (tap) announce(`PORTFLEET_AGENT_TAP listening=${tap}`);
      announce(`PORTFLEET_AGENT_STARTED dataplane=${chosen.kind}`);

      await stopRequested;
      process.off('SIGHUP', reload);
      await agent.stop();
      await removePidFile(store.dir);
      log.info({ event: 'agent.stopped' }, 'agent stopped');
    });
}
