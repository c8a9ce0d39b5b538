import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AdapterCommand, AdapterCommandResult, ControllerMessage } from '@portfleet/proto/gen/agent';
import { ClusterBus } from '../cluster/cluster-bus';
import { ClusterBusError } from '../cluster/cluster-bus.errors';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { AgentStreams } from './agent-streams';
import { AgentError } from './agents.errors';
import { ReplicaPresence } from './replica-presence';

export const ADAPTER_COMMAND_TIMEOUT_MS = 15_000;
/** Replica → replica holding the agent's stream: send this command on it. */
const COMMAND_CHANNEL = 'adapter_command';
/** Back to the replica that sent the command: the agent's answer, or that it is not connected. */
const ANSWER_CHANNEL = 'adapter_answer';

export type MacAction = AdapterCommand['action'];

interface Waiting {
  agentId: string;
  resolve(result: AdapterCommandResult): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

interface Forwarded {
  to: string;
  from: string;
  agentId: string;
  command: AdapterCommand;
}

interface Answer {
  to: string;
  agentId: string;
  commandId: string;
  /** Absent: the agent was not connected to that replica any more. */
  result?: AdapterCommandResult;
}

/**
 * Adapter commands in flight: sent on the agent's stream, answered by its AdapterCommandResult.
 * An agent connected to another replica gets the command through that replica (ClusterBus), which
 * sends the agent's answer back; the caller cannot tell the difference.
 */
@Injectable()
export class AdapterCommands implements OnModuleInit {
  private readonly waiting = new Map<string, Waiting>();
  /** Commands this replica sent for another one: commandId → where the answer goes. */
  private readonly relayed = new Map<string, { from: string; agentId: string; timer: NodeJS.Timeout }>();
  private readonly logger: Logger;

  constructor(
    private readonly streams: AgentStreams,
    private readonly db: PrismaService,
    private readonly replicas: ReplicaPresence,
    private readonly cluster: ClusterBus,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'adapter-commands' });
  }

  onModuleInit(): void {
    this.cluster.subscribe(COMMAND_CHANNEL, (payload) => this.onForwarded(JSON.parse(payload) as Forwarded));
    this.cluster.subscribe(ANSWER_CHANNEL, (payload) => this.onAnswer(JSON.parse(payload) as Answer));
  }

  async send(agentId: string, adapter: string, action: MacAction, timeoutMs = ADAPTER_COMMAND_TIMEOUT_MS): Promise<AdapterCommandResult> {
    const command: AdapterCommand = { commandId: randomUUID(), adapter, action };
    if (this.streams.isOnline(agentId)) return this.await(agentId, command.commandId, timeoutMs, () => this.streams.send(agentId, commandMessage(command)));
    const owner = await this.owner(agentId);
    if (!owner) throw AgentError.offline(agentId);
    const forwarded: Forwarded = { to: owner, from: this.replicas.id, agentId, command };
    return this.await(agentId, command.commandId, timeoutMs, async () => {
      await this.cluster.publish(COMMAND_CHANNEL, JSON.stringify(forwarded));
      return true;
    });
  }

  /** The agent's answer; false when nobody waits for it (late, or another agent's id). */
  settle(agentId: string, result: AdapterCommandResult): boolean {
    const w = this.waiting.get(result.commandId);
    if (w && w.agentId === agentId) {
      clearTimeout(w.timer);
      this.waiting.delete(result.commandId);
      w.resolve(result);
      return true;
    }
    const relay = this.relayed.get(result.commandId);
    if (!relay || relay.agentId !== agentId) return false;
    clearTimeout(relay.timer);
    this.relayed.delete(result.commandId);
    void this.answer({ to: relay.from, agentId, commandId: result.commandId, result });
    return true;
  }

  /** Registers the wait, then delivers; `deliver` false or throwing fails the command at once. */
  private await(agentId: string, commandId: string, timeoutMs: number, deliver: () => boolean | Promise<boolean>): Promise<AdapterCommandResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(commandId, AgentError.timeout(agentId)), timeoutMs);
      this.waiting.set(commandId, { agentId, resolve, reject, timer });
      Promise.resolve()
        .then(deliver)
        .then(
          (sent) => sent || this.fail(commandId, AgentError.offline(agentId)),
          (err: unknown) => this.fail(commandId, err),
        );
    });
  }

  private fail(commandId: string, err: unknown): void {
    const w = this.waiting.get(commandId);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(commandId);
    w.reject(err);
  }

  /** The live replica other than this one holding the agent's stream, if any. */
  private async owner(agentId: string): Promise<string | undefined> {
    const [row, live] = await Promise.all([this.db.agent.findUnique({ where: { id: agentId }, select: { connectedReplica: true } }), this.replicas.live()]);
    const replica = row?.connectedReplica;
    return replica && replica !== this.replicas.id && live.has(replica) ? replica : undefined;
  }

  private onForwarded(m: Forwarded): void {
    if (m.to !== this.replicas.id) return;
    if (!this.streams.send(m.agentId, commandMessage(m.command))) {
      void this.answer({ to: m.from, agentId: m.agentId, commandId: m.command.commandId });
      return;
    }
    const timer = setTimeout(() => this.relayed.delete(m.command.commandId), ADAPTER_COMMAND_TIMEOUT_MS);
    timer.unref();
    this.relayed.set(m.command.commandId, { from: m.from, agentId: m.agentId, timer });
  }

  private onAnswer(m: Answer): void {
    if (m.to !== this.replicas.id) return;
    const w = this.waiting.get(m.commandId);
    if (!w || w.agentId !== m.agentId) return;
    if (!m.result) {
      this.fail(m.commandId, AgentError.offline(m.agentId));
      return;
    }
    clearTimeout(w.timer);
    this.waiting.delete(m.commandId);
    w.resolve(m.result);
  }

  /** An answer too large for NOTIFY goes without its adapter list (the owning replica stored it). */
  private async answer(a: Answer): Promise<void> {
    try {
      await this.cluster.publish(ANSWER_CHANNEL, JSON.stringify(a)).catch((err: unknown) => {
        if (!(err instanceof ClusterBusError) || !a.result) throw err;
        return this.cluster.publish(ANSWER_CHANNEL, JSON.stringify({ ...a, result: { ...a.result, adapters: [] } }));
      });
    } catch (err) {
      this.logger.warn({ err, agentId: a.agentId, commandId: a.commandId }, 'could not send an adapter command answer to its replica');
    }
  }
}

function commandMessage(command: AdapterCommand): ControllerMessage {
  return { body: { $case: 'adapterCommand', value: command } };
}
