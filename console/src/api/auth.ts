import { request } from './http';
import type { Session } from './types';

export const login = (username: string, password: string) =>
  request<Session>('POST', '/api/auth/login', { username, password });

export const logout = () => request<void>('POST', '/api/auth/logout');

export const me = () => request<Session>('GET', '/api/auth/me');
