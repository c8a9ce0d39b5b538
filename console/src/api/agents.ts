import { request } from './http';
import type { Adapter, Agent, AgentFilter, AgentPush, AgentSummary, EnrollmentToken } from './types';

const base = (id: string) => `/api/agents/${encodeURIComponent(id)}`;

/** `filter` as the agent list and its summary take it. */
export function agentFilterParams(filter: AgentFilter): URLSearchParams {
  const query = new URLSearchParams();
  const search = filter.search?.trim();
  if (search) query.set('search', search);
  if (filter.online !== undefined) query.set('online', String(filter.online));
  if (filter.group) query.set('group', filter.group);
  if (filter.label) query.set('label', filter.label);
  if (filter.drift !== undefined) query.set('drift', String(filter.drift));
  return query;
}

export interface AgentPage {
  agents: Agent[];
  nextCursor: string | null;
}

/** One keyset page of the agents matching `filter`, filtered by the controller. */
export async function listAgentsPage(filter: AgentFilter, limit: number, cursor: string | null): Promise<AgentPage> {
  const query = agentFilterParams(filter);
  query.set('limit', String(limit));
  if (cursor) query.set('cursor', cursor);
  const page = await request<{ agents: Agent[]; nextCursor?: string | null }>('GET', `/api/agents?${query}`);
  return { agents: page.agents, nextCursor: page.nextCursor ?? null };
}

/**
 * Every agent matching `filter`, following the keyset pages to the end. A fleet of 10,000 is 20
 * pages of 500: for pickers that need them all, never for a view that refreshes live.
 */
export async function listAgents(filter: AgentFilter = {}): Promise<Agent[]> {
  const agents: Agent[] = [];
  let cursor: string | null = null;
  do {
    const page: AgentPage = await listAgentsPage(filter, 500, cursor);
    agents.push(...page.agents);
    cursor = page.nextCursor;
  } while (cursor);
  return agents;
}

/** Adapter names the fleet reported, suggested in the rule editor's adapter inputs. */
export const listAdapterNames = () => request<{ names: string[] }>('GET', '/api/agents/adapter-names').then((r) => r.names);

/** Fleet counts, the count `filter` keeps, and the groups and labels in use. */
export const agentSummary = (filter: AgentFilter = {}) => {
  const query = agentFilterParams(filter);
  return request<AgentSummary>('GET', `/api/agents/summary${query.size > 0 ? `?${query}` : ''}`);
};

export const getAgent = (id: string) => request<Agent>('GET', base(id));

export const updateAgent = (id: string, change: { name?: string; groups?: string[]; labels?: string[] }) =>
  request<Agent>('PATCH', base(id), change);

export const retireAgent = (id: string) => request<Agent>('POST', `${base(id)}/retire`);

/** The newest page of the agent's push history. */
export const agentPushes = async (id: string) =>
  (await request<{ pushes: AgentPush[] }>('GET', `${base(id)}/pushes?limit=50`)).pushes;

export type MacCommand = { action: 'set'; mac: string } | { action: 'random'; vendor?: string } | { action: 'restore' };

export interface MacCommandResult {
  commandId: string;
  ok: boolean;
  error: string | null;
  mac: string | null;
  adapters: Adapter[];
}

/** Sent to the agent on its stream; the answer is the agent's. */
export const sendMacCommand = (id: string, adapter: string, command: MacCommand) =>
  request<MacCommandResult>('POST', `${base(id)}/adapters/${encodeURIComponent(adapter)}/mac`, command);

export const createEnrollmentToken = (ttlSeconds?: number) =>
  request<EnrollmentToken>('POST', '/api/enrollment-tokens', ttlSeconds === undefined ? {} : { ttlSeconds });
