import { request } from './http';
import type { ApiToken, CreatedApiToken } from './types';

export const listApiTokens = async () => (await request<{ tokens: ApiToken[] }>('GET', '/api/api-tokens')).tokens;

export const createApiToken = (name: string, scopes: string[], ttlSeconds?: number) =>
  request<CreatedApiToken>('POST', '/api/api-tokens', ttlSeconds === undefined ? { name, scopes } : { name, scopes, ttlSeconds });

export const revokeApiToken = (id: string) => request<void>('DELETE', `/api/api-tokens/${encodeURIComponent(id)}`);
