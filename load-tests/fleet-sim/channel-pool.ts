import * as grpc from '@grpc/grpc-js';
import { AgentServiceClient } from '@portfleet/proto/gen/agent';
import { ConnectChannel } from './connect-channel';

/** Streams per HTTP/2 connection: below the server's SETTINGS_MAX_CONCURRENT_STREAMS, or extra streams hang. */
export const DEFAULT_AGENTS_PER_CHANNEL = 100;

/**
 * Connections for many simulated agents: agent i rides channel ⌊i / perChannel⌋, so 10,000
 * agents need 100 sockets, not 10,000 (a process has ~20,000 open files here). Connect streams go
 * over the channel's own HTTP/2 connection (connect-channel.ts); enrollment (unary, once per host)
 * over a grpc-js client per channel, each with its own subchannel pool: grpc-js would otherwise
 * share one connection between all clients of the same target.
 *
 * With several targets (controller replicas) channel c starts on target c mod T, so the fleet is
 * spread over the replicas as a TCP load balancer would spread it, and attempt k of an agent uses
 * the target k places after that one (failover to the next replica).
 */
export class ChannelPool {
  readonly targets: readonly string[];
  /** Per target, its channels' grpc-js clients (enrollment). */
  private readonly clients: AgentServiceClient[][];
  /** Per target, its channels' connections for Connect streams. */
  private readonly connects: ConnectChannel[][];

  constructor(
    targets: string | readonly string[],
    readonly perChannel = DEFAULT_AGENTS_PER_CHANNEL,
  ) {
    if (!Number.isInteger(perChannel) || perChannel < 1) throw new RangeError('agentsPerChannel must be an integer ≥ 1');
    this.targets = typeof targets === 'string' ? [targets] : [...targets];
    if (this.targets.length === 0) throw new RangeError('at least one target is needed');
    this.clients = this.targets.map(() => []);
    this.connects = this.targets.map(() => []);
  }

  /** Index into `targets` of agent `agentIndex`'s attempt `attempt` (0 = where it starts). */
  targetIndex(agentIndex: number, attempt = 0): number {
    return (Math.floor(agentIndex / this.perChannel) + attempt) % this.targets.length;
  }

  clientFor(agentIndex: number, attempt = 0): AgentServiceClient {
    const channel = Math.floor(agentIndex / this.perChannel);
    const t = this.targetIndex(agentIndex, attempt);
    this.clients[t][channel] ??= new AgentServiceClient(this.targets[t], grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
    return this.clients[t][channel];
  }

  /** Agent `agentIndex`'s Connect streams for attempt `attempt`: over its channel's HTTP/2 connection (connect-channel.ts). */
  connectorFor(agentIndex: number, attempt = 0): ConnectChannel {
    const channel = Math.floor(agentIndex / this.perChannel);
    const t = this.targetIndex(agentIndex, attempt);
    return (this.connects[t][channel] ??= new ConnectChannel(this.targets[t]));
  }

  /** Channels in use (enrolling, streaming or both). */
  get channels(): number {
    let n = 0;
    this.targets.forEach((_, t) => {
      for (let c = 0; c < Math.max(this.clients[t]!.length, this.connects[t]!.length); c++) if (this.clients[t]![c] || this.connects[t]![c]) n++;
    });
    return n;
  }

  close(): void {
    for (const perTarget of [...this.clients, ...this.connects]) {
      for (const client of perTarget) client?.close();
      perTarget.length = 0;
    }
  }
}
