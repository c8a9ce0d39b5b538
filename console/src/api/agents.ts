import { request } from './http';
import type { Agent, EnrollmentToken } from './types';

export const listAgents = async () => (await request<{ agents: Agent[] }>('GET', '/api/agents')).agents;

export const getAgent = (id: string) => request<Agent>('GET', `/api/agents/${encodeURIComponent(id)}`);

export const createEnrollmentToken = (ttlSeconds?: number) =>
  request<EnrollmentToken>('POST', '/api/enrollment-tokens', ttlSeconds === undefined ? {} : { ttlSeconds });
