import type { Agent } from '../generated/prisma/client';

export interface AdapterView {
  name: string;
  index: number;
  macs: string[];
  addresses: string[];
}

/** The API shape of an agent (docs/http-api.md `Agent`). */
export interface AgentView {
  id: string;
  name: string;
  hostname: string;
  platform: string;
  version: string;
  online: boolean;
  lastSeenAt: string | null;
  adapters: AdapterView[];
  appliedRuleSetId: string | null;
  appliedVersion: number | null;
  appliedContentHash: string | null;
  desiredRuleSetId: string | null;
  desiredVersion: number | null;
  /** A desired version exists and the applied one differs from it. */
  drift: boolean;
  /** What the agent's seat grants; null = unlicensed. */
  edition: string | null;
  groups: string[];
  labels: string[];
  createdAt: string;
  retiredAt: string | null;
}

/** What a view is made of (the credential hash never leaves the database). */
export type AgentViewRow = Pick<
  Agent,
  | 'id' | 'name' | 'hostname' | 'platform' | 'version' | 'lastSeenAt' | 'adapters' | 'appliedRuleSetId' | 'appliedVersion'
  | 'appliedContentHash' | 'desiredRuleSetId' | 'desiredVersion' | 'edition' | 'groups' | 'labels' | 'createdAt' | 'retiredAt'
  | 'connectedReplica'
>;

/**
 * The view of one agent, for `GET /api/agents/:id` and, cut into pieces per row version, for the
 * agent list (agent-fragments.ts: the fields of the moment are filled in there by the same rules,
 * which controller/test/agent-list.test.ts checks against this).
 * `licensed`: false when the fleet has no edition (expired), so no seat grants anything. An online
 * agent was last seen `now` (heartbeats write nothing: docs/http-api.md `Agent`).
 */
export function agentView(agent: AgentViewRow, online: boolean, licensed = true, now = new Date()): AgentView {
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    platform: agent.platform,
    version: agent.version,
    online,
    lastSeenAt: online ? now.toISOString() : (agent.lastSeenAt?.toISOString() ?? null),
    adapters: agent.adapters as unknown as AdapterView[],
    appliedRuleSetId: agent.appliedRuleSetId,
    appliedVersion: agent.appliedVersion,
    appliedContentHash: agent.appliedContentHash,
    desiredRuleSetId: agent.desiredRuleSetId,
    desiredVersion: agent.desiredVersion,
    drift: agent.desiredRuleSetId !== null && (agent.appliedRuleSetId !== agent.desiredRuleSetId || agent.appliedVersion !== agent.desiredVersion),
    edition: licensed ? agent.edition : null,
    groups: agent.groups,
    labels: agent.labels,
    createdAt: agent.createdAt.toISOString(),
    retiredAt: agent.retiredAt?.toISOString() ?? null,
  };
}
