import type { ServiceError } from '@grpc/grpc-js';
import { contentHash, ruleSetVersionFromWire, ruleToWire, ruleErrorToWire, type Rule } from '@portfleet/proto';
import { PushAgentState } from '@portfleet/proto/gen/automation';
import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import type { AutomationServiceClient } from '@portfleet/proto/gen/automation';
import { Client } from 'pg';
import { AgentConnection, agentClient, automationClient, bearerMetadata, call, enroll, status } from './support/grpc-clients';
import { HttpClient, rule, startTestController, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let agents: AgentServiceClient;
let automation: AutomationServiceClient;
let db: Client;
let apiToken: string;

beforeAll(async () => {
  controller = await startTestController();
  admin = await HttpClient.login(controller.httpUrl);
  agents = agentClient(controller.grpcAddress);
  automation = automationClient(controller.grpcAddress);
  db = new Client({ connectionString: controller.databaseUrl });
  await db.connect();
  apiToken = (await admin.post('/api/api-tokens', { name: 'automation' })).body.token;
});
afterAll(async () => {
  agents?.close();
  automation?.close();
  await db?.end();
  await controller?.shutdown();
});

async function newToken(ttlSeconds?: number): Promise<string> {
  return (await admin.post('/api/enrollment-tokens', ttlSeconds ? { ttlSeconds } : {})).body.token;
}

async function enrolledAgent(hostname: string) {
  const { agentId, credential } = await enroll(agents, await newToken(), hostname);
  return { agentId, credential };
}

function hello(extra: Partial<{ appliedRuleSetId: string; appliedVersion: number; appliedContentHash: string }> = {}) {
  return {
    $case: 'hello' as const,
    value: {
      hostname: 'host-a',
      platform: 'linux',
      version: '0.1.0',
      adapters: [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.10'] }],
      dataplane: { kind: 'memory', layer2: false, reflection: true, adapters: false, clone: true },
      appliedRuleSetId: '',
      appliedVersion: 0,
      appliedContentHash: '',
      ...extra,
    },
  };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Enroll', () => {
  it('turns a one-time token into an agent id and credential, storing only the hash', async () => {
    const token = await newToken();
    const res = await enroll(agents, token, 'enroll-host');
    expect(res.agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.credential.length).toBeGreaterThan(20);
    const { rows } = await db.query('SELECT credential_hash, hostname FROM agents WHERE id = $1', [res.agentId]);
    expect(rows[0].hostname).toBe('enroll-host');
    expect(rows[0].credential_hash).not.toContain(res.credential);

    const again = await enroll(agents, token, 'second-host').catch((e: ServiceError) => e);
    expect((again as ServiceError).code).toBe(status.PERMISSION_DENIED);
    expect((again as ServiceError).details).toMatch(/already used/);
    expect((await db.query("SELECT count(*)::int AS n FROM agents WHERE hostname = 'second-host'")).rows[0].n).toBe(0);
  });

  it('lets only one of two hosts racing with the same token enroll', async () => {
    const token = await newToken();
    const results = await Promise.allSettled([enroll(agents, token, 'race-1'), enroll(agents, token, 'race-2')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('rejects an expired token and an unknown token', async () => {
    const token = await newToken(60);
    await db.query("UPDATE enrollment_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
    const expired = (await enroll(agents, token).catch((e) => e)) as ServiceError;
    expect(expired.code).toBe(status.PERMISSION_DENIED);
    expect(expired.details).toMatch(/expired/);
    const unknown = (await enroll(agents, 'pfe_unknown-token-value').catch((e) => e)) as ServiceError;
    expect(unknown.code).toBe(status.UNAUTHENTICATED);
  });

  it('names a missing field', async () => {
    const err = (await enroll(agents, '').catch((e) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^token:/);
  });
});

describe('Connect', () => {
  it('refuses a stream without a valid credential', async () => {
    const { agentId } = await enrolledAgent('bad-cred');
    const conn = new AgentConnection(agents, agentId, 'wrong-secret');
    conn.send(hello());
    expect((await conn.failure()).code).toBe(status.UNAUTHENTICATED);
  });

  it('hello → online; push → delivered → ack applied; activity stored once per seq; offline on close', async () => {
    const { agentId, credential } = await enrolledAgent('flow-host');
    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello());
    const welcome = await conn.next('welcome');
    expect(welcome).toMatchObject({ agentId, activitySeqStored: 0 });

    const online = await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === true);
    expect(online.body).toMatchObject({ online: true, platform: 'linux', adapters: [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.10'] }] });

    // A rule set with one rule, pushed over HTTP.
    const set = (await admin.post('/api/rule-sets', { name: 'flow' })).body;
    const v2 = (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) })).body;
    const push = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agentId] });
    expect(push.status).toBe(201);
    expect(push.body.version).toBe(2);

    const apply = await conn.next('apply');
    expect(apply.pushId).toBe(push.body.id);
    const received = ruleSetVersionFromWire(apply.ruleSet!);
    expect(received.ok).toBe(true);
    if (!received.ok) return;
    expect(received.value.contentHash).toBe(v2.contentHash);
    expect(received.value.rules).toEqual(v2.rules);
    expect((await admin.get(`/api/pushes/${push.body.id}`)).body.targets[0].state).toBe('delivered');
    expect((await admin.get(`/api/agents/${agentId}`)).body).toMatchObject({ desiredRuleSetId: set.id, desiredVersion: 2 });

    conn.send({ $case: 'ack', value: { pushId: apply.pushId, ruleSetId: set.id, version: 2, contentHash: v2.contentHash, applied: true, errors: [] } });
    const applied = await until(() => admin.get(`/api/pushes/${push.body.id}`), (r) => r.body.targets[0].state === 'applied');
    expect(applied.body.targets[0]).toMatchObject({ agentId, state: 'applied', errors: [] });
    expect((await admin.get(`/api/agents/${agentId}`)).body).toMatchObject({ appliedRuleSetId: set.id, appliedVersion: 2, appliedContentHash: v2.contentHash });

    // Activity: seq 1 twice (a resend after reconnect) counts once.
    const ruleId = v2.rules[0].id;
    const report = {
      seq: 1,
      periodStartMs: Date.now() - 1000,
      periodEndMs: Date.now(),
      rules: [{ ruleId, packetsIn: 10, bytesIn: 1000, packetsOut: 8, bytesOut: 800, conversationsActive: 1, conversationsNew: 2, lastHitMs: Date.now() }],
    };
    conn.send({ $case: 'activity', value: report });
    expect((await conn.next('activityAck')).seq).toBe(1);
    conn.send({ $case: 'activity', value: report });
    expect((await conn.next('activityAck')).seq).toBe(1);
    conn.send({ $case: 'activity', value: { ...report, seq: 2, rules: [{ ...report.rules[0]!, packetsIn: 5, bytesIn: 500, packetsOut: 0, bytesOut: 0, conversationsNew: 0 }] } });
    expect((await conn.next('activityAck')).seq).toBe(2);
    const totals = await admin.get(`/api/activity?agentId=${agentId}`);
    expect(totals.body.totals).toEqual([
      expect.objectContaining({ agentId, ruleId, packetsIn: 15, bytesIn: 1500, packetsOut: 8, bytesOut: 800, conversations: 2 }),
    ]);

    conn.send({ $case: 'heartbeat', value: { sentAtMs: Date.now() } });
    await conn.next('heartbeat');

    conn.close();
    const offline = await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === false);
    expect(offline.body.online).toBe(false);
    expect(offline.body.lastSeenAt).not.toBeNull();

    // Reconnecting, the agent learns the highest stored seq.
    const again = new AgentConnection(agents, agentId, credential);
    again.send(hello({ appliedRuleSetId: set.id, appliedVersion: 2, appliedContentHash: v2.contentHash }));
    expect((await again.next('welcome')).activitySeqStored).toBe(2);
    again.close();
  });

  it('fails the stream on an invalid activity report with INVALID_ARGUMENT naming the field; it stores nothing of it', async () => {
    const { agentId, credential } = await enrolledAgent('bad-report');
    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello());
    await conn.next('welcome');
    const rule = { ruleId: 'r1', packetsIn: 1, bytesIn: 100, packetsOut: 1, bytesOut: 100, conversationsActive: 0, conversationsNew: 1, lastHitMs: Date.now() };
    const report = (seq: number, rules = [rule]) => ({ seq, periodStartMs: Date.now() - 1000, periodEndMs: Date.now(), rules });
    conn.send({ $case: 'activity', value: report(1) });
    expect((await conn.next('activityAck')).seq).toBe(1);
    // Above the 2^40 bound every counter has.
    conn.send({ $case: 'activity', value: report(2, [rule, { ...rule, ruleId: 'r2', bytesIn: 2 ** 41 }]) });
    const failure = await conn.failure();
    expect(failure.code).toBe(status.INVALID_ARGUMENT);
    expect(failure.details).toContain('activity.rules[1].bytesIn');
    const totals = await admin.get(`/api/activity?agentId=${agentId}`);
    expect(totals.body.totals).toEqual([expect.objectContaining({ agentId, ruleId: 'r1', packetsIn: 1, bytesIn: 100 })]);
  });

  it('writes nothing on heartbeats; leaving writes the last-seen time', async () => {
    const { agentId, credential } = await enrolledAgent('quiet-host');
    const lastSeen = async () => (await db.query('SELECT last_seen_at FROM agents WHERE id = $1', [agentId])).rows[0].last_seen_at as Date | null;
    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello());
    await conn.next('welcome');
    await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === true);
    const atHello = await lastSeen();
    expect(atHello).not.toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) {
      conn.send({ $case: 'heartbeat', value: { sentAtMs: Date.now() } });
      await conn.next('heartbeat');
    }
    expect(await lastSeen()).toEqual(atHello);
    // Online, the API shows "now" without a write.
    const shown = Date.parse((await admin.get(`/api/agents/${agentId}`)).body.lastSeenAt);
    expect(shown).toBeGreaterThan(atHello!.getTime());

    conn.close();
    await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === false);
    expect((await lastSeen())!.getTime()).toBeGreaterThan(atHello!.getTime());
  });

  it('welcomes many agents connecting at once and records each inventory (batched writes)', async () => {
    const fleet = await Promise.all(Array.from({ length: 30 }, (_, i) => enrolledAgent(`storm-${i}`)));
    const conns = fleet.map(({ agentId, credential }, i) => {
      const conn = new AgentConnection(agents, agentId, credential);
      conn.send({ ...hello(), value: { ...hello().value, hostname: `storm-${i}`, adapters: [{ name: 'eth0', index: 2, macs: [`02:00:00:00:01:${i.toString(16).padStart(2, '0')}`], addresses: [] }] } });
      return conn;
    });
    try {
      const welcomes = await Promise.all(conns.map((c) => c.next('welcome')));
      expect(welcomes.map((w) => w.agentId)).toEqual(fleet.map((a) => a.agentId));
      const ids = fleet.map((a) => a.agentId);
      await until(() => admin.get('/api/agents?online=true&limit=500'), (r) => ids.every((id) => r.body.agents.some((a: { id: string }) => a.id === id)));
      const { rows } = await db.query("SELECT hostname, adapters->0->'macs'->>0 AS mac FROM agents WHERE id = ANY($1::uuid[]) ORDER BY hostname", [ids]);
      const expected = fleet.map((_, i) => ({ hostname: `storm-${i}`, mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}` })).sort((x, y) => x.hostname.localeCompare(y.hostname));
      expect(rows).toEqual(expected);
    } finally {
      conns.forEach((c) => c.close());
    }
  });

  it('sends the desired version on Hello to an agent that was offline during the push, and records a failed ack with reasons', async () => {
    const { agentId, credential } = await enrolledAgent('late-host');
    const set = (await admin.post('/api/rule-sets', { name: 'late' })).body;
    const v2 = (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(25, 8025) })).body;
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agentId] })).body;
    expect(push.targets[0].state).toBe('pending');

    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello());
    await conn.next('welcome');
    const apply = await conn.next('apply');
    expect(apply.pushId).toBe(push.id);
    expect(apply.ruleSet!.version).toBe(2);

    const reason = ruleErrorToWire({ ruleIndex: 0, ruleId: v2.rules[0].id, field: 'forwardAs.localPort', code: 'UNSUPPORTED_BY_DATAPLANE', message: 'cannot' });
    conn.send({ $case: 'ack', value: { pushId: push.id, ruleSetId: set.id, version: 2, contentHash: v2.contentHash, applied: false, errors: [reason] } });
    const failed = await until(() => admin.get(`/api/pushes/${push.id}`), (r) => r.body.targets[0].state === 'failed');
    expect(failed.body.targets[0].errors).toEqual([
      { ruleIndex: 0, ruleId: v2.rules[0].id, field: 'forwardAs.localPort', code: 'UNSUPPORTED_BY_DATAPLANE', message: 'cannot' },
    ]);
    expect((await admin.get(`/api/agents/${agentId}`)).body.appliedVersion).toBeNull();
    conn.close();
  });

  it('sends nothing on Hello when the agent already runs its desired version', async () => {
    const { agentId, credential } = await enrolledAgent('synced-host');
    const set = (await admin.post('/api/rule-sets', { name: 'synced' })).body;
    await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agentId] });
    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello({ appliedRuleSetId: set.id, appliedVersion: 1, appliedContentHash: contentHash([], set.settings) }));
    await conn.next('welcome');
    await expect(conn.next('apply', 500)).rejects.toThrow(/no apply/);
    conn.close();
  });
});

describe('AutomationService', () => {
  const md = () => bearerMetadata(apiToken);

  it('requires an API token', async () => {
    const err = (await call(automation, 'listAgents', { pageSize: 0, pageToken: '', search: '', group: '', label: '', edition: '' }).catch((e) => e)) as ServiceError;
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });

  it('rejects an invalid rule with INVALID_ARGUMENT naming the field, storing nothing', async () => {
    const set = await call(automation, 'createRuleSet', { name: 'automation' }, md());
    const bad: Rule = { ...rule(80, 8080), id: '', selector: { direction: 'inbound', protocol: 'tcp', localPort: 0 } } as Rule;
    const err = (await call(automation, 'createRule', { ruleSetId: set.id, rule: ruleToWire(bad), position: undefined }, md()).catch((e) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^selector\.localPort:/);
    expect(err.metadata.get('field')).toEqual(['selector.localPort']);
    const after = await call(automation, 'getRuleSet', { id: set.id, version: 0 }, md());
    expect(after.latest!.version).toBe(1);
  });

  it('drives rules, a push and its status, and activity', async () => {
    const { agentId, credential } = await enrolledAgent('automation-host');
    const listed = await call(automation, 'listAgents', { pageSize: 0, pageToken: '', search: '', group: '', label: '', edition: '' }, md());
    expect(listed.agents.map((a) => a.id)).toContain(agentId);

    const set = await call(automation, 'createRuleSet', { name: 'automation-push' }, md());
    const a = await call(automation, 'createRule', { ruleSetId: set.id, rule: ruleToWire({ ...rule(80, 8080), id: '' } as Rule), position: undefined }, md());
    const b = await call(automation, 'createRule', { ruleSetId: set.id, rule: ruleToWire({ ...rule(81, 8081), id: '' } as Rule), position: undefined }, md());
    expect(b.latest!.version).toBe(3);
    const ids = b.latest!.rules.map((r) => r.id);
    const reordered = await call(automation, 'reorderRules', { ruleSetId: set.id, ruleIds: [...ids].reverse() }, md());
    expect(reordered.latest!.rules.map((r) => r.id)).toEqual([...ids].reverse());
    const updated = await call(automation, 'updateRule', { ruleSetId: set.id, ruleId: ids[0]!, rule: ruleToWire({ ...rule(80, 9090), id: '' } as Rule) }, md());
    expect(updated.latest!.rules.find((r) => r.id === ids[0])!.forwardAs!.localPort).toBe(9090);
    const deleted = await call(automation, 'deleteRule', { ruleSetId: set.id, ruleId: a.latest!.rules[0]!.id }, md());
    expect(deleted.latest!.rules).toHaveLength(1);

    const conn = new AgentConnection(agents, agentId, credential);
    conn.send(hello());
    await conn.next('welcome');
    await until(() => call(automation, 'getAgent', { id: agentId }, md()), (x) => x.online);

    const push = await call(automation, 'createPush', { ruleSetId: set.id, version: 0, agentIds: [agentId], groups: [], labels: [], rollout: undefined }, md());
    expect(push.version).toBe(deleted.latest!.version);
    const apply = await conn.next('apply');
    conn.send({ $case: 'ack', value: { pushId: push.id, ruleSetId: set.id, version: push.version, contentHash: apply.ruleSet!.contentHash, applied: true, errors: [] } });
    const done = await until(() => call(automation, 'getPush', { id: push.id }, md()), (p) => p.targets[0]!.state === PushAgentState.PUSH_AGENT_STATE_APPLIED);
    expect(done.targets[0]!.state).toBe(PushAgentState.PUSH_AGENT_STATE_APPLIED);

    const activity = await call(automation, 'getActivity', { agentId, ruleId: '' }, md());
    expect(activity.totals).toEqual([]);
    const token = await call(automation, 'createEnrollmentToken', { ttlS: 0 }, md());
    expect(token.command).toContain(token.token);
    conn.close();
  });

  it('answers NOT_FOUND for an unknown push and PERMISSION_DENIED for a read-only token writing', async () => {
    const missing = (await call(automation, 'getPush', { id: '00000000-0000-0000-0000-000000000000' }, md()).catch((e) => e)) as ServiceError;
    expect(missing.code).toBe(status.NOT_FOUND);
    const reader = (await admin.post('/api/api-tokens', { name: 'ro', scopes: ['read'] })).body.token;
    const denied = (await call(automation, 'createRuleSet', { name: 'nope' }, bearerMetadata(reader)).catch((e) => e)) as ServiceError;
    expect(denied.code).toBe(status.PERMISSION_DENIED);
  });
});
