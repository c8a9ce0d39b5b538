import { request } from './http';
import type { Adapter, Agent, AgentFilter, AgentPush, EnrollmentToken } from './types';

const base = (id: string) => `/api/agents/${encodeURIComponent(id)}`;

/** Every agent matching `filter`, following the keyset pages to the end. */
export async function listAgents(filter: AgentFilter = {}): Promise<Agent[]> {
  const agents: Agent[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams();
    if (filter.search) query.set('search', filter.search);
    if (filter.online !== undefined) query.set('online', String(filter.online));
    if (filter.group) query.set('group', filter.group);
    if (filter.label) query.set('label', filter.label);
    if (cursor) query.set('cursor', cursor);
    const suffix = query.size > 0 ? `?${query}` : '';
    const page: { agents: Agent[]; nextCursor?: string | null } = await request('GET', `/api/agents${suffix}`);
    agents.push(...page.agents);
    cursor = page.nextCursor ?? null;
  } while (cursor);
  return agents;
}

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
