import type { ServiceError } from '@grpc/grpc-js';
import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import type { AutomationServiceClient } from '@portfleet/proto/gen/automation';
import type { Client } from 'pg';
import { closeControllerSuite, openControllerSuite } from './support/controller-suite';
import { AuthService } from '../src/auth/auth.service';
import { AgentConnection, bearerMetadata, call, status } from './support/grpc-clients';
import { simAgent, until, type SimAgent } from './support/sim-agent';
import { HttpClient, rule, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let agents: AgentServiceClient;
let automation: AutomationServiceClient;
let db: Client;
let md: ReturnType<typeof bearerMetadata>;
const fleet: SimAgent[] = [];

beforeAll(async () => {
  ({ controller, admin, agents, automation, db, md } = await openControllerSuite('fleet'));
  for (const name of ['alpha-web', 'beta-web', 'gamma-db', 'delta-db', 'epsilon-edge']) fleet.push(await simAgent(admin, agents, name));
});
afterAll(() => closeControllerSuite({ controller, agents, automation, db }, fleet));

const listQuery = (q: string) => admin.get(`/api/agents?${q}`).then((r) => r.body);
const names = (body: { agents: { name: string }[] }) => body.agents.map((a) => a.name);
const noFilter = { search: '', group: '', label: '', edition: '' };

describe('agents', () => {
  it('edits name, groups and labels (HTTP and gRPC), naming bad fields, and filters on them', async () => {
    const [a, b, c] = fleet;
    const res = await admin.patch(`/api/agents/${a!.agentId}`, { name: 'alpha-web-1', groups: ['web', 'eu'], labels: ['canary'] });
    expect(res.body).toMatchObject({ name: 'alpha-web-1', groups: ['web', 'eu'], labels: ['canary'], hostname: 'alpha-web' });
    await call(automation, 'updateAgent', { id: b!.agentId, name: undefined, groups: { values: ['web'] }, labels: undefined }, md);
    await admin.patch(`/api/agents/${c!.agentId}`, { groups: ['db'] });
    const bad = await admin.patch(`/api/agents/${a!.agentId}`, { labels: ['ok', 'not ok'] });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'labels[1]']);
    const wireBad = (await call(automation, 'updateAgent', { id: a!.agentId, name: '', groups: undefined, labels: undefined }, md).catch((e) => e)) as ServiceError;
    expect([wireBad.code, wireBad.metadata.get('field')[0]]).toEqual([status.INVALID_ARGUMENT, 'name']);

    expect(names(await listQuery('group=web'))).toEqual(['alpha-web-1', 'beta-web']);
    expect(names(await listQuery('label=canary'))).toEqual(['alpha-web-1']);
    expect(names(await listQuery('search=DB'))).toEqual(['gamma-db', 'delta-db']);
    expect(names(await listQuery('edition=trial')).length).toBe(5);
    expect((await listQuery('edition=gold')).error.field).toBe('edition');
    const audit = (await admin.get(`/api/audit?action=agent.update&target=agent:${a!.agentId}`)).body.entries;
    expect(audit[audit.length - 1]).toMatchObject({ before: { name: 'alpha-web' }, after: { name: 'alpha-web-1', groups: ['web', 'eu'] } });

    const wire = await call(automation, 'listAgents', { ...noFilter, pageSize: 0, pageToken: '', group: 'web' }, md);
    expect(wire.agents.map((x) => x.name)).toEqual(['alpha-web-1', 'beta-web']);
  });

  it('pages with a keyset cursor and filters by presence (HTTP and gRPC)', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await listQuery(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.agents.length).toBeLessThanOrEqual(2);
      seen.push(...page.agents.map((x: { id: string }) => x.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(fleet.map((a) => a.agentId));
    expect((await listQuery('cursor=garbage')).error.field).toBe('cursor');

    const wireIds: string[] = [];
    let token = '';
    do {
      const page = await call(automation, 'listAgents', { ...noFilter, pageSize: 3, pageToken: token }, md);
      wireIds.push(...page.agents.map((x) => x.id));
      token = page.nextPageToken;
    } while (token);
    expect(wireIds).toEqual(seen);

    fleet[4]!.conn.close();
    await until(() => listQuery('online=false'), (p) => p.agents.length === 1);
    expect(names(await listQuery('online=false'))).toEqual(['epsilon-edge']);
    expect((await listQuery('online=true')).agents.length).toBe(4);
    const offline = await call(automation, 'listAgents', { ...noFilter, pageSize: 0, pageToken: '', online: false }, md);
    expect(offline.agents.map((x) => x.name)).toEqual(['epsilon-edge']);
  });

  it('pages through agents enrolled at the same instant (bulk enrollment) without losing or repeating one', async () => {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, created_at)
       SELECT gen_random_uuid(), 'same-instant', 'same-instant', 'linux', '0.1.0', 'x', '2099-01-01T00:00:00Z' FROM generate_series(1, 7)
       RETURNING id::text AS id`,
    );
    try {
      const seen: string[] = [];
      let cursor = '';
      do {
        const page = await listQuery(`search=same-instant&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.agents.map((x: { id: string }) => x.id));
        cursor = page.nextCursor ?? '';
      } while (cursor);
      expect(seen).toEqual(rows.map((r) => r.id as string).sort());
    } finally {
      await db.query('DELETE FROM agents WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
    }
  });

  it('changes an adapter MAC through the agent stream and returns its result (HTTP and gRPC)', async () => {
    const a = fleet[0]!;
    const http = admin.post(`/api/agents/${a.agentId}/adapters/eth0/mac`, { action: 'set', mac: '02-AA-BB-CC-DD-EE' });
    const cmd = await a.conn.next('adapterCommand');
    expect([cmd.adapter, cmd.action]).toEqual(['eth0', { $case: 'setMac', value: '02:aa:bb:cc:dd:ee' }]);
    const adapters = [{ name: 'eth0', index: 2, macs: ['02:aa:bb:cc:dd:ee'], addresses: ['192.0.2.10'] }];
    a.conn.send({ $case: 'adapterResult', value: { commandId: cmd.commandId, ok: true, error: '', mac: '02:aa:bb:cc:dd:ee', adapters } });
    const res = await http;
    expect(res.body).toEqual({ commandId: cmd.commandId, ok: true, error: null, mac: '02:aa:bb:cc:dd:ee', adapters });
    expect((await admin.get(`/api/agents/${a.agentId}`)).body.adapters).toEqual(adapters);

    const wire = call(automation, 'sendAdapterCommand', { agentId: a.agentId, adapter: '2', action: { $case: 'randomMacVendor', value: 'Intel' } }, md);
    const cmd2 = await a.conn.next('adapterCommand');
    expect(cmd2.action).toEqual({ $case: 'randomMacVendor', value: 'Intel' });
    a.conn.send({ $case: 'adapterResult', value: { commandId: cmd2.commandId, ok: false, error: 'the adapter is down', mac: '', adapters: [] } });
    expect(await wire).toMatchObject({ ok: false, error: 'the adapter is down' });

    const missingMac = await admin.post(`/api/agents/${a.agentId}/adapters/eth0/mac`, { action: 'set' });
    expect([missingMac.status, missingMac.body.error.field]).toEqual([400, 'mac']);
    const offline = await admin.post(`/api/agents/${fleet[4]!.agentId}/adapters/eth0/mac`, { action: 'restore' });
    expect([offline.status, offline.body.error.code]).toEqual([409, 'AGENT_OFFLINE']);
  });

  it('retires an agent: gone from lists, credential refused, audited (HTTP and gRPC)', async () => {
    const victim = fleet[3]!;
    const res = await admin.post(`/api/agents/${victim.agentId}/retire`);
    expect(res.body.retiredAt).not.toBeNull();
    expect(names(await listQuery('limit=50'))).not.toContain('delta-db');
    expect((await admin.get(`/api/agents/${victim.agentId}`)).status).toBe(404);
    const again = new AgentConnection(agents, victim.agentId, victim.credential);
    again.send({ $case: 'heartbeat', value: { sentAtMs: 1 } });
    expect((await again.failure()).code).toBe(status.UNAUTHENTICATED);

    const other = fleet[2]!;
    await call(automation, 'retireAgent', { id: other.agentId }, md);
    const gone = (await call(automation, 'getAgent', { id: other.agentId }, md).catch((e) => e)) as ServiceError;
    expect(gone.code).toBe(status.NOT_FOUND);
    expect((await admin.get(`/api/audit?action=agent.retire`)).body.entries).toHaveLength(2);
  });
});

describe('rule-set versions', () => {
  it('lists versions, diffs two of them, updates settings, imports and exports (HTTP and gRPC)', async () => {
    const set = (await admin.post('/api/rule-sets', { name: 'versions' })).body;
    const v2 = (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) })).body;
    const v3 = (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(81, 8081), position: 0 })).body;
    const [added, first] = v3.rules;
    const v4 = (await admin.put(`/api/rule-sets/${set.id}/rules/${first.id}`, { rule: { ...rule(80, 9090), description: 'moved' } })).body;
    const bad = await admin.put(`/api/rule-sets/${set.id}/settings`, { settings: { applyDelayMs: 0, tcpTimeoutS: -1, udpTimeoutS: 60 } });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'settings.tcpTimeoutS']);
    const v5 = (await admin.put(`/api/rule-sets/${set.id}/settings`, { settings: { applyDelayMs: 500, tcpTimeoutS: 300, udpTimeoutS: 60 } })).body;
    expect([v5.version, v5.settings.applyDelayMs]).toEqual([5, 500]);

    const page = (await admin.get(`/api/rule-sets/${set.id}/versions?limit=2`)).body;
    expect(page.versions.map((v: { version: number }) => v.version)).toEqual([5, 4]);
    const rest = (await admin.get(`/api/rule-sets/${set.id}/versions?cursor=${page.nextCursor}`)).body;
    expect(rest.versions.map((v: { version: number; ruleCount: number }) => [v.version, v.ruleCount])).toEqual([[3, 2], [2, 1], [1, 0]]);

    const diff = (await admin.get(`/api/rule-sets/${set.id}/diff?from=2&to=5`)).body;
    expect(diff.added).toEqual([{ index: 0, rule: added }]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual([
      { ruleId: first.id, fromIndex: 0, toIndex: 1, changes: [{ field: 'description', from: 'port 80 to 8080', to: 'moved' }, { field: 'forwardAs.localPort', from: 8080, to: 9090 }] },
    ]);
    expect(diff.settings).toEqual([{ field: 'applyDelayMs', from: 0, to: 500 }]);
    expect((await admin.get(`/api/rule-sets/${set.id}/diff?from=9`)).body.error.field).toBe('from');
    const wireDiff = await call(automation, 'diffRuleSetVersions', { ruleSetId: set.id, from: 2, to: 0 }, md);
    expect(wireDiff.changed[0]!.changes.map((c) => [c.field, c.toJson])).toEqual([['description', '"moved"'], ['forwardAs.localPort', '9090']]);
    const wireVersions = await call(automation, 'listRuleSetVersions', { ruleSetId: set.id, pageSize: 0, pageToken: '' }, md);
    expect(wireVersions.versions.map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    expect(v2.version).toBe(2);
    expect(v4.version).toBe(4);

    const exported = await admin.get(`/api/rule-sets/${set.id}/export`);
    const file = exported.body;
    expect(exported.headers!.get('content-type')).toMatch(/^application\/json/);
    expect([file.format, file.rules.length, file.settings.applyDelayMs]).toEqual(['portfleet-rules', 2, 500]);
    const other = (await admin.post('/api/rule-sets', { name: 'imported' })).body;
    const imported = await admin.post(`/api/rule-sets/${other.id}/import`, { content: JSON.stringify(file) });
    expect([imported.status, imported.body.rules.map((r: { id: string }) => r.id)]).toEqual([201, v5.rules.map((r: { id: string }) => r.id)]);
    const wireExport = await call(automation, 'exportRules', { ruleSetId: set.id, version: 2 }, md);
    expect(JSON.parse(wireExport.content).rules).toHaveLength(1);
    const wireImport = await call(automation, 'importRules', { ruleSetId: other.id, content: wireExport.content }, md);
    expect(wireImport.latest!.version).toBe(3);
  });

  it('import reports every error with rule index and field and changes nothing (HTTP and gRPC)', async () => {
    const set = (await admin.post('/api/rule-sets', { name: 'bad-import' })).body;
    const content = JSON.stringify({
      format: 'portfleet-rules',
      version: 1,
      settings: { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 },
      rules: [rule(80, 8080), { ...rule(81, 8081), selector: { direction: 'inbound', protocol: 'tcp', localPort: 70000 } }, { ...rule(82, 8082), forwardAs: { localPort: 'x' } }],
    });
    const res = await admin.post(`/api/rule-sets/${set.id}/import`, { content });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { ruleIndex: number; field: string }) => [d.ruleIndex, d.field])).toEqual([
      [1, 'selector.localPort'],
      [2, 'forwardAs.localPort'],
    ]);
    const wire = (await call(automation, 'importRules', { ruleSetId: set.id, content }, md).catch((e) => e)) as ServiceError;
    expect(JSON.parse(wire.metadata.get('details')[0] as string)).toHaveLength(2);
    expect((await admin.get(`/api/rule-sets/${set.id}`)).body.version).toBe(1);
    expect((await admin.post(`/api/rule-sets/${set.id}/import`, { content: '{"format":' })).status).toBe(400);
  });
});

describe('users, tokens and login', () => {
  it('creates, changes and deletes users; the last admin stays', async () => {
    const created = await admin.post('/api/users', { username: 'olga', password: 'operator-pass', role: 'operator' });
    expect(created.body).toMatchObject({ username: 'olga', role: 'operator' });
    expect((await admin.post('/api/users', { username: 'olga', password: 'operator-pass', role: 'viewer' })).body.error.code).toBe('USERNAME_TAKEN');
    expect((await admin.post('/api/users', { username: 'x', password: 'short', role: 'viewer' })).body.error.field).toBe('password');
    const olga = await HttpClient.login(controller.httpUrl, 'olga', 'operator-pass');
    expect((await olga.get('/api/users')).status).toBe(403);
    expect((await admin.patch(`/api/users/${created.body.id}`, { role: 'viewer' })).body.role).toBe('viewer');
    expect((await olga.post('/api/rule-sets', { name: 'viewer-cannot' })).status).toBe(403);
    const me = (await admin.get('/api/users')).body.users.find((u: { username: string }) => u.username === 'admin');
    expect((await admin.patch(`/api/users/${me.id}`, { role: 'viewer' })).body.error.code).toBe('LAST_ADMIN');
    expect((await admin.delete(`/api/users/${me.id}`)).body.error.code).toBe('CANNOT_DELETE_SELF');
    expect((await admin.delete(`/api/users/${created.body.id}`)).status).toBe(204);
    expect((await olga.get('/api/agents')).status).toBe(401);
  });

  it('lists tokens without secrets, shows last use, and revokes at once', async () => {
    const created = (await admin.post('/api/api-tokens', { name: 'ci', scopes: ['read'], ttlSeconds: 3600 })).body;
    const bearer = new HttpClient(controller.httpUrl, created.token);
    expect((await bearer.get('/api/agents')).status).toBe(200);
    const listed = (await admin.get('/api/api-tokens')).body.tokens.find((t: { id: string }) => t.id === created.id);
    expect(listed).toMatchObject({ name: 'ci', prefix: created.prefix, scopes: ['read'], owner: 'admin', revokedAt: null });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect((await admin.delete(`/api/api-tokens/${created.id}`)).status).toBe(204);
    expect((await bearer.get('/api/agents')).status).toBe(401);
  });

  it('limits failed logins per user and address with 429 and Retry-After', async () => {
    await admin.post('/api/users', { username: 'guess', password: 'right-password', role: 'viewer' });
    const anon = new HttpClient(controller.httpUrl);
    for (let i = 0; i < 5; i++) expect((await anon.post('/api/auth/login', { username: 'guess', password: 'wrong' })).status).toBe(401);
    const limited = await anon.post('/api/auth/login', { username: 'guess', password: 'right-password' });
    expect([limited.status, limited.body.error.code]).toEqual([429, 'TOO_MANY_ATTEMPTS']);
    expect(Number(limited.headers!.get('retry-after'))).toBeGreaterThan(800);
    expect((await anon.post('/api/auth/login', { username: 'admin', password: 'test-admin-password' })).status).toBe(200);
  });

  it('sweeps expired sessions', async () => {
    const user = await db.query("SELECT id FROM users WHERE username = 'admin'");
    await db.query("INSERT INTO sessions (id, user_id, token_hash, csrf_token, expires_at) VALUES (gen_random_uuid(), $1, 'expired-hash', 'x', now() - interval '1 minute')", [user.rows[0].id]);
    expect(await controller.app.get(AuthService).deleteExpiredSessions()).toBe(1);
    expect(Number((await db.query("SELECT count(*) FROM sessions WHERE token_hash = 'expired-hash'")).rows[0].count)).toBe(0);
    expect((await admin.get('/api/auth/me')).status).toBe(200);
  });

  it('pages the audit log by cursor', async () => {
    const first = (await admin.get('/api/audit?limit=3')).body;
    const second = (await admin.get(`/api/audit?limit=3&cursor=${first.nextCursor}`)).body;
    const ids = [...first.entries, ...second.entries].map((e: { id: string }) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(6);
  });
});

describe('operations', () => {
  it('serves an OpenAPI document listing every route, without auth', async () => {
    const doc = (await new HttpClient(controller.httpUrl).get('/api/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, method] of [['/api/agents', 'get'], ['/api/agents/{id}', 'patch'], ['/api/pushes/dry-run', 'post'], ['/api/license', 'post'], ['/api/events', 'get'], ['/metrics', 'get']]) {
      expect(doc.paths[path!]?.[method!]).toBeDefined();
    }
    const missingSummary = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops as object).filter(([, op]) => op.summary === p).map(([m]) => `${m} ${p}`));
    expect(missingSummary).toEqual([]);
  });

  it('exports Prometheus metrics: connected agents, push latency, ingest', async () => {
    const a = fleet[0]!;
    a.conn.send({ $case: 'activity', value: { seq: 1, periodStartMs: Date.now() - 1000, periodEndMs: Date.now(), rules: [{ ruleId: 'r1', packetsIn: 60, bytesIn: 6000, packetsOut: 0, bytesOut: 0, conversationsActive: 1, conversationsNew: 1, lastHitMs: Date.now() }] } });
    await a.conn.next('activityAck');
    const text = (await new HttpClient(controller.httpUrl).get('/metrics')).body as string;
    expect(text).toMatch(/^portfleet_connected_agents \d+$/m);
    expect(text).toMatch(/^portfleet_activity_reports_total 1$/m);
    expect(text).toMatch(/^portfleet_activity_rules_total 1$/m);
    expect(text).toContain('# TYPE portfleet_push_latency_seconds histogram');

    const rates = (await admin.get('/api/activity/rates')).body;
    expect(rates.fleet).toEqual({ packetsPerSecond: 1, bytesPerSecond: 100 });
    const series = (await admin.get(`/api/activity/series?scope=agent&agentId=${a.agentId}&from=${new Date(Date.now() - 180_000).toISOString()}`)).body;
    expect(series.bucketSeconds).toBe(60);
    expect(series.points.reduce((n: number, p: { packetsIn: number }) => n + p.packetsIn, 0)).toBe(60);
    expect(series.points.length).toBeGreaterThanOrEqual(3);
    expect((await admin.get('/api/activity/series?scope=rule')).body.error.field).toBe('ruleId');
  });
});
