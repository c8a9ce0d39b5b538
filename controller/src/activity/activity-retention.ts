import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { ADD_TO_STORED_BUCKET, HOUR_MS, minuteCutoffMs } from './activity-buckets';
import { ACTIVITY_SETTINGS, type ActivitySettings } from './activity-settings';

/** The first run waits a little: a starting controller has enough to do. */
const FIRST_RUN_DELAY_MS = 60_000;

/**
 * Keeps activity_stored_buckets bounded: minute buckets older than the minute retention are summed into
 * their hour (stored in the hour's first minute, so totals never change), and hour buckets older
 * than the retention are deleted. Runs every PORTFLEET_ACTIVITY_RETENTION_INTERVAL_S. Safe on
 * several replicas at once: a minute row is deleted, and so added to its hour, by one of them only.
 */
@Injectable()
export class ActivityRetention implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  /** Hours before this are rolled up already (the writer puts reports older than the cutoff into hours itself). */
  private rolledUpTo?: number;

  constructor(
    private readonly db: PrismaService,
    @Inject(ACTIVITY_SETTINGS) private readonly settings: ActivitySettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const tick = () => {
      this.running ??= this.run()
        .catch((err: unknown) => this.logger.warn({ err }, 'activity retention failed; retrying at the next interval'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, this.settings.retentionIntervalMs).unref();
    }, Math.min(FIRST_RUN_DELAY_MS, this.settings.retentionIntervalMs)).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: delete what passed the retention, then roll up what passed the minute cutoff. */
  async run(nowMs = Date.now()): Promise<{ hourRows: number; deletedRows: number }> {
    const cutoff = minuteCutoffMs(nowMs, this.settings.minuteRetentionMs);
    const dropBefore = Math.floor((nowMs - this.settings.retentionMs) / HOUR_MS) * HOUR_MS;
    const deletedRows = await this.db.$executeRaw`DELETE FROM activity_stored_buckets WHERE bucket_start < ${new Date(dropBefore)}`;
    let hourRows = 0;
    const from = Math.max(this.rolledUpTo ?? (await this.oldestMinuteHour(cutoff)), dropBefore);
    for (let hour = from; hour < cutoff; hour += HOUR_MS) hourRows += await this.rollUpHour(hour);
    this.rolledUpTo = cutoff;
    if (hourRows > 0 || deletedRows > 0) this.logger.info({ hourRows, deletedRows, minutesBefore: new Date(cutoff).toISOString(), deletedBefore: new Date(dropBefore).toISOString() }, 'activity retention');
    return { hourRows, deletedRows };
  }

  /** The hour of the oldest minute bucket before the cutoff (only scanned on the first pass). */
  private async oldestMinuteHour(cutoff: number): Promise<number> {
    const [row] = await this.db.$queryRaw<{ oldest: Date | null }[]>`
      SELECT min(bucket_start) AS oldest FROM activity_stored_buckets
       WHERE bucket_start < ${new Date(cutoff)} AND bucket_start <> date_trunc('hour', bucket_start)`;
    return row?.oldest ? Math.floor(row.oldest.getTime() / HOUR_MS) * HOUR_MS : cutoff;
  }

  /** Moves the hour's minute rows into its first minute's row, in one statement (all or nothing). */
  private async rollUpHour(hourMs: number): Promise<number> {
    const hour = new Date(hourMs);
    const next = new Date(hourMs + HOUR_MS);
    return this.db.$executeRaw`
      WITH minutes AS (
        DELETE FROM activity_stored_buckets
         WHERE bucket_start > ${hour} AND bucket_start < ${next}
        RETURNING agent_id, rule_id, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
      INSERT INTO activity_stored_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
      SELECT agent_id, rule_id, ${hour}, sum(packets_in), sum(bytes_in), sum(packets_out), sum(bytes_out), sum(conversations), max(last_hit_at)
        FROM minutes GROUP BY agent_id, rule_id
      ${Prisma.raw(ADD_TO_STORED_BUCKET)}`;
  }
}
