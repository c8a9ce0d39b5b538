import { AgentError } from '../agents/agents.errors';
import type { Db } from '../db/prisma.service';
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
export type SelectedAgent = Pick<Agent, 'id' | 'name' | 'edition' | 'appliedRuleSetId' | 'appliedVersion'>;

/** The union of the listed agents and those in the groups/labels, oldest first; unknown ids name their index. */
export async function selectAgents(db: Db, selection: Selection): Promise<SelectedAgent[]> {
  const ids = selection.agentIds ?? [];
  const bad = ids.findIndex((id) => !isUuid(id));
  if (bad >= 0) throw AgentError.notFound(ids[bad]!, `agentIds[${bad}]`);
  const known = new Set((await db.agent.findMany({ where: { id: { in: [...ids] }, retiredAt: null }, select: { id: true } })).map((a) => a.id));
  const missing = ids.findIndex((id) => !known.has(id));
  if (missing >= 0) throw AgentError.notFound(ids[missing]!, `agentIds[${missing}]`);
  const groups = [...(selection.groups ?? [])];
  const labels = [...(selection.labels ?? [])];
  const agents = await db.agent.findMany({
    where: { retiredAt: null, OR: [{ id: { in: [...ids] } }, { groups: { hasSome: groups } }, { labels: { hasSome: labels } }] },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { id: true, name: true, edition: true, appliedRuleSetId: true, appliedVersion: true },
  });
  if (agents.length === 0) throw PushError.noTargets();
  return agents;
}
