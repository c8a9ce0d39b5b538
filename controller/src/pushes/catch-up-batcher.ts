import type { Agent } from '../generated/prisma/client';

interface Waiting {
  agent: Agent;
  resolve(pushId: string | undefined): void;
  reject(err: unknown): void;
}

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
  private queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(private readonly run: CatchUpRun) {}

  take(agent: Agent): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ agent, resolve, reject });
      if (this.queue.length >= CATCH_UP_BATCH_SIZE) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), CATCH_UP_BATCH_MS);
    });
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, CATCH_UP_BATCH_SIZE);
      this.inFlight++;
      void this.settle(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length >= CATCH_UP_BATCH_SIZE) this.kick();
        else if (this.queue.length > 0) this.timer ??= setTimeout(() => this.kick(), CATCH_UP_BATCH_MS);
      });
    }
  }

  private async settle(batch: Waiting[]): Promise<void> {
    // An agent that said Hello twice is caught up once, from its latest row.
    const agents = new Map(batch.map((w) => [w.agent.id, w.agent]));
    try {
      const sent = await this.run([...agents.values()]);
      for (const w of batch) w.resolve(sent.get(w.agent.id));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
