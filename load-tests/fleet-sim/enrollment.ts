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
  /** Called for every repeated attempt, with the error that caused it. */
  retried?: (reason: string) => void;
}

/** Failures that leave the token unspent (nothing committed): the same token is tried again. */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INTERNAL]);
const ATTEMPTS = 6;

/**
 * Enrolls `count` simulated hosts over real gRPC, each with its own one-time token, a bounded
 * number at a time. A retryable failure (overload, INTERNAL) is retried with backoff and the same
 * token; if that token turns out spent (an earlier attempt committed but its answer was lost), a
 * fresh token is used. Anything else fails the whole enrollment with the host's name. `retries`
 * counts the attempts that had to be repeated (a sign of an overloaded controller).
 */
export async function enrollFleet(options: EnrollFleetOptions): Promise<AgentIdentity[]> {
  const { pool, count, tokens, hostnamePrefix = 'sim', firstIndex = 0, concurrency = 16, timeoutMs = 30_000, progress, retried } = options;
  let done = 0;
  const indexes = Array.from({ length: count }, (_, i) => firstIndex + i);
  return mapLimited(indexes, concurrency, async (index) => {
    const hostname = simulatedHostname(hostnamePrefix, index);
    let token = await tokens();
    let retriedBefore = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await enrollOne(pool, index, { token, hostname, platform: SIM_PLATFORM, version: SIM_VERSION }, timeoutMs);
        progress?.(++done);
        return { index, hostname, agentId: res.agentId, credential: res.credential };
      } catch (error) {
        const e = error as grpc.ServiceError;
        const spentByLostAnswer = retriedBefore && e.code === grpc.status.PERMISSION_DENIED;
        if (attempt < ATTEMPTS && (RETRYABLE.has(e.code) || spentByLostAnswer)) {
          retried?.(`${grpc.status[e.code]}: ${e.details}`);
          retriedBefore = true;
          if (spentByLostAnswer) token = await tokens();
          await new Promise((r) => setTimeout(r, 250 * 2 ** attempt * (0.5 + Math.random() / 2)));
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
