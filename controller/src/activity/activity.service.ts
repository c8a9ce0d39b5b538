import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { Prisma } from '../generated/prisma/client';
import { MetricsService } from '../metrics/metrics.service';
import type { ReportOutcome } from './activity-batch';
import { ACTIVITY_SUMS, activitySums, type ActivitySums, type ActivitySumsRow } from './activity-sums';
import { ActivityWriter } from './activity-writer';
import { checkReport } from './activity.errors';
import { agentActivityTotals, type AgentActivityTotal } from './agent-activity-totals';

export interface RuleCounters {
  ruleId: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversationsNew: number;
  lastHitMs: number;
}

export interface ActivityReportInput {
  seq: number;
  periodEndMs: number;
  rules: RuleCounters[];
}

export interface ActivityTotal extends ActivitySums {
  agentId: string;
  ruleId: string;
}

export const SERIES_BUCKETS_S = [60, 300, 3600];
const MAX_SERIES_POINTS = 2000;

export interface SeriesQuery {
  scope: 'fleet' | 'agent' | 'rule';
  agentId?: string;
  ruleId?: string;
  from: Date;
  to: Date;
  bucketSeconds: number;
}

export interface SeriesPoint {
  t: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
}

/**
 * Per-rule counters from agents, summed into time buckets (a minute; an hour once older than the
 * minute retention); each (agent, seq) counts once. Writes go through the batched ActivityWriter.
 */
@Injectable()
export class ActivityService {
  constructor(
    private readonly db: PrismaService,
    private readonly writer: ActivityWriter,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Queues a report (waiting while the queue is full; ActivityError.overloaded when that lasts,
   * ValidationError for a value that cannot be stored). `durable` resolves once the report is
   * durable — true when stored now or before (a resend), false when its agent no longer exists.
   */
  async enqueue(agentId: string, report: ActivityReportInput): Promise<{ durable: Promise<boolean> }> {
    checkReport(report);
    const { durable } = await this.writer.enqueue(agentId, report);
    return { durable: durable.then((outcome) => this.settled(report, outcome)) };
  }

  /**
   * `enqueue` when the queue has room now (false otherwise, nothing queued: then `enqueue`): no
   * promise per report. `durable` is called once the report is durable, with what `enqueue`'s
   * promise resolves to. Throws ValidationError as `enqueue` does.
   */
  offer(agentId: string, report: ActivityReportInput, durable: (stored: boolean) => void): boolean {
    checkReport(report);
    return this.writer.offer(agentId, report, (outcome) => durable(this.settled(report, outcome)));
  }

  private settled(report: ActivityReportInput, outcome: ReportOutcome): boolean {
    if (outcome === 'stored') {
      this.metrics.activityReports.inc();
      this.metrics.activityRules.inc(report.rules.length);
    }
    return outcome !== 'unknown_agent';
  }

  /** Per-agent sums for the agents named (the console's visible page). */
  agentTotals(agentIds: readonly string[]): Promise<AgentActivityTotal[]> {
    return agentActivityTotals(this.db, agentIds);
  }

  async totals(filter: { agentId?: string; ruleId?: string }): Promise<ActivityTotal[]> {
    const where = [
      filter.agentId !== undefined ? Prisma.sql`agent_id::text = ${filter.agentId}` : Prisma.sql`TRUE`,
      filter.ruleId !== undefined ? Prisma.sql`rule_id = ${filter.ruleId}` : Prisma.sql`TRUE`,
    ];
    const rows = await this.db.$queryRaw<({ agent_id: string; rule_id: string } & ActivitySumsRow)[]>`
      SELECT agent_id::text AS agent_id, rule_id, ${ACTIVITY_SUMS}
        FROM activity_buckets WHERE ${Prisma.join(where, ' AND ')}
        GROUP BY agent_id, rule_id ORDER BY agent_id, rule_id`;
    // Key order as before: agentId, ruleId, then the sums.
    return rows.map((r) => ({ agentId: r.agent_id, ruleId: r.rule_id, ...activitySums(r) }));
  }

  /** Sums per time bucket; buckets without activity are zeros, so a chart has no holes. */
  async series(q: SeriesQuery): Promise<SeriesPoint[]> {
    const fromS = Math.floor(q.from.getTime() / 1000 / q.bucketSeconds) * q.bucketSeconds;
    const toS = Math.floor(q.to.getTime() / 1000 / q.bucketSeconds) * q.bucketSeconds;
    if (toS < fromS) throw new ValidationError('to', 'OUT_OF_RANGE', 'must not be before from');
    if ((toS - fromS) / q.bucketSeconds + 1 > MAX_SERIES_POINTS) throw new ValidationError('bucketSeconds', 'OUT_OF_RANGE', `the range would need more than ${MAX_SERIES_POINTS} points; choose a larger bucket`);
    const where = [
      Prisma.sql`bucket_start >= to_timestamp(${fromS}) AND bucket_start < to_timestamp(${toS + q.bucketSeconds})`,
      q.agentId !== undefined ? Prisma.sql`agent_id::text = ${q.agentId}` : Prisma.sql`TRUE`,
      q.ruleId !== undefined ? Prisma.sql`rule_id = ${q.ruleId}` : Prisma.sql`TRUE`,
    ];
    const rows = await this.db.$queryRaw<{ t: number; packets_in: bigint; bytes_in: bigint; packets_out: bigint; bytes_out: bigint; conversations: bigint }[]>`
      SELECT (floor(extract(epoch FROM bucket_start) / ${q.bucketSeconds}) * ${q.bucketSeconds})::float8 AS t,
             SUM(packets_in)::bigint AS packets_in, SUM(bytes_in)::bigint AS bytes_in,
             SUM(packets_out)::bigint AS packets_out, SUM(bytes_out)::bigint AS bytes_out,
             SUM(conversations)::bigint AS conversations
        FROM activity_buckets WHERE ${Prisma.join(where, ' AND ')}
       GROUP BY 1`;
    const byTime = new Map(rows.map((r) => [Number(r.t), r]));
    const points: SeriesPoint[] = [];
    for (let t = fromS; t <= toS; t += q.bucketSeconds) {
      const r = byTime.get(t);
      const [pi, bi, po, bo, c] = r ? [r.packets_in, r.bytes_in, r.packets_out, r.bytes_out, r.conversations].map(Number) : [0, 0, 0, 0, 0];
      points.push({
        t: new Date(t * 1000).toISOString(),
        packetsIn: pi!,
        bytesIn: bi!,
        packetsOut: po!,
        bytesOut: bo!,
        conversations: c!,
        packetsPerSecond: (pi! + po!) / q.bucketSeconds,
        bytesPerSecond: (bi! + bo!) / q.bucketSeconds,
      });
    }
    return points;
  }
}
