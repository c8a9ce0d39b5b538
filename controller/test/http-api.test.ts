import type { Client } from 'pg';
import { closeControllerSuite, openHttpSuite } from './support/controller-suite';
import { HttpClient, rule, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let db: Client;

beforeAll(async () => void ({ controller, admin, db } = await openHttpSuite()));
afterAll(() => closeControllerSuite({ controller, db }, []));

async function defaultRuleSet(client = admin) {
  const list = await client.get('/api/rule-sets');
  return list.body.ruleSets.find((s: { name: string }) => s.name === 'default');
}

describe('health', () => {
  it('answers 200 while the database answers', async () => {
    const res = await new HttpClient(controller.httpUrl).get('/healthz');
    expect([res.status, res.body]).toEqual([200, { status: 'ok' }]);
  });
});

describe('auth', () => {
  it('stores the first admin password as an argon2 hash', async () => {
    const { rows } = await db.query("SELECT password_hash FROM users WHERE username = 'admin'");
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
  });

  it('rejects a wrong password with 401 and sets no session', async () => {
    const anon = new HttpClient(controller.httpUrl);
    const res = await anon.post('/api/auth/login', { username: 'admin', password: 'wrong-password' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_CREDENTIALS');
    expect(anon.cookie('pf_session')).toBeUndefined();
  });

  it('names the missing login field', async () => {
    const res = await new HttpClient(controller.httpUrl).post('/api/auth/login', { username: 'admin' });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('password');
  });

  it('requires a login for the API', async () => {
    const res = await new HttpClient(controller.httpUrl).get('/api/agents');
    expect(res.status).toBe(401);
  });

  it('sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie', async () => {
    const res = await fetch(`${controller.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'test-admin-password' }),
    });
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('pf_session='))!;
    const csrf = cookies.find((c) => c.startsWith('pf_csrf='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(csrf).not.toMatch(/HttpOnly/);
    const body = (await res.json()) as { csrfToken: string };
    expect(csrf).toContain(`pf_csrf=${body.csrfToken}`);
  });

  it('answers /api/auth/me with the user and CSRF token', async () => {
    const res = await admin.get('/api/auth/me');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: { username: 'admin', role: 'admin' }, csrfToken: admin.csrf });
  });

  it('refuses a cookie-authenticated change without the CSRF header, storing nothing', async () => {
    const set = await defaultRuleSet();
    admin.sendCsrf = false;
    try {
      const res = await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(81, 8081) });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CSRF_FAILED');
    } finally {
      admin.sendCsrf = true;
    }
    expect((await defaultRuleSet()).latestVersion).toBe(set.latestVersion);
  });

  it('refuses a CSRF header that does not match the session', async () => {
    const set = await defaultRuleSet();
    const real = admin.csrf;
    admin.csrf = 'forged';
    try {
      expect((await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(81, 8081) })).status).toBe(403);
    } finally {
      admin.csrf = real;
    }
  });

  it('keeps an audit log that admins can read', async () => {
    const res = await admin.get('/api/audit?limit=500');
    expect(res.status).toBe(200);
    const actions = res.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.create', 'rule_set.create', 'session.create']));
    expect(res.body.entries.find((e: { action: string }) => e.action === 'session.create').actor).toBe('user:admin');
    expect((await admin.get('/api/audit?limit=0')).body.error.field).toBe('limit');
  });

  it('ends the session on logout', async () => {
    const session = await HttpClient.login(controller.httpUrl);
    expect((await session.get('/api/agents')).status).toBe(200);
    const cookie = session.cookie('pf_session')!;
    expect((await session.post('/api/auth/logout')).status).toBe(204);
    const stale = new HttpClient(controller.httpUrl);
    (stale as any).cookies.set('pf_session', cookie);
    expect((await stale.get('/api/agents')).status).toBe(401);
  });

  it('accepts API tokens as Bearer (no CSRF), stores only their hash, and honours scopes', async () => {
    const created = await admin.post('/api/api-tokens', { name: 'ci' });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    const { rows } = await db.query('SELECT token_hash, prefix FROM api_tokens WHERE id = $1', [created.body.id]);
    expect(rows[0].token_hash).not.toContain(token);
    expect(token.startsWith(rows[0].prefix)).toBe(true);

    const bot = new HttpClient(controller.httpUrl, token);
    expect((await bot.get('/api/agents')).status).toBe(200);
    const set = await defaultRuleSet(bot);
    expect((await bot.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(82, 8082) })).status).toBe(201);

    const readOnly = await admin.post('/api/api-tokens', { name: 'reader', scopes: ['read'] });
    const reader = new HttpClient(controller.httpUrl, readOnly.body.token);
    expect((await reader.get('/api/agents')).status).toBe(200);
    const denied = await reader.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(83, 8083) });
    expect(denied.status).toBe(403);

    expect((await new HttpClient(controller.httpUrl, 'pft_forged').get('/api/agents')).status).toBe(401);
    const bad = await admin.post('/api/api-tokens', { name: 'x', scopes: ['root'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('scopes[0]');
  });
});

describe('rule sets', () => {
  it('has a default rule set from the first start', async () => {
    const set = await defaultRuleSet();
    expect(set).toBeDefined();
    const full = await admin.get(`/api/rule-sets/${set.id}`);
    expect(full.body).toMatchObject({ id: set.id, name: 'default', version: set.latestVersion });
  });

  it('rejects an invalid port with 400 naming the field, and stores nothing', async () => {
    const created = await admin.post('/api/rule-sets', { name: 'validation' });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const versionsBefore = await db.query('SELECT count(*)::int AS n FROM rule_set_versions WHERE rule_set_id = $1', [id]);
    const auditBefore = await db.query('SELECT count(*)::int AS n FROM audit_log');

    const res = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(70000, 8080) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.message).toContain('selector.localPort');
    expect(res.body.error.details).toContainEqual(expect.objectContaining({ field: 'selector.localPort', code: 'INVALID_PORT' }));

    const versionsAfter = await db.query('SELECT count(*)::int AS n FROM rule_set_versions WHERE rule_set_id = $1', [id]);
    const auditAfter = await db.query('SELECT count(*)::int AS n FROM audit_log');
    expect(versionsAfter.rows[0].n).toBe(versionsBefore.rows[0].n);
    expect(auditAfter.rows[0].n).toBe(auditBefore.rows[0].n);
    expect((await admin.get(`/api/rule-sets/${id}`)).body.version).toBe(1);
  });

  it('names the field of an invalid forward-as address and of a missing direction', async () => {
    const id = (await admin.post('/api/rule-sets', { name: 'fields' })).body.id;
    const badAddress = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(80, 8080, { forwardAs: { remoteAddress: 'not an address!' } }) });
    expect(badAddress.status).toBe(400);
    expect(badAddress.body.error.details[0].field).toBe('forwardAs.remoteAddress');
    const noRule = await admin.post(`/api/rule-sets/${id}/rules`, {});
    expect(noRule.status).toBe(400);
    expect(noRule.body.error.field).toBe('rule');
    const noDirection = await admin.post(`/api/rule-sets/${id}/rules`, { rule: { ...rule(80, 8080), selector: { protocol: 'tcp' } } });
    expect(noDirection.status).toBe(400);
    expect(noDirection.body.error.details[0].field).toBe('selector.direction');
  });

  it('creates a new immutable version on every change: add, update, reorder, delete', async () => {
    const id = (await admin.post('/api/rule-sets', { name: 'versions' })).body.id;
    const v2 = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(80, 8080) });
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);
    const first = v2.body.rules[0];
    expect(first.id).toEqual(expect.any(String));

    const v3 = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(443, 8443), position: 0 });
    expect(v3.body.version).toBe(3);
    expect(v3.body.rules.map((r: { selector: { localPort: number } }) => r.selector.localPort)).toEqual([443, 80]);

    const v4 = await admin.put(`/api/rule-sets/${id}/rules/${first.id}`, { rule: rule(80, 9090) });
    expect(v4.status).toBe(200);
    expect(v4.body.rules[1]).toMatchObject({ id: first.id, forwardAs: { localPort: 9090 } });

    const ids = v4.body.rules.map((r: { id: string }) => r.id);
    const v5 = await admin.put(`/api/rule-sets/${id}/order`, { ruleIds: [...ids].reverse() });
    expect(v5.body.rules.map((r: { id: string }) => r.id)).toEqual([...ids].reverse());

    const v6 = await admin.delete(`/api/rule-sets/${id}/rules/${first.id}`);
    expect(v6.body.version).toBe(6);
    expect(v6.body.rules).toHaveLength(1);

    // Old versions are unchanged and keep their hashes.
    const old = await admin.get(`/api/rule-sets/${id}/versions/2`);
    expect(old.body).toEqual(v2.body);
    const v4again = await admin.get(`/api/rule-sets/${id}/versions/4`);
    expect(v4again.body.contentHash).toBe(v4.body.contentHash);
    expect(v4.body.contentHash).not.toBe(v2.body.contentHash);

    const audit = await db.query("SELECT action FROM audit_log WHERE target = $1 ORDER BY id", [`rule_set:${id}`]);
    expect(audit.rows.map((r) => r.action)).toEqual(['rule_set.create', 'rule.create', 'rule.create', 'rule.update', 'rule_set.reorder', 'rule.delete']);
  });

  it('rejects a reorder that does not list every rule once', async () => {
    const id = (await admin.post('/api/rule-sets', { name: 'order' })).body.id;
    const v2 = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(80, 8080) });
    await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(81, 8081) });
    const res = await admin.put(`/api/rule-sets/${id}/order`, { ruleIds: [v2.body.rules[0].id] });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('ruleIds');
    expect((await admin.get(`/api/rule-sets/${id}`)).body.version).toBe(3);
  });

  it('enforces the Trial rule limit with 422 and stores nothing', async () => {
    const id = (await admin.post('/api/rule-sets', { name: 'limit' })).body.id;
    for (const port of [1, 2, 3]) expect((await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(port, 8000 + port) })).status).toBe(201);
    const res = await admin.post(`/api/rule-sets/${id}/rules`, { rule: rule(4, 8004) });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('RULE_LIMIT_EXCEEDED');
    expect((await admin.get(`/api/rule-sets/${id}`)).body.version).toBe(4);
  });

  it('answers 404 for unknown rule sets, rules and versions, and 409 for a taken name', async () => {
    expect((await admin.get('/api/rule-sets/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await admin.get('/api/rule-sets/not-a-uuid')).status).toBe(404);
    const set = await defaultRuleSet();
    expect((await admin.get(`/api/rule-sets/${set.id}/versions/999`)).status).toBe(404);
    expect((await admin.delete(`/api/rule-sets/${set.id}/rules/nope`)).status).toBe(404);
    expect((await admin.post('/api/rule-sets', { name: 'default' })).status).toBe(409);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await fetch(`${controller.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(res.status).toBe(400);
  });
});

describe('enrollment tokens and pushes over HTTP', () => {
  it('creates an enrollment token with the enroll command and stores only its hash', async () => {
    const res = await admin.post('/api/enrollment-tokens', { ttlSeconds: 600 });
    expect(res.status).toBe(201);
    expect(res.body.command).toBe(`portfleet-agent enroll --controller controller.example:50051 --token ${res.body.token}`);
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    const { rows } = await db.query('SELECT token_hash FROM enrollment_tokens');
    expect(rows.some((r) => r.token_hash.includes(res.body.token))).toBe(false);
  });

  it('names the field of a bad push request', async () => {
    const set = await defaultRuleSet();
    const none = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [] });
    expect(none.status).toBe(400);
    expect(none.body.error.field).toBe('agentIds');
    const unknown = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: ['00000000-0000-0000-0000-000000000000'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.field).toBe('agentIds[0]');
    expect((await db.query('SELECT count(*)::int AS n FROM pushes')).rows[0].n).toBe(0);
  });
});
