import { request } from './http';
import type { DryRun, Push, PushRequest, PushState, PushSummary, PushTargetRow } from './types';

const base = (id: string) => `/api/pushes/${encodeURIComponent(id)}`;

export const createPush = (push: PushRequest) => request<Push>('POST', '/api/pushes', push);

export const dryRunPush = (push: PushRequest) => request<DryRun>('POST', '/api/pushes/dry-run', push);

export const listPushes = async (limit = 50) =>
  (await request<{ pushes: PushSummary[] }>('GET', `/api/pushes?limit=${limit}`)).pushes;

/** The push and its counts, without its targets (bounded however many agents it targets). */
export const getPushSummary = (id: string) => request<PushSummary>('GET', `${base(id)}/summary`);

export interface PushTargetPage {
  targets: PushTargetRow[];
  nextCursor: string | null;
}

/** One keyset page of the push's targets in `states` (all when empty), with their agents. */
export async function listPushTargets(id: string, states: readonly PushState[], limit: number, cursor: string | null): Promise<PushTargetPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (states.length > 0) query.set('state', states.join(','));
  if (cursor) query.set('cursor', cursor);
  const page = await request<{ targets: PushTargetRow[]; nextCursor?: string | null }>('GET', `${base(id)}/targets?${query}`);
  return { targets: page.targets, nextCursor: page.nextCursor ?? null };
}

export const retryPush = (id: string) => request<Push>('POST', `${base(id)}/retry`);

export const rollbackPush = (id: string, version?: number) =>
  request<Push>('POST', `${base(id)}/rollback`, version === undefined ? {} : { version });

export const resumePush = (id: string) => request<Push>('POST', `${base(id)}/resume`);

export const abortPush = (id: string) => request<Push>('POST', `${base(id)}/abort`);
