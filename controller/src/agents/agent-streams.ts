import { Injectable } from '@nestjs/common';
import type { ControllerMessage } from '@portfleet/proto/gen/agent';

/**
 * What goes out on a Connect stream: a message, or a ControllerMessage already encoded (a push's
 * ApplyRuleSet is encoded once for all its agents: pushes/apply-messages.ts).
 */
export type OutgoingMessage = ControllerMessage | Buffer;

/** One live Connect stream, as the domain sees it: something that delivers messages to an agent. */
export interface AgentStream {
  send(message: OutgoingMessage): boolean;
  /**
   * Ends the stream: gracefully (a newer stream for the same agent replaced it, shutdown), or
   * with `reason`, the error the agent receives as the call's status (it was retired).
   */
  close(reason?: Error): void;
}

/**
 * The agents connected to this controller right now. An agent is online exactly while it has a
 * stream here; a reconnect replaces (and closes) the older stream.
 */
@Injectable()
export class AgentStreams {
  private readonly streams = new Map<string, AgentStream>();

  attach(agentId: string, stream: AgentStream): void {
    const previous = this.streams.get(agentId);
    this.streams.set(agentId, stream);
    if (previous && previous !== stream) previous.close();
  }

  /** True when `stream` was still the agent's current one (a replaced stream detaching is not "offline"). */
  detach(agentId: string, stream: AgentStream): boolean {
    if (this.streams.get(agentId) !== stream) return false;
    this.streams.delete(agentId);
    return true;
  }

  isOnline(agentId: string): boolean {
    return this.streams.has(agentId);
  }

  /** False when the agent is not connected (it will catch up on its next Hello). */
  send(agentId: string, message: OutgoingMessage): boolean {
    const stream = this.streams.get(agentId);
    return stream ? stream.send(message) : false;
  }

  onlineIds(): string[] {
    return [...this.streams.keys()];
  }

  count(): number {
    return this.streams.size;
  }

  /** Ends the agent's stream with `reason` (it was retired). */
  closeAgent(agentId: string, reason: Error): void {
    const stream = this.streams.get(agentId);
    this.streams.delete(agentId);
    stream?.close(reason);
  }

  closeAll(): void {
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }
}
