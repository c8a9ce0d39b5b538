import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { Prisma } from '../generated/prisma/client';
import { MetricsService } from '../metrics/metrics.service';
import { ActivityRates } from './activity-rates';

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

export interface ActivityTotal {
  agentId: string;
  ruleId: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
  lastHitAt: string | null;
}

const BUCKET_MS = 60_000;
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

/** Per-rule counters from agents, summed into one-minute buckets; each (agent, seq) counts once. */
@Injectable()
export class ActivityService {
  constructor(
    private readonly db: PrismaService,
    private readonly metrics: MetricsService,
    private readonly rates: ActivityRates,
  ) {}

  /** Stores a report unless this agent's seq was stored before; returns whether it was new. */
  async ingest(agentId: string, report: ActivityReportInput): Promise<boolean> {
    const stored = await this.store(agentId, report);
    if (stored) {
      this.metrics.activityReports.inc();
      this.metrics.activityRules.inc(report.rules.length);
      this.rates.add(agentId, report.rules);
    }
    return stored;
  }

  private async store(agentId: string, report: ActivityReportInput): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const claimed = await tx.activityReport.createMany({
        data: [{ agentId, seq: BigInt(report.seq), periodEnd: new Date(report.periodEndMs) }],
        skipDuplicates: true,
      });
      if (claimed.count === 0) return false;
      const bucket = new Date(Math.floor(report.periodEndMs / BUCKET_MS) * BUCKET_MS);
      for (const r of report.rules) {
        const lastHit = r.lastHitMs > 0 ? new Date(r.lastHitMs) : null;
        await tx.$executeRaw`
          INSERT INTO activity_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
          VALUES (${agentId}::uuid, ${r.ruleId}, ${bucket}, ${r.packetsIn}, ${r.bytesIn}, ${r.packetsOut}, ${r.bytesOut}, ${r.conversationsNew}, ${lastHit})
          ON CONFLICT (agent_id, rule_id, bucket_start) DO UPDATE SET
            packets_in = activity_buckets.packets_in + EXCLUDED.packets_in,
            bytes_in = activity_buckets.bytes_in + EXCLUDED.bytes_in,
            packets_out = activity_buckets.packets_out + EXCLUDED.packets_out,
            bytes_out = activity_buckets.bytes_out + EXCLUDED.bytes_out,
            conversations = activity_buckets.conversations + EXCLUDED.conversations,
            last_hit_at = GREATEST(activity_buckets.last_hit_at, EXCLUDED.last_hit_at)`;
      }
      await tx.$executeRaw`UPDATE agents SET last_activity_seq = GREATEST(last_activity_seq, ${BigInt(report.seq)}) WHERE id = ${agentId}::uuid`;
      return true;
    });
  }

  async storedSeq(agentId: string): Promise<number> {
    const agent = await this.db.agent.findUnique({ where: { id: agentId }, select: { lastActivitySeq: true } });
    return Number(agent?.lastActivitySeq ?? 0n);
  }

  async totals(filter: { agentId?: string; ruleId?: string }): Promise<ActivityTotal[]> {
    const where = [
      filter.agentId !== undefined ? Prisma.sql`agent_id::text = ${filter.agentId}` : Prisma.sql`TRUE`,
      filter.ruleId !== undefined ? Prisma.sql`rule_id = ${filter.ruleId}` : Prisma.sql`TRUE`,
    ];
    const rows = await this.db.$queryRaw<
      { agent_id: string; rule_id: string; packets_in: bigint; bytes_in: bigint; packets_out: bigint; bytes_out: bigint; conversations: bigint; last_hit_at: Date | null }[]
    >`SELECT agent_id::text AS agent_id, rule_id,
             SUM(packets_in)::bigint AS packets_in, SUM(bytes_in)::bigint AS bytes_in,
             SUM(packets_out)::bigint AS packets_out, SUM(bytes_out)::bigint AS bytes_out,
             SUM(conversations)::bigint AS conversations, MAX(last_hit_at) AS last_hit_at
        FROM activity_buckets WHERE ${Prisma.join(where, ' AND ')}
        GROUP BY agent_id, rule_id ORDER BY agent_id, rule_id`;
    return rows.map((r) => ({
      agentId: r.agent_id,
      ruleId: r.rule_id,
      packetsIn: Number(r.packets_in),
      bytesIn: Number(r.bytes_in),
      packetsOut: Number(r.packets_out),
      bytesOut: Number(r.bytes_out),
      conversations: Number(r.conversations),
      lastHitAt: r.last_hit_at ? new Date(r.last_hit_at).toISOString() : null,
    }));
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
