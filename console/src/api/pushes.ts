import { request } from './http';
import type { DryRun, Push, PushRequest, PushSummary } from './types';

const base = (id: string) => `/api/pushes/${encodeURIComponent(id)}`;

export const createPush = (push: PushRequest) => request<Push>('POST', '/api/pushes', push);

export const dryRunPush = (push: PushRequest) => request<DryRun>('POST', '/api/pushes/dry-run', push);

export const listPushes = async (limit = 50) =>
  (await request<{ pushes: PushSummary[] }>('GET', `/api/pushes?limit=${limit}`)).pushes;

export const getPush = (id: string) => request<Push>('GET', base(id));

export const retryPush = (id: string) => request<Push>('POST', `${base(id)}/retry`);

export const rollbackPush = (id: string, version?: number) =>
  request<Push>('POST', `${base(id)}/rollback`, version === undefined ? {} : { version });

export const resumePush = (id: string) => request<Push>('POST', `${base(id)}/resume`);

export const abortPush = (id: string) => request<Push>('POST', `${base(id)}/abort`);
