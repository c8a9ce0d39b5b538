import { AgentError } from '../agents/agents.errors';
import type { Pool } from 'pg';
import { isUuid } from '../errors/request-fields';
import type { Agent } from '../generated/prisma/client';
import { PushError } from './pushes.errors';

export interface Selection {
  agentIds?: readonly string[];
  /** Agents in any of these groups or with any of these labels are added. */
  groups?: readonly string[];
  labels?: readonly string[];
}

/** What a push needs of each selected agent (not its inventory: thousands of rows are read at once). */
export type SelectedAgent = Pick<Agent, 'id' | 'name' | 'edition' | 'appliedRuleSetId' | 'appliedVersion' | 'connectedReplica'>;

/** An agents row as node-postgres returns it for the columns a SelectedAgent needs. */
export interface SelectedAgentRow {
  id: string;
  name: string;
  edition: string | null;
  applied_rule_set_id: string | null;
  applied_version: number | null;
  connected_replica: string | null;
}

export function toSelectedAgent(r: SelectedAgentRow): SelectedAgent {
  return { id: r.id, name: r.name, edition: r.edition, appliedRuleSetId: r.applied_rule_set_id, appliedVersion: r.applied_version, connectedReplica: r.connected_replica };
}

/**
 * The union of the listed agents and those in the groups/labels, oldest first; unknown ids name
 * their index. One query with array parameters (ten thousand ids as one bind value, not ten thousand),
 * on node-postgres (push-reads.ts).
 */
export async function selectAgents(db: Pool, selection: Selection): Promise<SelectedAgent[]> {
  const ids = selection.agentIds ?? [];
  const bad = ids.findIndex((id) => !isUuid(id));
  if (bad >= 0) throw AgentError.notFound(ids[bad]!, `agentIds[${bad}]`);
  const { rows } = await db.query<SelectedAgentRow>(
    `SELECT id, name, edition, applied_rule_set_id, applied_version, connected_replica FROM agents
      WHERE retired_at IS NULL AND (id = ANY($1::uuid[]) OR groups && $2::text[] OR labels && $3::text[])
      ORDER BY created_at, id`,
    [ids, selection.groups ?? [], selection.labels ?? []],
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.findIndex((id) => !found.has(id));
  if (missing >= 0) throw AgentError.notFound(ids[missing]!, `agentIds[${missing}]`);
  if (rows.length === 0) throw PushError.noTargets();
  return rows.map(toSelectedAgent);
}
