import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import type { QueuedReport, ReportOutcome } from './activity-batch';
import { ActivityError } from './activity.errors';
import type { ActivityReportInput } from './activity.service';
import { ACTIVITY_SETTINGS, type ActivitySettings } from './activity-settings';
import { MAX_BATCH_REPORTS, storeBatch } from './store-batch';

/**
 * A batch is written once it holds this many samples (a report has one per monitored rule, up to
 * 50) or MAX_BATCH_REPORTS reports… A report is one raw row (~1.3 µs of PostgreSQL per sample),
 * so a batch takes tens of ms: a report waits at most for the batch in flight plus its own, well
 * inside the 1-s lag budget, while the per-batch round trips and commit stay a small share.
 */
const MAX_BATCH_SAMPLES = 20_000;
/** …or this long after the writer found reports waiting (more arrive meanwhile: fewer, larger transactions). */
const LINGER_MS = 20;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** On shutdown, what is queued gets this long to be written. */
const STOP_FLUSH_MS = 5_000;

interface Pending extends QueuedReport {
  resolve: (outcome: ReportOutcome) => void;
}

/**
 * The activity ingest queue: reports from every stream, written in batches (store-batch.ts) by a
 * few writer connections of its own (plain node-postgres: the hot path needs no ORM). An agent's
 * reports always go to the same writer, so they are stored in the order they arrived. A batch that
 * fails (PostgreSQL down, restarting, a lost connection) stays at the head of its queue and is
 * retried with backoff until it commits; a report's promise resolves only after its batch commits.
 * The queue is bounded: when full, `enqueue` waits for room (for a while, then refuses).
 */
@Injectable()
export class ActivityWriter implements OnModuleDestroy {
  private readonly pool: Pool;
  private readonly queues: Pending[][];
  private readonly running: Promise<void>[];
  private readonly wake: ((() => void) | undefined)[];
  private queued = 0;
  /** Samples in the queued reports: a report has up to 50, so the memory bound counts these too. */
  private queuedSamples = 0;
  private readonly roomWaiters: { samples: number; resolve: () => void; timer: NodeJS.Timeout }[] = [];
  private stopAt = Infinity;
  /** Batch attempts that failed and were retried (a deadlock, PostgreSQL away): 0 in a healthy run. */
  retries = 0;

  constructor(
    db: PrismaService,
    @Inject(ACTIVITY_SETTINGS) private readonly settings: ActivitySettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.pool = new Pool({ connectionString: db.databaseUrl, max: settings.writers, connectionTimeoutMillis: 5_000, query_timeout: 60_000 });
    // A backend killed while a connection is idle (PostgreSQL restarting) must not crash the process.
    this.pool.on('error', (err) => this.logger.warn({ err }, 'activity writer: idle connection lost'));
    this.pool.on('connect', (client) => client.on('error', (err) => this.logger.debug({ err }, 'activity writer: connection error')));
    this.queues = Array.from({ length: settings.writers }, () => []);
    this.wake = this.queues.map(() => undefined);
    this.running = this.queues.map((_, i) => this.run(i));
  }

  /** Reports waiting to be written. */
  get depth(): number {
    return this.queued;
  }

  /**
   * Queues a report. While the queue is full this waits for room (backpressure: the stream's next
   * messages wait too) and gives up after `PORTFLEET_ACTIVITY_QUEUE_WAIT_S` with
   * ActivityError.overloaded. `durable` resolves once the report's batch committed: stored, a
   * duplicate, or its agent is gone.
   */
  async enqueue(agentId: string, report: ActivityReportInput): Promise<{ durable: Promise<ReportOutcome> }> {
    const samples = report.rules.length;
    if (this.mustWait()) await this.room(samples); // counted in by admitWaiting
    else this.count(1, samples);
    const durable = new Promise<ReportOutcome>((resolve) => this.push(agentId, report, resolve));
    return { durable };
  }

  /**
   * `enqueue` without waiting and without promises, for the stream's common case (4,000 reports a
   * second at the goal load): queues the report when there is room now and nobody waits for room,
   * and calls `done` once its batch committed. False (nothing queued) when the report must wait:
   * then the caller goes through `enqueue`, in the stream's order.
   */
  offer(agentId: string, report: ActivityReportInput, done: (outcome: ReportOutcome) => void): boolean {
    if (this.mustWait()) return false;
    this.count(1, report.rules.length);
    this.push(agentId, report, done);
    return true;
  }

  private push(agentId: string, report: ActivityReportInput, resolve: (outcome: ReportOutcome) => void): void {
    const shard = writerOf(agentId, this.queues.length);
    this.queues[shard]!.push({ agentId, report, resolve });
    this.wake[shard]?.();
  }

  /** A report waits when the queue is full or others already wait (they go first). */
  private mustWait(): boolean {
    return !this.hasRoom() || this.roomWaiters.length > 0;
  }

  private hasRoom(): boolean {
    return this.queued < this.settings.queueReports && this.queuedSamples < this.settings.queueSamples;
  }

  private count(reports: number, samples: number): void {
    this.queued += reports;
    this.queuedSamples += samples;
  }

  /** Waits, in arrival order, until the queue has room; throws when that takes too long or the writer stops. */
  private room(samples: number): Promise<void> {
    if (this.stopAt !== Infinity) return Promise.reject(ActivityError.overloaded(5));
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        samples,
        resolve,
        timer: setTimeout(() => {
          this.roomWaiters.splice(this.roomWaiters.indexOf(waiter), 1);
          reject(ActivityError.overloaded(5));
        }, this.settings.queueWaitMs),
      };
      this.roomWaiters.push(waiter);
    });
  }

  /** Lets waiting reports in while there is room (called whenever a batch left the queue). */
  private admitWaiting(): void {
    while (this.hasRoom() && this.roomWaiters.length > 0) {
      const waiter = this.roomWaiters.shift()!;
      clearTimeout(waiter.timer);
      this.count(1, waiter.samples); // reserved now, so a newcomer cannot take the room first
      waiter.resolve();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopAt = Date.now() + STOP_FLUSH_MS;
    for (const waiter of this.roomWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      this.count(1, waiter.samples);
      waiter.resolve(); // let it in: it is written with the rest, or its agent resends it
    }
    for (const wake of this.wake) wake?.();
    await Promise.race([Promise.all(this.running), sleep(STOP_FLUSH_MS + 1_000)]);
    if (this.queued > 0) this.logger.warn({ reports: this.queued }, 'activity writer stopped with reports unwritten (their agents resend them)');
    await Promise.race([this.pool.end(), sleep(1_000)]);
  }

  private async run(shard: number): Promise<void> {
    const queue = this.queues[shard]!;
    for (;;) {
      if (queue.length === 0) {
        if (this.stopAt !== Infinity) return;
        await new Promise<void>((resolve) => (this.wake[shard] = resolve));
        this.wake[shard] = undefined;
        continue;
      }
      if (batchLength(queue) === queue.length && this.stopAt === Infinity) await sleep(LINGER_MS);
      const batch = queue.slice(0, batchLength(queue));
      const outcomes = await this.write(batch);
      if (!outcomes) return;
      queue.splice(0, batch.length);
      this.count(-batch.length, -batchSamples(batch));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      this.admitWaiting();
    }
  }

  /** Writes one batch, retrying until it commits; undefined when shutting down gave up on it. */
  private async write(batch: Pending[]): Promise<ReportOutcome[] | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const client = await this.pool.connect();
        try {
          const outcomes = await storeBatch(client, batch);
          client.release();
          if (attempt > 0) this.logger.info({ attempts: attempt + 1, reports: batch.length }, 'activity writer: batch stored after retries');
          return outcomes;
        } catch (err) {
          client.release(err as Error);
          throw err;
        }
      } catch (err) {
        if (Date.now() >= this.stopAt) return undefined;
        this.retries++;
        const waitMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
        if (attempt === 0 || waitMs === RETRY_MAX_MS) this.logger.warn({ err, attempt: attempt + 1, reports: batch.length, queued: this.queued }, `activity writer: batch not stored, retrying in ${waitMs} ms`);
        await sleep(waitMs);
      }
    }
  }
}

function batchSamples(batch: readonly Pending[]): number {
  let samples = 0;
  for (const p of batch) samples += p.report.rules.length;
  return samples;
}

/** How many reports from the head of the queue make the next batch (at least one, however many samples it has). */
function batchLength(queue: readonly Pending[]): number {
  let samples = 0;
  const most = Math.min(queue.length, MAX_BATCH_REPORTS);
  for (let i = 0; i < most; i++) {
    samples += queue[i]!.report.rules.length;
    if (samples > MAX_BATCH_SAMPLES) return Math.max(1, i);
  }
  return most;
}

/** The writer an agent's reports go through: the same one every time, which keeps them in order. */
function writerOf(agentId: string, writers: number): number {
  let h = 0;
  for (let i = 0; i < agentId.length; i++) h = (h * 31 + agentId.charCodeAt(i)) | 0;
  return (h >>> 0) % writers;
}

// Unref'd: a writer waiting or backing off never keeps a stopping process alive.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
