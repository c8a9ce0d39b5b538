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
  groups: string[];
  labels: string[];
}

export function agentView(agent: Agent, online: boolean): AgentView {
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    platform: agent.platform,
    version: agent.version,
    online,
    lastSeenAt: online ? new Date().toISOString() : (agent.lastSeenAt?.toISOString() ?? null),
    adapters: agent.adapters as unknown as AdapterView[],
    appliedRuleSetId: agent.appliedRuleSetId,
    appliedVersion: agent.appliedVersion,
    appliedContentHash: agent.appliedContentHash,
    desiredRuleSetId: agent.desiredRuleSetId,
    desiredVersion: agent.desiredVersion,
    groups: agent.groups,
    labels: agent.labels,
  };
}
