import type { PoolClient } from 'pg';
import { planBatch, type QueuedReport, type ReportOutcome } from './activity-batch';
import { countersMatrix, textArray } from './binary-arrays';

/** Parameters per stored report in the INSERT below. */
const PARAMS_PER_REPORT = 5;

/**
 * One transaction for a batch of reports from many agents: lock the agents' stored seqs
 * (activity_watermarks, created here on an agent's first report), keep the reports above them,
 * append each as ONE row of activity_raw_reports (its samples as arrays), move the watermarks. The
 * agents rows are only KEY SHARE locked (as the raw rows' foreign keys would anyway): a report makes
 * no new agents row version. No per-sample row and no upsert here: activity-rollup.ts sums raw rows
 * into buckets once their minute is over. A crash or a lost connection at any point leaves all of it
 * or nothing, and a retry of the same batch finds what committed as duplicates. An agent deleted
 * meanwhile has no row: its reports are not stored.
 */
export async function storeBatch(client: PoolClient, reports: readonly QueuedReport[]): Promise<ReportOutcome[]> {
  const agentIds = [...new Set(reports.map((r) => r.agentId))];
  await client.query('BEGIN');
  try {
    // Ordered locks, agents before watermarks: another replica storing for the same agents waits
    // instead of deadlocking, and a DELETE of an agent waits for this transaction (or it went first
    // and its watermark with it) rather than holding the agent while its cascade waits on a
    // watermark locked here.
    // Named: each writer connection parses and plans these once, not once per batch.
    await client.query({
      name: 'activity-watermarks-create',
      text: 'INSERT INTO activity_watermarks (agent_id) SELECT id FROM agents WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE ON CONFLICT DO NOTHING',
      values: [agentIds],
    });
    const { rows } = await client.query<{ id: string; seq: string }>({
      name: 'activity-watermarks-lock',
      text: 'SELECT agent_id::text AS id, seq::text AS seq FROM activity_watermarks WHERE agent_id = ANY($1::uuid[]) ORDER BY agent_id FOR UPDATE',
      values: [agentIds],
    });
    const plan = planBatch(reports, new Map(rows.map((r) => [r.id, Number(r.seq)])));
    if (plan.stored.length > 0) {
      const values: string[] = [];
      const params: unknown[] = [];
      for (const { agentId, report } of plan.stored) {
        const p = params.length;
        values.push(`($${p + 1}::uuid, $${p + 2}::bigint, to_timestamp($${p + 3}::float8 / 1000), $${p + 4}::text[], $${p + 5}::bigint[])`);
        params.push(agentId, report.seq, report.periodEndMs, textArray(report.rules.map((r) => r.ruleId)), countersMatrix(report.rules));
      }
      await client.query(`INSERT INTO activity_raw_reports (agent_id, seq, period_end, rule_ids, counters) VALUES ${values.join(', ')}`, params);
    }
    if (plan.watermarks.agentIds.length > 0) {
      await client.query({
        name: 'activity-watermarks-move',
        text: 'UPDATE activity_watermarks w SET seq = v.seq FROM unnest($1::uuid[], $2::bigint[]) AS v(id, seq) WHERE w.agent_id = v.id',
        values: [plan.watermarks.agentIds, plan.watermarks.seqs],
      });
    }
    await client.query('COMMIT');
    return plan.outcomes;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Reports per batch at most (a VALUES row each; PostgreSQL takes at most 65,535 parameters per statement). */
export const MAX_BATCH_REPORTS = 4_000;
if (MAX_BATCH_REPORTS * PARAMS_PER_REPORT > 65_535) throw new Error('MAX_BATCH_REPORTS exceeds what one statement can take');
