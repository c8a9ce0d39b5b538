import { request } from './http';
import type { AuditEntry } from './types';

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
}

export async function listAudit(filter: AuditFilter = {}, limit = 200): Promise<AuditEntry[]> {
  const query = new URLSearchParams({ limit: String(limit) });
  for (const [key, value] of Object.entries(filter)) if (value) query.set(key, value);
  return (await request<{ entries: AuditEntry[] }>('GET', `/api/audit?${query}`)).entries;
}
