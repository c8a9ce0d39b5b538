import { Injectable } from '@nestjs/common';
import { hash } from '@node-rs/argon2';
import type { Actor } from '../auth/actor';
import { AuthService } from '../auth/auth.service';
import { AuditService } from '../audit/audit.service';
import { PrismaService, type Db } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import { Prisma, type Role, type User } from '../generated/prisma/client';
import { UserError } from './users.errors';

export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];
const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface UserView {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

/** Console users (admin only) and every API token (list, revoke). */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
  ) {}

  async list(): Promise<UserView[]> {
    return (await this.db.user.findMany({ orderBy: { createdAt: 'asc' } })).map(userView);
  }

  async create(actor: Actor, input: { username: unknown; password: unknown; role: unknown }): Promise<UserView> {
    if (typeof input.username !== 'string' || !USERNAME.test(input.username)) throw new ValidationError('username', 'INVALID_FORMAT', 'must be 1-64 letters, digits or _ . @ -');
    const password = parsePassword(input.password);
    const role = parseRole(input.role);
    const passwordHash = await hash(password);
    try {
      return await this.db.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { username: input.username as string, passwordHash, role } });
        await this.audit.record(tx, actor, { action: 'user.create', target: `user:${user.id}`, after: { username: user.username, role } });
        return userView(user);
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw UserError.usernameTaken(input.username);
      throw err;
    }
  }

  async update(actor: Actor, id: string, input: { role?: unknown; password?: unknown }): Promise<UserView> {
    const role = input.role === undefined ? undefined : parseRole(input.role);
    const passwordHash = input.password === undefined ? undefined : await hash(parsePassword(input.password));
    const updated = await this.db.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`;
      const before = await find(tx, id);
      if (before.role === 'admin' && role !== undefined && role !== 'admin') await assertNotLastAdmin(tx);
      const after = await tx.user.update({ where: { id }, data: { role, passwordHash } });
      // A new password ends the user's sessions.
      if (passwordHash) await tx.session.deleteMany({ where: { userId: id } });
      await this.audit.record(tx, actor, { action: 'user.update', target: `user:${id}`, before: { role: before.role }, after: { role: after.role, passwordChanged: passwordHash !== undefined } });
      return userView(after);
    });
    this.auth.credentialsChanged(id);
    return updated;
  }

  async remove(actor: Actor, id: string): Promise<void> {
    if (actor.userId === id) throw UserError.self();
    await this.db.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`;
      const user = await find(tx, id);
      if (user.role === 'admin') await assertNotLastAdmin(tx);
      await tx.user.delete({ where: { id } });
      await this.audit.record(tx, actor, { action: 'user.delete', target: `user:${id}`, before: { username: user.username, role: user.role } });
    });
    this.auth.credentialsChanged(id);
  }

  async listTokens() {
    const rows = await this.db.apiToken.findMany({ orderBy: { createdAt: 'desc' }, include: { user: { select: { username: true } } } });
    return rows.map((t) => ({
      id: t.id,
      name: t.name,
      prefix: t.prefix,
      scopes: t.scopes,
      owner: t.user.username,
      createdAt: t.createdAt.toISOString(),
      expiresAt: t.expiresAt?.toISOString() ?? null,
      lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
      revokedAt: t.revokedAt?.toISOString() ?? null,
    }));
  }

  async revokeToken(actor: Actor, id: string): Promise<void> {
    const userId = await this.db.$transaction(async (tx) => {
      const token = isUuid(id) ? await tx.apiToken.findUnique({ where: { id } }) : null;
      if (!token) throw UserError.tokenNotFound(id);
      if (token.revokedAt) return token.userId;
      await tx.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
      await this.audit.record(tx, actor, { action: 'api_token.revoke', target: `api_token:${id}`, before: { name: token.name, prefix: token.prefix } });
      return token.userId;
    });
    this.auth.credentialsChanged(userId);
  }
}

function userView(u: User): UserView {
  return { id: u.id, username: u.username, role: u.role, createdAt: u.createdAt.toISOString() };
}

async function find(db: Db, id: string): Promise<User> {
  const user = isUuid(id) ? await db.user.findUnique({ where: { id } }) : null;
  if (!user) throw UserError.notFound(id);
  return user;
}

async function assertNotLastAdmin(db: Db): Promise<void> {
  if ((await db.user.count({ where: { role: 'admin' } })) <= 1) throw UserError.lastAdmin();
}

function parseRole(value: unknown): Role {
  if (!ROLES.includes(value as Role)) throw new ValidationError('role', 'INVALID_ENUM', `must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

function parsePassword(value: unknown): string {
  if (typeof value !== 'string' || value.length < 8 || value.length > 1024) throw new ValidationError('password', 'TOO_SHORT', 'must be 8-1024 characters');
  return value;
}
