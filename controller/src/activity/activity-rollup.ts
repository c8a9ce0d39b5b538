import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { ADD_TO_STORED_BUCKET, MINUTE_MS, minuteCutoffMs } from './activity-buckets';
import { ACTIVITY_SETTINGS, type ActivitySettings } from './activity-settings';

/** pg_advisory_xact_lock key of the rollup: one replica at a time moves raw rows into buckets. */
export const ROLLUP_LOCK_KEY = 0x70_66_61_72; // "pfar"
/**
 * Raw reports per rollup transaction (≈ 100,000 samples at 50 rules: a few hundred ms): a
 * minute of a large fleet is rolled up in many short transactions, never one that holds locks
 * and a snapshot for half a minute. Taken in (agent, seq) order, so an agent's reports of a
 * minute mostly meet in one transaction and make one bucket row per rule.
 */
const CHUNK_REPORTS = 2_000;
/** A minute is rolled up this long after it ended: reports of its last seconds are still on their way (lag). */
const GRACE_MS = 10_000;
/** Sorts before every uuid: where a pass's key cursor starts. */
const FIRST_KEY = { agentId: '00000000-0000-0000-0000-000000000000', seq: 0 };

/**
 * Sums raw reports (activity_raw_reports, one row per report, written by the ingest) into
 * activity_stored_buckets and deletes them, in one transaction per chunk, once the minute their
 * period ended in is over: each (agent, rule, minute) is then written once instead of once per
 * report (a report every 2.5 s makes 24 per minute). Reads never miss anything meanwhile: the view
 * `activity_buckets` shows stored buckets plus raw reports (at their minute).
 * A report older than the minute cutoff goes into its hour, as retention would put it.
 * Every PORTFLEET_ACTIVITY_ROLLUP_INTERVAL_S on every replica; a transaction-scoped advisory lock
 * lets one replica at a time do it (the others skip their turn).
 */
@Injectable()
export class ActivityRollup implements OnModuleInit, OnModuleDestroy {
  private readonly pool: Pool;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  /** Raw reports before this minute were rolled up by a completed pass (on this replica). */
  private doneBeforeMs = 0;

  constructor(
    db: PrismaService,
    @Inject(ACTIVITY_SETTINGS) private readonly settings: ActivitySettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.pool = new Pool({ connectionString: db.databaseUrl, max: 1, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', (err) => this.logger.warn({ err }, 'activity rollup: idle connection lost'));
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.running ??= this.run()
        .catch((err: unknown) => this.logger.warn({ err }, 'activity rollup failed; retrying at the next interval'))
        .finally(() => (this.running = undefined));
    }, this.settings.rollupIntervalMs).unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.pool.end();
  }

  /**
   * Rolls up every raw report whose period ended before the minute of `nowMs` − 10 s, chunk by
   * chunk, once per minute (a report that comes later for a finished minute waits for the next
   * pass; the view shows it meanwhile). Returns the reports rolled up (0 when there was nothing
   * new to do or another replica holds the lock).
   */
  async run(nowMs = Date.now()): Promise<number> {
    const beforeMs = Math.floor((nowMs - GRACE_MS) / MINUTE_MS) * MINUTE_MS;
    if (beforeMs <= this.doneBeforeMs) return 0;
    const before = new Date(beforeMs);
    const hourBefore = new Date(minuteCutoffMs(nowMs, this.settings.minuteRetentionMs));
    let total = 0;
    // A key cursor through the raw table, so each chunk starts where the last ended: starting from
    // the front every time would walk over every row deleted before (quadratic in a minute's rows).
    let after = FIRST_KEY;
    for (;;) {
      const chunk = await this.chunk(before, hourBefore, after);
      if (chunk === undefined) return total;
      total += chunk.reports;
      if (!chunk.last) {
        this.doneBeforeMs = beforeMs;
        return total;
      }
      if (this.stopped) return total;
      after = chunk.last;
    }
  }

  /**
   * One transaction: the next chunk of raw reports after the key `after` summed into buckets and
   * deleted, and the key it ended at (none when no report was left); undefined: another replica
   * is at it.
   */
  private async chunk(before: Date, hourBefore: Date, after: { agentId: string; seq: number }): Promise<{ reports: number; last?: { agentId: string; seq: number } } | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [ROLLUP_LOCK_KEY]);
      if (!rows[0]!.locked) {
        await client.query('ROLLBACK');
        return undefined;
      }
      // Enough memory to group a chunk in a hash table (the default 4 MB spills to disk).
      await client.query(`SET LOCAL work_mem = '64MB'`);
      const { rows: moved } = await client.query<{ reports: number; last_agent: string | null; last_seq: string | null }>(
        `WITH picked AS (
           SELECT agent_id, seq FROM activity_raw_reports
            WHERE (agent_id, seq) > ($4::uuid, $5::bigint) AND period_end < $1
            ORDER BY agent_id, seq LIMIT $3),
         raw AS (
           DELETE FROM activity_raw_reports r USING picked p WHERE r.agent_id = p.agent_id AND r.seq = p.seq
           RETURNING r.agent_id, r.rule_ids, r.counters,
                     to_timestamp(floor(extract(epoch FROM r.period_end) / (CASE WHEN r.period_end < $2 THEN 3600 ELSE 60 END))
                                  * (CASE WHEN r.period_end < $2 THEN 3600 ELSE 60 END)) AS bucket_start),
         samples AS (
           -- One unnest with ordinality and subscripts: half the cost of unnest(a, b, …) over seven
           -- arrays (which materializes each into its own tuple store).
           SELECT raw.agent_id, raw.bucket_start, s.rule_id, raw.counters[1][s.i] AS packets_in, raw.counters[2][s.i] AS bytes_in,
                  raw.counters[3][s.i] AS packets_out, raw.counters[4][s.i] AS bytes_out, raw.counters[5][s.i] AS conversations,
                  raw.counters[6][s.i] AS last_hit_ms
             FROM raw CROSS JOIN LATERAL unnest(raw.rule_ids) WITH ORDINALITY AS s(rule_id, i)),
         summed AS (
           INSERT INTO activity_stored_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
           SELECT agent_id, rule_id, bucket_start, sum(packets_in), sum(bytes_in), sum(packets_out), sum(bytes_out), sum(conversations),
                  CASE WHEN max(last_hit_ms) > 0 THEN to_timestamp(max(last_hit_ms)::float8 / 1000) END
             FROM samples GROUP BY agent_id, rule_id, bucket_start
           ${ADD_TO_STORED_BUCKET}
           RETURNING 1)
         SELECT (SELECT count(*) FROM raw)::int AS reports, (SELECT count(*) FROM summed)::int AS buckets,
                last.agent_id::text AS last_agent, last.seq::text AS last_seq
           FROM (SELECT 1) one LEFT JOIN (SELECT agent_id, seq FROM picked ORDER BY agent_id DESC, seq DESC LIMIT 1) last ON TRUE`,
        [before, hourBefore, CHUNK_REPORTS, after.agentId, after.seq],
      );
      await client.query('COMMIT');
      const m = moved[0]!;
      return { reports: m.reports, last: m.last_agent === null ? undefined : { agentId: m.last_agent, seq: Number(m.last_seq) } };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
