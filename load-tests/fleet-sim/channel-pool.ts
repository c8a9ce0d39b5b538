import * as grpc from '@grpc/grpc-js';
import { AgentMessage, type AgentServiceClient, AgentServiceService } from '@portfleet/proto/gen/agent';

/**
 * The generated client, except that Connect also takes an AgentMessage already encoded (a Buffer,
 * sent as is): the simulator writes its activity reports' bytes itself (report-writer.ts).
 */
const SimAgentServiceClient = grpc.makeGenericClientConstructor(
  {
    ...AgentServiceService,
    connect: {
      ...AgentServiceService.connect,
      requestSerialize: (value: AgentMessage | Buffer): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(AgentMessage.encode(value).finish())),
    },
  },
  'portfleet.v1.AgentService',
) as unknown as new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => AgentServiceClient;

/** Streams per HTTP/2 connection: below the server's SETTINGS_MAX_CONCURRENT_STREAMS, or extra streams hang. */
export const DEFAULT_AGENTS_PER_CHANNEL = 100;

/**
 * gRPC channels for many simulated agents: agent i rides channel ⌊i / perChannel⌋, so 10,000
 * agents need 100 sockets, not 10,000 (a process has ~20,000 open files here). Each channel gets
 * its own subchannel pool: grpc-js would otherwise share one connection between all clients of
 * the same target and put every stream on it.
 *
 * With several targets (controller replicas) channel c starts on target c mod T, so the fleet is
 * spread over the replicas as a TCP load balancer would spread it, and attempt k of an agent uses
 * the target k places after that one (failover to the next replica).
 */
export class ChannelPool {
  readonly targets: readonly string[];
  /** Per target, its channels. */
  private readonly clients: AgentServiceClient[][];

  constructor(
    targets: string | readonly string[],
    readonly perChannel = DEFAULT_AGENTS_PER_CHANNEL,
  ) {
    if (!Number.isInteger(perChannel) || perChannel < 1) throw new RangeError('agentsPerChannel must be an integer ≥ 1');
    this.targets = typeof targets === 'string' ? [targets] : [...targets];
    if (this.targets.length === 0) throw new RangeError('at least one target is needed');
    this.clients = this.targets.map(() => []);
  }

  /** Index into `targets` of agent `agentIndex`'s attempt `attempt` (0 = where it starts). */
  targetIndex(agentIndex: number, attempt = 0): number {
    return (Math.floor(agentIndex / this.perChannel) + attempt) % this.targets.length;
  }

  clientFor(agentIndex: number, attempt = 0): AgentServiceClient {
    const channel = Math.floor(agentIndex / this.perChannel);
    const t = this.targetIndex(agentIndex, attempt);
    this.clients[t][channel] ??= new SimAgentServiceClient(this.targets[t], grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
    return this.clients[t][channel];
  }

  get channels(): number {
    return this.clients.reduce((n, perTarget) => n + perTarget.filter(Boolean).length, 0);
  }

  close(): void {
    for (const perTarget of this.clients) {
      for (const client of perTarget) client?.close();
      perTarget.length = 0;
    }
  }
}
