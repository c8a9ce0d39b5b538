import { randomBytes } from 'node:crypto';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { AuditService } from '../audit/audit.service';
import { PrismaService } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import type { Role } from '../generated/prisma/client';
import { SYSTEM_ACTOR, type Actor } from './actor';
import { AuthError } from './auth.errors';
import { CredentialCache } from './credential-cache';
import { LoginThrottle } from './login-throttle';
import { hashSecret, newSecret } from './secret-token';

const SESSION_TTL_MS = 12 * 3600_000;
const SESSION_SWEEP_INTERVAL_MS = 10 * 60_000;
/**
 * How long a resolved token or session is trusted without asking the database. Revocation, role
 * and password changes, logout and user deletion forget it at once in this process (see
 * `credentialsChanged`); another replica of the controller notices within this time.
 */
export const CREDENTIAL_CACHE_TTL_MS = 5_000;
/** `last_used_at` is written at most this often per token (one hot row must not take a write per request). */
const LAST_USED_GRANULARITY_MS = 60_000;
export const API_TOKEN_PREFIX = 'pft_';
export const API_SCOPES = ['read', 'write'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface SessionInfo {
  actor: Actor;
  csrfToken: string;
}

interface CachedToken {
  userId: string;
  tokenId: string;
  actor: Actor;
  expiresAtMs: number | null;
}

interface CachedSession extends SessionInfo {
  userId: string;
  expiresAtMs: number;
}

export interface LoginResult extends SessionInfo {
  sessionToken: string;
  expiresAt: Date;
}

@Injectable()
export class AuthService implements OnModuleInit, OnModuleDestroy {
  private sweeper?: NodeJS.Timeout;
  private readonly tokens = new CredentialCache<CachedToken>(CREDENTIAL_CACHE_TTL_MS);
  private readonly sessions = new CredentialCache<CachedSession>(CREDENTIAL_CACHE_TTL_MS);
  /** Token id → when its last_used_at was last written. */
  private readonly lastUsedWritten = new Map<string, number>();

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
    const tokenHash = hashSecret(sessionToken);
    const session = await this.db.session.findUnique({ where: { tokenHash }, include: { user: true } });
    if (!session) return;
    await this.db.$transaction(async (tx) => {
      await tx.session.delete({ where: { id: session.id } });
      await this.audit.record(tx, userActor(session.user), { action: 'session.delete', target: `session:${session.id}` });
    });
    this.sessions.forget(tokenHash);
  }

  async session(sessionToken: string): Promise<SessionInfo | null> {
    const tokenHash = hashSecret(sessionToken);
    const now = Date.now();
    let cached = this.sessions.get(tokenHash, now);
    if (!cached) {
      const version = this.sessions.version();
      const row = await this.db.session.findUnique({
        where: { tokenHash },
        select: { csrfToken: true, expiresAt: true, user: { select: { id: true, username: true, role: true } } },
      });
      if (!row) return null;
      cached = { userId: row.user.id, actor: userActor(row.user), csrfToken: row.csrfToken, expiresAtMs: row.expiresAt.getTime() };
      this.sessions.set(tokenHash, cached, version, now);
    }
    if (cached.expiresAtMs <= now) return null;
    return { actor: cached.actor, csrfToken: cached.csrfToken };
  }

  /** The actor behind an API token; throws when the token is unknown, revoked or expired. */
  async tokenActor(token: string): Promise<Actor> {
    if (!token.startsWith(API_TOKEN_PREFIX)) throw AuthError.badToken();
    const tokenHash = hashSecret(token);
    const now = Date.now();
    let cached = this.tokens.get(tokenHash, now);
    if (!cached) {
      const version = this.tokens.version();
      const row = await this.db.apiToken.findUnique({
        where: { tokenHash },
        select: { id: true, prefix: true, scopes: true, expiresAt: true, revokedAt: true, user: { select: { id: true, username: true, role: true } } },
      });
      if (!row || row.revokedAt) throw AuthError.badToken();
      const actor: Actor = { kind: 'token', label: `token:${row.prefix}`, userId: row.user.id, username: row.user.username, role: row.user.role, scopes: row.scopes };
      cached = { userId: row.user.id, tokenId: row.id, actor, expiresAtMs: row.expiresAt?.getTime() ?? null };
      this.tokens.set(tokenHash, cached, version, now);
    }
    if (cached.expiresAtMs !== null && cached.expiresAtMs <= now) throw AuthError.badToken();
    await this.noteUse(cached.tokenId, now);
    return cached.actor;
  }

  /**
   * A user's credentials changed (a token revoked, role or password changed, user deleted): what
   * this process remembers about the user's tokens and sessions is dropped, so the next request
   * asks the database.
   */
  credentialsChanged(userId: string): void {
    this.tokens.forgetUser(userId);
    this.sessions.forgetUser(userId);
  }

  private async noteUse(tokenId: string, now: number): Promise<void> {
    if (now - (this.lastUsedWritten.get(tokenId) ?? -Infinity) < LAST_USED_GRANULARITY_MS) return;
    this.lastUsedWritten.set(tokenId, now);
    await this.db.apiToken.updateMany({ where: { id: tokenId }, data: { lastUsedAt: new Date(now) } });
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
