import { request } from './http';
import type { ActivityTotal } from './types';

export async function listActivity(filter: { agentId?: string; ruleId?: string } = {}): Promise<ActivityTotal[]> {
  const query = new URLSearchParams();
  if (filter.agentId) query.set('agentId', filter.agentId);
  if (filter.ruleId) query.set('ruleId', filter.ruleId);
  const suffix = query.size > 0 ? `?${query}` : '';
  return (await request<{ totals: ActivityTotal[] }>('GET', `/api/activity${suffix}`)).totals;
}
