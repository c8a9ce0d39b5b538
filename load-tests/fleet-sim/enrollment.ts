import * as grpc from '@grpc/grpc-js';
import type { EnrollResponse } from '@portfleet/proto/gen/agent';
import type { ChannelPool } from './channel-pool';
import { mapLimited } from './concurrency';
import { SIM_PLATFORM, SIM_VERSION, simulatedHostname } from './inventory';
import type { AgentIdentity } from './sim-agent';

/** Hands out one fresh one-time enrollment token per call (POST /api/enrollment-tokens). */
export type TokenSource = () => Promise<string>;

export interface EnrollFleetOptions {
  pool: ChannelPool;
  count: number;
  tokens: TokenSource;
  /** Hosts are named `<prefix>-00000`, `<prefix>-00001`, … */
  hostnamePrefix?: string;
  firstIndex?: number;
  /** Enrollments in flight at once (a real rollout is batched, not 10,000 at the same instant). */
  concurrency?: number;
  timeoutMs?: number;
  /** Called after each enrollment, e.g. for progress. */
  progress?: (done: number) => void;
}

const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);
const ATTEMPTS = 3;

/**
 * Enrolls `count` simulated hosts over real gRPC, each with its own one-time token, a bounded
 * number at a time. A transient failure is retried with the same token (it is spent only when the
 * enrollment committed); anything else fails the whole enrollment with the host's name.
 */
export async function enrollFleet(options: EnrollFleetOptions): Promise<AgentIdentity[]> {
  const { pool, count, tokens, hostnamePrefix = 'sim', firstIndex = 0, concurrency = 16, timeoutMs = 30_000, progress } = options;
  let done = 0;
  const indexes = Array.from({ length: count }, (_, i) => firstIndex + i);
  return mapLimited(indexes, concurrency, async (index) => {
    const hostname = simulatedHostname(hostnamePrefix, index);
    const token = await tokens();
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await enrollOne(pool, index, { token, hostname, platform: SIM_PLATFORM, version: SIM_VERSION }, timeoutMs);
        progress?.(++done);
        return { index, hostname, agentId: res.agentId, credential: res.credential };
      } catch (error) {
        const e = error as grpc.ServiceError;
        if (attempt < ATTEMPTS && TRANSIENT.has(e.code)) {
          await new Promise((r) => setTimeout(r, 200 * attempt));
          continue;
        }
        throw new Error(`enrolling ${hostname}: ${grpc.status[e.code] ?? ''} ${e.details ?? e.message}`);
      }
    }
  });
}

function enrollOne(
  pool: ChannelPool,
  index: number,
  request: { token: string; hostname: string; platform: string; version: string },
  timeoutMs: number,
): Promise<EnrollResponse> {
  return new Promise((resolve, reject) => {
    pool.clientFor(index).enroll(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}
