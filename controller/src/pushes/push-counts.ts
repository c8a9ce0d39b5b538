import type { Pool } from 'pg';
import type { PushTargetState } from '../generated/prisma/client';
import { countStates, TARGET_STATES, type PushCounts } from './push-view';

/**
 * The target counts of several pushes (a page of the pushes list) in one GROUP BY: seven numbers
 * per push leave the database, not a row per target (a page of 20 pushes to 10,000 agents is
 * 200,000 targets). A push without targets counts zero in every state.
 */
export async function countsOfPushes(db: Pool, pushIds: readonly string[]): Promise<Map<string, PushCounts>> {
  const counts = new Map(pushIds.map((id) => [id, countStates([])]));
  if (pushIds.length === 0) return counts;
  const { rows } = await db.query<{ push_id: string; state: PushTargetState; n: number }>(
    `SELECT push_id::text AS push_id, state::text AS state, count(*)::int AS n FROM push_targets
      WHERE push_id = ANY($1::uuid[]) GROUP BY push_id, state`,
    [pushIds],
  );
  for (const row of rows) {
    const c = counts.get(row.push_id)!; // every queried id was seeded above
    if ((TARGET_STATES as readonly string[]).includes(row.state)) c[row.state] = row.n;
  }
  return counts;
}
