import type { PoolClient } from 'pg';
import { planBatch, type QueuedReport, type ReportOutcome } from './activity-batch';
import { int8Array, textArray, uuidArray } from './binary-arrays';

/**
 * One transaction for a batch of reports from many agents: lock the agents' stored seqs
 * (`agents.last_activity_seq`, the watermark), keep the reports above them, add their samples to
 * the buckets with one multi-row upsert, move the watermarks. A crash or a lost connection at any
 * point leaves all of it or nothing, and a retry of the same batch finds what committed as
 * duplicates. An agent deleted meanwhile has no row: its reports are not stored.
 */
export async function storeBatch(client: PoolClient, reports: readonly QueuedReport[], bucketOf: (periodEndMs: number) => number): Promise<ReportOutcome[]> {
  const agentIds = [...new Set(reports.map((r) => r.agentId))];
  await client.query('BEGIN');
  try {
    // Ordered locks: another replica storing for the same agents waits instead of deadlocking.
    // NO KEY: the bucket rows' foreign-key checks (KEY SHARE) need not wait for it.
    const { rows } = await client.query<{ id: string; seq: string }>(
      'SELECT id::text AS id, last_activity_seq::text AS seq FROM agents WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE',
      [agentIds],
    );
    const plan = planBatch(reports, new Map(rows.map((r) => [r.id, Number(r.seq)])), bucketOf);
    const b = plan.buckets;
    if (b.agentIds.length > 0) {
      await client.query(
        `INSERT INTO activity_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
         SELECT agent_id, rule_id, to_timestamp(bucket_ms::float8 / 1000), packets_in, bytes_in, packets_out, bytes_out, conversations,
                CASE WHEN last_hit_ms > 0 THEN to_timestamp(last_hit_ms::float8 / 1000) END
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
             AS v(agent_id, rule_id, bucket_ms, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_ms)
         ON CONFLICT (agent_id, rule_id, bucket_start) DO UPDATE SET
           packets_in = activity_buckets.packets_in + EXCLUDED.packets_in,
           bytes_in = activity_buckets.bytes_in + EXCLUDED.bytes_in,
           packets_out = activity_buckets.packets_out + EXCLUDED.packets_out,
           bytes_out = activity_buckets.bytes_out + EXCLUDED.bytes_out,
           conversations = activity_buckets.conversations + EXCLUDED.conversations,
           last_hit_at = GREATEST(activity_buckets.last_hit_at, EXCLUDED.last_hit_at)`,
        [uuidArray(b.agentIds), textArray(b.ruleIds), ...[b.bucketStartsMs, b.packetsIn, b.bytesIn, b.packetsOut, b.bytesOut, b.conversations, b.lastHitMs].map(int8Array)],
      );
    }
    if (plan.watermarks.agentIds.length > 0) {
      await client.query('UPDATE agents a SET last_activity_seq = v.seq FROM unnest($1::uuid[], $2::bigint[]) AS v(id, seq) WHERE a.id = v.id', [
        plan.watermarks.agentIds,
        plan.watermarks.seqs,
      ]);
    }
    await client.query('COMMIT');
    return plan.outcomes;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
