import { Injectable } from '@nestjs/common';
import { PrismaService } from '../db/prisma.service';
import { Prisma } from '../generated/prisma/client';

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

/** Per-rule counters from agents, summed into one-minute buckets; each (agent, seq) counts once. */
@Injectable()
export class ActivityService {
  constructor(private readonly db: PrismaService) {}

  /** Stores a report unless this agent's seq was stored before; returns whether it was new. */
  async ingest(agentId: string, report: ActivityReportInput): Promise<boolean> {
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
}
