import type { Pool } from 'pg';
import type { SelectedAgent } from './push-selection';
import { PushError } from './pushes.errors';

/**
 * The agents of an existing push's targets that are not retired, oldest first (what `selectAgents`
 * would return given their ids): a rollback's targets, joined in SQL instead of reading the push's
 * targets into memory and sending their ids back as a list.
 */
export async function selectPushAgents(db: Pool, pushId: string): Promise<SelectedAgent[]> {
  const { rows } = await db.query<{ id: string; name: string; edition: string | null; applied_rule_set_id: string | null; applied_version: number | null; connected_replica: string | null }>(
    `SELECT a.id::text AS id, a.name, a.edition, a.applied_rule_set_id::text AS applied_rule_set_id, a.applied_version, a.connected_replica
       FROM push_targets t JOIN agents a ON a.id = t.agent_id
      WHERE t.push_id = $1::uuid AND a.retired_at IS NULL
      ORDER BY a.created_at, a.id`,
    [pushId],
  );
  if (rows.length === 0) throw PushError.noTargets();
  return rows.map((r) => ({ id: r.id, name: r.name, edition: r.edition, appliedRuleSetId: r.applied_rule_set_id, appliedVersion: r.applied_version, connectedReplica: r.connected_replica }));
}
