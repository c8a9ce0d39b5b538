import { request } from './http';
import type { ConsoleUser, Role } from './types';

export const listUsers = async () => (await request<{ users: ConsoleUser[] }>('GET', '/api/users')).users;

export const createUser = (username: string, password: string, role: Role) =>
  request<ConsoleUser>('POST', '/api/users', { username, password, role });

export const updateUser = (id: string, change: { role?: Role; password?: string }) =>
  request<ConsoleUser>('PATCH', `/api/users/${encodeURIComponent(id)}`, change);

export const deleteUser = (id: string) => request<void>('DELETE', `/api/users/${encodeURIComponent(id)}`);
