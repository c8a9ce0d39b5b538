import type { Role } from '../generated/prisma/client';

/** Who is making a request: a console user (session), an API token, or the controller itself. */
export interface Actor {
  kind: 'user' | 'token' | 'system';
  /** What the audit log shows: `user:admin`, `token:pft_ab12cd`, `system`. */
  label: string;
  userId?: string;
  username?: string;
  role: Role;
  scopes?: readonly string[];
}

export const SYSTEM_ACTOR: Actor = { kind: 'system', label: 'system', role: 'admin' };

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(actor: Actor, needed: Role): boolean {
  return RANK[actor.role] >= RANK[needed];
}
