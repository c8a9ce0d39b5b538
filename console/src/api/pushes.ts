import { request } from './http';
import type { Push } from './types';

export const createPush = (ruleSetId: string, agentIds: string[], version?: number) =>
  request<Push>('POST', '/api/pushes', version === undefined ? { ruleSetId, agentIds } : { ruleSetId, version, agentIds });

export const getPush = (id: string) => request<Push>('GET', `/api/pushes/${encodeURIComponent(id)}`);
