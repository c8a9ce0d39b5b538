import type { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import { ACTIVITY_SUMS, activitySums, type ActivitySums, type ActivitySumsRow } from './activity-sums';

/**
 * At most this many agents per request: a console page (≤ 100 rows) fits, and 200 ids (7.4 KB)
 * keep the URL far below Node's 16 KB header limit.
 */
export const MAX_AGENT_IDS = 200;

/** Everything an agent reported, all its rules and both directions kept apart. */
export interface AgentActivityTotal extends ActivitySums {
  agentId: string;
}

/** `?agentIds=a,b,c` → the distinct ids, or a ValidationError naming `agentIds`. */
export function parseAgentIds(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') throw new ValidationError('agentIds', 'REQUIRED', 'must list at least one agent id (comma-separated)');
  const ids = [...new Set(value.split(',').map((id) => id.trim().toLowerCase()).filter(Boolean))];
  const bad = ids.find((id) => !isUuid(id));
  if (bad !== undefined) throw new ValidationError('agentIds', 'INVALID_TYPE', `must be agent ids (UUIDs); "${bad.slice(0, 64)}" is not one`);
  if (ids.length > MAX_AGENT_IDS) throw new ValidationError('agentIds', 'OUT_OF_RANGE', `must list at most ${MAX_AGENT_IDS} agent ids`);
  return ids;
}

/**
 * Per-agent activity totals for a few agents (the console's visible page), summed in PostgreSQL:
 * the fleet-wide `GET /api/activity` is a row per (agent, rule), 500,000 rows for 10,000 agents
 * of 50 rules. Both tables behind `activity_buckets` lead their primary key with agent_id, so this
 * reads only the named agents' rows.
 */
export async function agentActivityTotals(db: PrismaService, agentIds: readonly string[]): Promise<AgentActivityTotal[]> {
  const rows = await db.$queryRaw<({ agent_id: string } & ActivitySumsRow)[]>`
    SELECT agent_id::text AS agent_id, ${ACTIVITY_SUMS}
      FROM activity_buckets WHERE agent_id = ANY(${agentIds as string[]}::uuid[])
     GROUP BY agent_id ORDER BY agent_id`;
  return rows.map((r) => ({ agentId: r.agent_id, ...activitySums(r) }));
}
