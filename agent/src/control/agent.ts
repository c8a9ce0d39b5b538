import { ruleErrorFromWire, type Edition } from '@portfleet/proto';
import type { AdapterCommand, AdapterCommandResult, AgentMessage, Hello } from '@portfleet/proto/gen/agent';
import type { Logger } from 'pino';
import type { DataPlane } from '../divert/dataplane';
import type { AdapterMacService } from '../mac/adapter-mac-service';
import { PacketPump, type PacketProcessor } from '../divert/pump';
import { RuleApplier, type RuleEngine } from './apply';
import type { BackoffOptions } from './backoff';
import { ControllerLink } from './client';
import type { AgentTlsFiles } from './tls/agent-identity';
import { CertificateRenewer } from './tls/renewal';
import { agentHostname, agentPlatform, agentVersion } from './host-info';
import { ActivityReporter, type RuleCounters } from './reporter';
import { RuleInbox } from './rule-inbox';
import { systemResolver, type NameResolver } from './resolve-names';
import type { Credential, StateStore } from './state-store';

export interface AgentEngine extends RuleEngine, PacketProcessor {
  counters(): readonly RuleCounters[];
}

export interface AgentOptions {
  /** Absent: standalone, rules only from local imports, no controller. */
  credential?: Credential;
  /** The TLS identity stored at enrollment; absent when the controller ran without TLS. */
  tls?: AgentTlsFiles;
  /** Standalone: the edition every list is held to (from the local serial key or the trial). */
  standaloneEdition?: Edition;
  store: StateStore;
  plane: DataPlane;
  engine: AgentEngine;
  log: Logger;
  reportIntervalMs: number;
  resolve?: NameResolver;
  backoff?: BackoffOptions;
  /** MAC changes on the controller's command; absent where the OS has no MAC changer. */
  macs?: AdapterMacService;
  /** Lines for whoever supervises the process (tests wait for them). */
  announce?: (line: string) => void;
}

/**
 * One running agent: the persisted rules are in the engine before the controller is asked; then
 * the packet pump, the controller link, the apply pipeline and the activity reporter run until
 * `stop`.
 */
export class Agent {
  private readonly applier: RuleApplier;
  private readonly reporter: ActivityReporter;
  private readonly link: ControllerLink | undefined;
  private readonly renewer: CertificateRenewer | undefined;
  private readonly inbox: RuleInbox;
  private readonly pump: PacketPump;
  /** Acks that found no live stream; sent after the next Welcome. */
  private readonly owedAcks: AgentMessage[] = [];
  private pumping: Promise<void> | undefined;

  constructor(private readonly options: AgentOptions) {
    const { credential, store, plane, engine, log } = options;
    const announce = options.announce ?? (() => undefined);
    this.applier = new RuleApplier({
      engine,
      store,
      plane,
      log,
      resolve: options.resolve ?? systemResolver,
      identity: { agentId: credential?.agentId ?? '', controllerPublicKey: credential?.controllerPublicKey },
      standaloneEdition: options.standaloneEdition,
      onApplied: (ruleSet, source) => announce(`PORTFLEET_AGENT_APPLIED version=${ruleSet.version} source=${source}`),
    });
    this.inbox = new RuleInbox(store.dir);
    this.pump = new PacketPump(plane, engine, (error) => log.error({ event: 'engine.error', error: String(error) }, 'the engine failed on a batch; its packets were dropped'));
    this.reporter = new ActivityReporter({
      counters: () => engine.counters(),
      store,
      log,
      intervalMs: options.reportIntervalMs,
      send: (report) => this.link?.send({ body: { $case: 'activity', value: report } }) ?? false,
    });
    if (!credential) return;

    const link = new ControllerLink({ credential, tls: options.tls, log, backoff: options.backoff, hello: () => this.hello() });
    this.link = link;
    if (options.tls) {
      this.renewer = new CertificateRenewer({ stateDir: store.dir, credential, hostname: agentHostname(), log, current: options.tls, onRenewed: (files) => link.useTls(files) });
    }
    link.on('connected', (welcome) => {
      announce(`PORTFLEET_AGENT_CONNECTED agent=${welcome.agentId || credential.agentId}`);
      for (const ack of this.owedAcks.splice(0)) link.send(ack);
      void this.reporter.onConnected(welcome.activitySeqStored);
    });
    link.on('apply', (message) => {
      log.info({ event: 'rules.received', pushId: message.pushId, version: message.ruleSet?.version }, 'rule set received');
      void this.applier.handle(message).then((ack) => {
        const reply: AgentMessage = { body: { $case: 'ack', value: ack } };
        if (!link.send(reply)) this.owedAcks.push(reply);
      });
    });
    link.on('activityAck', (seq) => void this.reporter.onAck(seq));
    link.on('adapterCommand', (command) => void this.runAdapterCommand(command));
  }

  /**
   * Carries out one MAC command and answers with its result and the new inventory; a fresh Hello
   * follows so the controller's view of the host's adapters is current too. A result that finds
   * no stream is dropped: the command's effect shows in the next Hello.
   */
  private async runAdapterCommand(command: AdapterCommand): Promise<void> {
    const { macs, log, announce } = this.options;
    const action = command.action;
    let result: AdapterCommandResult;
    try {
      if (!macs) throw new Error(`changing MAC addresses is not supported on ${agentPlatform()}`);
      if (!action) throw new Error('the command names no action (set_mac, random_mac_vendor or restore_mac)');
      const done =
        action.$case === 'setMac'
          ? await macs.setMac(command.adapter, action.value)
          : action.$case === 'randomMacVendor'
            ? await macs.randomMac(command.adapter, action.value)
            : await macs.restoreMac(command.adapter);
      result = { commandId: command.commandId, ok: true, error: '', mac: done.mac, adapters: done.adapters };
      log.info({ event: 'adapter.mac_changed', commandId: command.commandId, adapter: done.adapter, mac: done.mac, original: done.original }, 'adapter MAC changed');
      announce?.(`PORTFLEET_AGENT_MAC adapter=${done.adapter} mac=${done.mac} original=${done.original}`);
    } catch (error) {
      const message = (error as Error).message;
      log.warn({ event: 'adapter.mac_failed', commandId: command.commandId, adapter: command.adapter, error: message }, 'adapter command failed');
      result = { commandId: command.commandId, ok: false, error: message, mac: '', adapters: await this.options.plane.adapters().catch(() => []) };
    }
    this.link?.send({ body: { $case: 'adapterResult', value: result } });
    const hello = await this.hello().catch(() => undefined);
    if (hello) this.link?.send({ body: { $case: 'hello', value: hello } });
  }

  async start(): Promise<void> {
    const { plane, store } = this.options;
    await store.init();
    await plane.open();
    await this.applier.restore();
    await this.applyImported();
    this.pumping = this.pump.start();
    if (!this.link) return;
    await this.reporter.load();
    this.reporter.start();
    this.link.start();
    this.renewer?.start();
  }

  /**
   * Applies rules waiting from `portfleet-agent rules import` like a push (apply delay, DNS,
   * engine, persist). A controller that manages this agent replaces them with its next push.
   */
  async applyImported(): Promise<void> {
    const { log } = this.options;
    const taken = await this.inbox.take(this.applier.applied);
    if (!taken) return;
    if (!taken.ok) {
      await this.inbox.settle({ applied: false, version: 0, errors: taken.errors, atMs: Date.now() });
      log.error({ event: 'rules.import_rejected', errors: taken.errors }, 'the imported rules file is not valid; nothing changed');
      return;
    }
    const ack = await this.applier.handle(taken.value, 'import');
    const errors = ack.errors.map(ruleErrorFromWire);
    await this.inbox.settle({ applied: ack.applied, version: ack.version, errors, atMs: Date.now() });
    if (!ack.applied) log.error({ event: 'rules.import_rejected', errors }, 'the imported rules cannot be applied; nothing changed');
  }

  /** Final report written (and sent if possible), stream closed, state flushed. */
  async stop(): Promise<void> {
    this.renewer?.stop();
    this.applier.stop();
    if (this.link) {
      await this.reporter.stop();
      await this.link.stop();
    }
    await this.options.plane.close();
    await this.pumping;
    await this.options.store.flush();
  }

  private async hello(): Promise<Hello> {
    const applied = this.applier.applied;
    const { plane } = this.options;
    return {
      hostname: agentHostname(),
      platform: agentPlatform(),
      version: agentVersion(),
      adapters: await plane.adapters(),
      dataplane: { ...plane.capabilities },
      appliedRuleSetId: applied?.ruleSetId ?? '',
      appliedVersion: applied?.version ?? 0,
      appliedContentHash: applied?.contentHash ?? '',
    };
  }
}
