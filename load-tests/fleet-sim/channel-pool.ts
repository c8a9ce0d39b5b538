import * as grpc from '@grpc/grpc-js';
import { AgentServiceClient } from '@portfleet/proto/gen/agent';

/** Streams per HTTP/2 connection: below the server's SETTINGS_MAX_CONCURRENT_STREAMS, or extra streams hang. */
export const DEFAULT_AGENTS_PER_CHANNEL = 100;

/**
 * gRPC channels for many simulated agents: agent i rides channel ⌊i / perChannel⌋, so 10,000
 * agents need 100 sockets, not 10,000 (a process has ~20,000 open files here). Each channel gets
 * its own subchannel pool: grpc-js would otherwise share one connection between all clients of
 * the same target and put every stream on it.
 */
export class ChannelPool {
  private readonly clients: AgentServiceClient[] = [];

  constructor(
    readonly target: string,
    readonly perChannel = DEFAULT_AGENTS_PER_CHANNEL,
  ) {
    if (!Number.isInteger(perChannel) || perChannel < 1) throw new RangeError('agentsPerChannel must be an integer ≥ 1');
  }

  clientFor(agentIndex: number): AgentServiceClient {
    const channel = Math.floor(agentIndex / this.perChannel);
    this.clients[channel] ??= new AgentServiceClient(this.target, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
    return this.clients[channel];
  }

  get channels(): number {
    return this.clients.filter(Boolean).length;
  }

  close(): void {
    for (const client of this.clients) client?.close();
    this.clients.length = 0;
  }
}
