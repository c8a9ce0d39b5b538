/**
 * Authorization matrix (issue 7): every HTTP route the controller serves (enumerated from its own
 * OpenAPI document) and every AutomationService method × every kind of caller. The expectation is
 * data written from docs/http-api.md's rules, not from observed behaviour:
 *   - public: /healthz, /metrics, GET /api/openapi.json, POST /api/auth/login|logout, GET /api/auth/me
 *   - admin: /api/users*, /api/api-tokens*, /api/audit*, POST /api/license
 *   - otherwise GET/HEAD needs viewer, any change needs operator
 *   - API tokens act with their creator's role (only admins create them), limited by scope:
 *     `read` for reads, `write` for changes
 *   - anonymous, revoked, expired and logged-out credentials: 401 / UNAUTHENTICATED
 *   - a cookie-authenticated change without the CSRF header: 403
 * Allowed cells must get past authorization (not 401/403, never 5xx: with placeholder ids and
 * empty bodies 400/404/409/422 are the expected answers); denied cells must get exactly 401 or 403.
 * Agent A acting as agent B over gRPC is in agent-tls.test.ts. Needs `npm run build` first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AutomationServiceService } from '@portfleet/proto/gen/automation';
import { ApiSession } from '../support/api';
import { startStack, type Stack } from '../support/stack';

type Role = 'viewer' | 'operator' | 'admin';
type Need = 'public' | Role;
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

const PUBLIC = new Set(['GET /healthz', 'GET /metrics', 'GET /api/openapi.json', 'POST /api/auth/login', 'POST /api/auth/logout', 'GET /api/auth/me']);
const ADMIN_PREFIXES = ['/api/users', '/api/api-tokens', '/api/audit'];
const ADMIN_ROUTES = new Set(['POST /api/license']);

/** What docs/http-api.md says a route needs. */
function need(method: string, path: string): Need {
  const key = `${method} ${path}`;
  if (PUBLIC.has(key)) return 'public';
  if (ADMIN_ROUTES.has(key) || ADMIN_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'viewer' : 'operator';
}

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

interface Caller {
  name: string;
  headers: () => Record<string, string>;
  /** The expected status for a route needing `n` with `method`: 'allowed', 401 or 403. */
  expect: (n: Exclude<Need, 'public'>, method: string) => 'allowed' | 401 | 403;
}

const PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

let stack: Stack;
let callers: Caller[];
let routes: { method: string; path: string }[];
let caPem: string;
let tokens: { read: string; write: string; revoked: string; expired: string; expiredAt: number };
const secrets: string[] = [];

function cookieCaller(name: string, session: ApiSession, role: Role): Caller {
  const s = session as unknown as { cookies: Map<string, string>; csrf: string };
  return {
    name,
    headers: () => ({ cookie: [...s.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': s.csrf }),
    expect: (n) => (RANK[role] >= RANK[n] ? 'allowed' : 403),
  };
}

function tokenCaller(name: string, token: () => string, scopes: ('read' | 'write')[]): Caller {
  return {
    name,
    headers: () => ({ authorization: `Bearer ${token()}` }),
    expect: (_n, method) => (scopes.includes(isRead(method) ? 'read' : 'write') ? 'allowed' : 403),
  };
}

const denied = (name: string, headers: () => Record<string, string>, status: 401 | 403 = 401): Caller => ({ name, headers, expect: () => status });

beforeAll(async () => {
  stack = await startStack({ controllerEnv: { PORTFLEET_GRPC_INSECURE: '0' } });
  caPem = readFileSync(join(stack.dataDir, 'controller', 'tls', 'ca.pem'), 'utf8');
  const admin = await stack.login();
  secrets.push(stack.adminPassword);
  const sessions: Partial<Record<Role, ApiSession>> = { admin };
  for (const role of ['viewer', 'operator'] as const) {
    const password = `pw-${role}-${Math.random().toString(36).slice(2)}`;
    secrets.push(password);
    const created = await admin.post('/api/users', { username: `u-${role}`, password, role });
    expect(created.status).toBe(201);
    sessions[role] = await ApiSession.login(stack.httpUrl, `u-${role}`, password);
  }
  const token = async (scopes: string[], ttlSeconds?: number) => {
    const res = await admin.post('/api/api-tokens', { name: `t-${scopes.join('-')}-${ttlSeconds ?? 0}`, scopes, ...(ttlSeconds && { ttlSeconds }) });
    expect(res.status).toBe(201);
    secrets.push(res.body.token);
    return res.body as { id: string; token: string };
  };
  const expired = await token(['read', 'write'], 60);
  const revoked = await token(['read', 'write']);
  expect((await admin.del(`/api/api-tokens/${revoked.id}`)).status).toBe(204);
  tokens = { read: (await token(['read'])).token, write: (await token(['write'])).token, revoked: revoked.token, expired: expired.token, expiredAt: Date.now() + 61_000 };

  const loggedOut = await ApiSession.login(stack.httpUrl, 'admin', stack.adminPassword);
  const loggedOutHeaders = cookieCaller('x', loggedOut, 'admin').headers();
  expect((await loggedOut.post('/api/auth/logout')).status).toBe(204);

  const noCsrf = cookieCaller('x', admin, 'admin');
  callers = [
    denied('anonymous', () => ({})),
    cookieCaller('viewer', sessions.viewer!, 'viewer'),
    cookieCaller('operator', sessions.operator!, 'operator'),
    cookieCaller('admin', admin, 'admin'),
    { name: 'admin without CSRF header', headers: () => ({ cookie: noCsrf.headers().cookie! }), expect: (_n, method) => (isRead(method) ? 'allowed' : 403) },
    tokenCaller('token read', () => tokens.read, ['read']),
    tokenCaller('token write', () => tokens.write, ['write']),
    denied('token revoked', () => ({ authorization: `Bearer ${tokens.revoked}` })),
    denied('token unknown', () => ({ authorization: `Bearer pft_${'A'.repeat(32)}` })),
    denied('session logged out', () => loggedOutHeaders),
  ];
  const openapi = (await (await fetch(`${stack.httpUrl}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(openapi.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, ':p') })),
  );
});
afterAll(async () => {
  await stack?.stop();
});

function concrete(path: string): string {
  return path.replace(/:p/g, PLACEHOLDER);
}

/** The status of a request; the body is not awaited (the SSE stream never ends). */
async function statusOf(method: string, path: string, headers: Record<string, string>): Promise<number> {
  const abort = new AbortController();
  const res = await fetch(stack.httpUrl + concrete(path), {
    method,
    headers: { ...headers, ...(isRead(method) ? {} : { 'content-type': 'application/json' }) },
    body: isRead(method) ? undefined : '{}',
    signal: abort.signal,
  });
  abort.abort();
  return res.status;
}

describe('HTTP authorization matrix', () => {
  it('covers every route the controller serves, and each is documented', () => {
    expect(routes.length).toBeGreaterThan(40);
    const doc = readFileSync(join(__dirname, '../../docs/http-api.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^\s`?]*)/g)].map((m) => `${m[1]} ${m[2]!.replace(/:[A-Za-z]+/g, ':p')}`));
    const undocumented = routes.map((r) => `${r.method} ${r.path}`).filter((r) => !documented.has(r));
    expect(undocumented).toEqual([]);
  });

  it('public routes answer without credentials', async () => {
    for (const key of ['GET /healthz', 'GET /metrics', 'GET /api/openapi.json']) {
      const [method, path] = key.split(' ') as [string, string];
      expect([key, await statusOf(method, path, {})]).toEqual([key, 200]);
    }
  });

  it('every route × every caller: allowed cells pass, the others are denied with 401/403', async () => {
    const wrong: string[] = [];
    let cells = 0;
    for (const { method, path } of routes) {
      const n = need(method, path);
      if (n === 'public') continue;
      for (const caller of callers) {
        const expected = caller.expect(n, method);
        const status = await statusOf(method, path, caller.headers());
        cells++;
        const ok = expected === 'allowed' ? status !== 401 && status !== 403 && status < 500 : status === expected;
        if (!ok) wrong.push(`${method} ${path} as ${caller.name}: expected ${expected}, got ${status}`);
      }
    }
    expect(cells).toBeGreaterThan(300);
    expect(wrong).toEqual([]);
  });

  it('an expired API token is refused everywhere (401)', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, tokens.expiredAt - Date.now())));
    const wrong: string[] = [];
    for (const { method, path } of routes) {
      if (need(method, path) === 'public') continue;
      const status = await statusOf(method, path, { authorization: `Bearer ${tokens.expired}` });
      if (status !== 401) wrong.push(`${method} ${path}: ${status}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('session cookies are HttpOnly and SameSite=Strict; the CSRF cookie is readable', async () => {
    const res = await fetch(`${stack.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: stack.adminPassword }) });
    expect(res.status).toBe(200);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('pf_session='));
    const csrf = cookies.find((c) => c.startsWith('pf_csrf='));
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*SameSite=Strict/i);
    expect(csrf).toMatch(/;\s*SameSite=Strict/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    // Served over plain HTTP here, so not Secure (docs/http-api.md: Secure when served over HTTPS).
    expect(session).not.toMatch(/;\s*Secure/i);
  });

  it('login is rate limited: the 6th failure within 15 minutes gets 429 with Retry-After', async () => {
    const attempt = () => fetch(`${stack.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'u-viewer', password: 'wrong-password' }) });
    for (let i = 0; i < 5; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('no password or token appears in the controller log', () => {
    const log = stack.controller.tail(100_000);
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) expect(log.includes(secret) ? secret : null).toBeNull();
  });
});

describe('gRPC AutomationService authorization matrix', () => {
  const READ = /^(list|get|diff|export|watch)/;
  const methods = Object.entries(AutomationServiceService);

  function call(name: string, token: string | undefined): Promise<grpc.status> {
    const def = AutomationServiceService[name as keyof typeof AutomationServiceService] as grpc.MethodDefinition<unknown, unknown>;
    const client = new grpc.Client(stack.grpcAddress, grpc.credentials.createSsl(Buffer.from(caPem)));
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    const request = def.requestDeserialize(Buffer.alloc(0));
    return new Promise((resolve) => {
      const done = (code: grpc.status) => {
        client.close();
        resolve(code);
      };
      if (def.responseStream) {
        const stream = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata, {});
        const timer = setTimeout(() => {
          stream.cancel();
          done(grpc.status.OK); // still open after a second: the stream was accepted
        }, 1000);
        stream.on('data', () => undefined);
        stream.on('error', (e: grpc.ServiceError) => {
          clearTimeout(timer);
          done(e.code);
        });
        return;
      }
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata, { deadline: Date.now() + 10_000 }, (err) => done(err ? err.code : grpc.status.OK));
    });
  }

  it('every method × {none, read, write, revoked, unknown}', async () => {
    expect(methods.length).toBeGreaterThan(25);
    const wrong: string[] = [];
    const denial = [grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED];
    const broken = [grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.UNAVAILABLE];
    for (const [name] of methods) {
      const needsRead = READ.test(name);
      const cases: [string, string | undefined, grpc.status | 'allowed'][] = [
        ['none', undefined, grpc.status.UNAUTHENTICATED],
        ['revoked', tokens.revoked, grpc.status.UNAUTHENTICATED],
        ['unknown', `pft_${'B'.repeat(32)}`, grpc.status.UNAUTHENTICATED],
        ['read', tokens.read, needsRead ? 'allowed' : grpc.status.PERMISSION_DENIED],
        ['write', tokens.write, needsRead ? grpc.status.PERMISSION_DENIED : 'allowed'],
      ];
      for (const [who, token, expected] of cases) {
        const code = await call(name, token);
        const ok = expected === 'allowed' ? !denial.includes(code) && !broken.includes(code) : code === expected;
        if (!ok) wrong.push(`${name} as ${who}: expected ${expected === 'allowed' ? 'allowed' : grpc.status[expected]}, got ${grpc.status[code]}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
