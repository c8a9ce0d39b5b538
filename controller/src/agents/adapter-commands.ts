import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AdapterCommand, AdapterCommandResult } from '@portfleet/proto/gen/agent';
import { AgentStreams } from './agent-streams';
import { AgentError } from './agents.errors';

export const ADAPTER_COMMAND_TIMEOUT_MS = 15_000;

export type MacAction = AdapterCommand['action'];

interface Waiting {
  agentId: string;
  resolve(result: AdapterCommandResult): void;
  timer: NodeJS.Timeout;
}

/** Adapter commands in flight: sent on the agent's stream, answered by its AdapterCommandResult. */
@Injectable()
export class AdapterCommands {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly streams: AgentStreams) {}

  send(agentId: string, adapter: string, action: MacAction, timeoutMs = ADAPTER_COMMAND_TIMEOUT_MS): Promise<AdapterCommandResult> {
    const commandId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(commandId);
        reject(AgentError.timeout(agentId));
      }, timeoutMs);
      this.waiting.set(commandId, { agentId, resolve, timer });
      if (!this.streams.send(agentId, { body: { $case: 'adapterCommand', value: { commandId, adapter, action } } })) {
        clearTimeout(timer);
        this.waiting.delete(commandId);
        reject(AgentError.offline(agentId));
      }
    });
  }

  /** The agent's answer; false when nobody waits for it (late, or another agent's id). */
  settle(agentId: string, result: AdapterCommandResult): boolean {
    const w = this.waiting.get(result.commandId);
    if (!w || w.agentId !== agentId) return false;
    clearTimeout(w.timer);
    this.waiting.delete(result.commandId);
    w.resolve(result);
    return true;
  }
}
