import type { Pool } from 'pg';
import { toSelectedAgent, type SelectedAgent, type SelectedAgentRow } from './push-selection';
import { PushError } from './pushes.errors';

/**
 * The agents of an existing push's targets that are not retired, oldest first (what `selectAgents`
 * would return given their ids): a rollback's targets, joined in SQL instead of reading the push's
 * targets into memory and sending their ids back as a list.
 */
export async function selectPushAgents(db: Pool, pushId: string): Promise<SelectedAgent[]> {
  const { rows } = await db.query<SelectedAgentRow>(
    `SELECT a.id::text AS id, a.name, a.edition, a.applied_rule_set_id::text AS applied_rule_set_id, a.applied_version, a.connected_replica
       FROM push_targets t JOIN agents a ON a.id = t.agent_id
      WHERE t.push_id = $1::uuid AND a.retired_at IS NULL
      ORDER BY a.created_at, a.id`,
    [pushId],
  );
  if (rows.length === 0) throw PushError.noTargets();
  return rows.map(toSelectedAgent);
}
