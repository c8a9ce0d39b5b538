import { Batcher } from '../agents/batcher';
import type { Agent } from '../generated/prisma/client';

/** Hellos are caught up together: after this long or at this many agents, whichever comes first. */
export const CATCH_UP_BATCH_MS = 50;
export const CATCH_UP_BATCH_SIZE = 500;
/** Batches run at once (one collects while another sends; the pool has 10 connections). */
const IN_FLIGHT = 2;

/** Catches a batch of agents up; answers, per agent id, the push sent to it. */
export type CatchUpRun = (agents: readonly Agent[]) => Promise<ReadonlyMap<string, string>>;

/**
 * Collects the catch-ups of agents saying Hello so a reconnect storm costs a few queries per
 * batch instead of per agent. `take` resolves with the push sent to the agent once its batch is
 * done, and rejects when the batch failed.
 */
export class CatchUpBatcher {
  private readonly batcher: Batcher<Agent, string | undefined>;

  /** `failed`: what the agents of a failed batch get instead of its error (BatcherOptions.failed). */
  constructor(run: CatchUpRun, failed?: (error: unknown, agents: number) => unknown) {
    this.batcher = new Batcher(
      async (agents) => {
        // An agent that said Hello twice is caught up once, from its latest row.
        const latest = new Map(agents.map((a) => [a.id, a]));
        const sent = await run([...latest.values()]);
        return agents.map((a) => sent.get(a.id));
      },
      { maxItems: CATCH_UP_BATCH_SIZE, maxDelayMs: CATCH_UP_BATCH_MS, maxInFlight: IN_FLIGHT, failed },
    );
  }

  take(agent: Agent): Promise<string | undefined> {
    return this.batcher.add(agent);
  }
}
