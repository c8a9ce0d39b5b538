import { request } from './http';
import type { ActivityRates, ActivitySeries, ActivityTotal, AgentActivityTotal } from './types';

export async function listActivity(filter: { agentId?: string; ruleId?: string } = {}): Promise<ActivityTotal[]> {
  const query = new URLSearchParams();
  if (filter.agentId) query.set('agentId', filter.agentId);
  if (filter.ruleId) query.set('ruleId', filter.ruleId);
  const suffix = query.size > 0 ? `?${query}` : '';
  return (await request<{ totals: ActivityTotal[] }>('GET', `/api/activity${suffix}`)).totals;
}

/** Per-agent totals of a few agents (at most 200: a page of the fleet), not the fleet's every rule. */
export async function agentActivityTotals(agentIds: readonly string[]): Promise<AgentActivityTotal[]> {
  if (agentIds.length === 0) return [];
  const query = new URLSearchParams({ agentIds: agentIds.join(',') });
  return (await request<{ agents: AgentActivityTotal[] }>('GET', `/api/activity/agents?${query}`)).agents;
}

export type SeriesScope = { scope: 'fleet' } | { scope: 'agent'; agentId: string } | { scope: 'rule'; ruleId: string; agentId?: string };

/** The last `minutes` of activity in `bucketSeconds` buckets (zeros where nothing happened). */
export async function activitySeries(scope: SeriesScope, minutes = 60, bucketSeconds: 60 | 300 | 3600 = 60): Promise<ActivitySeries> {
  const query = new URLSearchParams(Object.entries(scope).filter(([, v]) => v !== undefined) as [string, string][]);
  const now = Date.now();
  query.set('from', new Date(now - minutes * 60_000).toISOString());
  query.set('to', new Date(now).toISOString());
  query.set('bucketSeconds', String(bucketSeconds));
  return request<ActivitySeries>('GET', `/api/activity/series?${query}`);
}

export const activityRates = () => request<ActivityRates>('GET', '/api/activity/rates');
