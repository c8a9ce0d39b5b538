import { randomBytes } from 'node:crypto';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { AuditService } from '../audit/audit.service';
import { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import type { Role } from '../generated/prisma/client';
import { SYSTEM_ACTOR, type Actor } from './actor';
import { AuthError } from './auth.errors';
import { LoginThrottle } from './login-throttle';
import { hashSecret, newSecret } from './secret-token';

const SESSION_TTL_MS = 12 * 3600_000;
const SESSION_SWEEP_INTERVAL_MS = 10 * 60_000;
export const API_TOKEN_PREFIX = 'pft_';
export const API_SCOPES = ['read', 'write'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface SessionInfo {
  actor: Actor;
  csrfToken: string;
}

export interface LoginResult extends SessionInfo {
  sessionToken: string;
  expiresAt: Date;
}

@Injectable()
export class AuthService implements OnModuleInit, OnModuleDestroy {
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly throttle: LoginThrottle,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.deleteExpiredSessions().catch(() => undefined), SESSION_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Returns how many expired sessions were deleted. */
  async deleteExpiredSessions(now = new Date()): Promise<number> {
    return (await this.db.session.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }

  /**
   * First start: creates `admin` with the given password or a generated one. Returns the
   * password only when it generated it (so it can be shown once), null when users exist.
   */
  async ensureFirstAdmin(password: string | undefined): Promise<{ username: string; password: string; generated: boolean } | null> {
    if ((await this.db.user.count()) > 0) return null;
    const chosen = password ?? randomBytes(15).toString('base64url');
    await this.db.$transaction(async (tx) => {
      const user = await tx.user.create({ data: { username: 'admin', passwordHash: await hash(chosen), role: 'admin' } });
      await this.audit.record(tx, SYSTEM_ACTOR, { action: 'user.create', target: `user:${user.id}`, after: { username: 'admin', role: 'admin' } });
    });
    return { username: 'admin', password: chosen, generated: password === undefined };
  }

  /** `address`: the client's, for the failed-login limit. */
  async login(username: string, password: string, address = ''): Promise<LoginResult> {
    this.throttle.check(username, address);
    const user = await this.db.user.findUnique({ where: { username } });
    // Verify against a dummy hash when the user is unknown so timing does not reveal usernames.
    const ok = user ? await verify(user.passwordHash, password) : (await verify(await dummyHash(), password), false);
    if (!user || !ok) {
      this.throttle.failed(username, address);
      throw AuthError.badCredentials();
    }
    this.throttle.succeeded(username, address);
    const sessionToken = newSecret('pfs_');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    const actor = userActor(user);
    await this.db.$transaction(async (tx) => {
      const session = await tx.session.create({ data: { userId: user.id, tokenHash: hashSecret(sessionToken), csrfToken, expiresAt } });
      await this.audit.record(tx, actor, { action: 'session.create', target: `session:${session.id}`, after: { expiresAt } });
    });
    return { sessionToken, csrfToken, expiresAt, actor };
  }

  async logout(sessionToken: string): Promise<void> {
    const session = await this.db.session.findUnique({ where: { tokenHash: hashSecret(sessionToken) }, include: { user: true } });
    if (!session) return;
    await this.db.$transaction(async (tx) => {
      await tx.session.delete({ where: { id: session.id } });
      await this.audit.record(tx, userActor(session.user), { action: 'session.delete', target: `session:${session.id}` });
    });
  }

  async session(sessionToken: string): Promise<SessionInfo | null> {
    const session = await this.db.session.findUnique({ where: { tokenHash: hashSecret(sessionToken) }, include: { user: true } });
    if (!session || session.expiresAt.getTime() <= Date.now()) return null;
    return { actor: userActor(session.user), csrfToken: session.csrfToken };
  }

  /** The actor behind an API token; throws when the token is unknown, revoked or expired. */
  async tokenActor(token: string): Promise<Actor> {
    const row = token.startsWith(API_TOKEN_PREFIX)
      ? await this.db.apiToken.findUnique({ where: { tokenHash: hashSecret(token) }, include: { user: true } })
      : null;
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) throw AuthError.badToken();
    await this.db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    return { kind: 'token', label: `token:${row.prefix}`, userId: row.userId, username: row.user.username, role: row.user.role, scopes: row.scopes };
  }

  async createApiToken(actor: Actor, input: { name: string; scopes?: string[]; ttlSeconds?: number }) {
    if (!actor.userId) throw AuthError.role('user');
    const scopes = input.scopes ?? [...API_SCOPES];
    scopes.forEach((s, i) => {
      if (!(API_SCOPES as readonly string[]).includes(s)) throw new ValidationError(`scopes[${i}]`, 'INVALID_ENUM', `must be one of ${API_SCOPES.join(', ')}`);
    });
    const token = newSecret(API_TOKEN_PREFIX);
    const prefix = token.slice(0, API_TOKEN_PREFIX.length + 6);
    const expiresAt = input.ttlSeconds ? new Date(Date.now() + input.ttlSeconds * 1000) : null;
    const row = await this.db.$transaction(async (tx) => {
      const created = await tx.apiToken.create({
        data: { userId: actor.userId!, name: input.name, prefix, tokenHash: hashSecret(token), scopes, expiresAt },
      });
      await this.audit.record(tx, actor, { action: 'api_token.create', target: `api_token:${created.id}`, after: { name: input.name, prefix, scopes, expiresAt } });
      return created;
    });
    return { id: row.id, token, prefix, name: row.name, scopes, expiresAt };
  }
}

export function userActor(user: { id: string; username: string; role: Role }): Actor {
  return { kind: 'user', label: `user:${user.username}`, userId: user.id, username: user.username, role: user.role };
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  return dummy;
}
