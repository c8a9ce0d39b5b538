import type { ServiceError } from '@grpc/grpc-js';
import { PushAgentState } from '@portfleet/proto/gen/automation';
import type { AutomationServiceClient } from '@portfleet/proto/gen/automation';
import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import type { Client } from 'pg';
import { closeControllerSuite, openControllerSuite } from './support/controller-suite';
import { AgentConnection, bearerMetadata, call, enroll, status } from './support/grpc-clients';
import { answer, simAgent, until, type SimAgent } from './support/sim-agent';
import { HttpClient, rule, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let agents: AgentClient;
let automation: AutomationServiceClient;
let db: Client;
let md: ReturnType<typeof bearerMetadata>;
const live: SimAgent[] = [];

beforeAll(async () => void ({ controller, admin, agents, automation, db, md } = await openControllerSuite('pushes')));
afterAll(() => closeControllerSuite({ controller, agents, automation, db }, live));

async function connected(name: string): Promise<SimAgent> {
  const a = await simAgent(admin, agents, name);
  live.push(a);
  return a;
}

/** A rule set with versions 1 (empty), 2 (one rule), 3 (two rules). */
async function ruleSet(name: string) {
  const set = (await admin.post('/api/rule-sets', { name })).body;
  await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) });
  const v3 = (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(81, 8081) })).body;
  return v3 as { id: string; version: number; rules: { id: string }[] };
}

const getPush = (id: string) => admin.get(`/api/pushes/${id}`).then((r) => r.body);
const noApply = (a: SimAgent) => expect(a.conn.next('apply', 400)).rejects.toThrow(/no apply/);

describe('pushes over HTTP', () => {
  it('coalesces a burst to the newest push: older unfinished targets become superseded, the agent gets only the newest', async () => {
    const set = await ruleSet('burst');
    const token = (await admin.post('/api/enrollment-tokens', {})).body.token;
    
    const offline = await enroll(agents, token, 'burst-host');
    const first = (await admin.post('/api/pushes', { ruleSetId: set.id, version: 2, agentIds: [offline.agentId] })).body;
    const second = (await admin.post('/api/pushes', { ruleSetId: set.id, version: 3, agentIds: [offline.agentId] })).body;
    expect((await getPush(first.id)).targets[0].state).toBe('superseded');
    expect((await getPush(first.id)).status).toBe('completed');
    expect(second.targets[0].state).toBe('pending');

    
    const conn = new AgentConnection(agents, offline.agentId, offline.credential);
    const agent: SimAgent = { agentId: offline.agentId, credential: offline.credential, capabilityPublicKeyPem: '', conn };
    live.push(agent);
    conn.send({ $case: 'hello', value: { hostname: 'burst-host', platform: 'linux', version: '0.1.0', adapters: [], dataplane: undefined, appliedRuleSetId: '', appliedVersion: 0, appliedContentHash: '' } });
    const apply = await answer(agent, true);
    expect([apply.pushId, apply.ruleSet!.version]).toEqual([second.id, 3]);
    await noApply(agent);
    const done = await until(() => getPush(second.id), (p) => p.status === 'completed');
    expect(done.targets[0].state).toBe('applied');
  });

  it('dry-run shows per agent what would change and sends and stores nothing', async () => {
    const set = await ruleSet('dry');
    const a = await connected('dry-host');
    const pushes = Number((await db.query('SELECT count(*) FROM pushes')).rows[0].count);
    const res = await admin.post('/api/pushes/dry-run', { ruleSetId: set.id, agentIds: [a.agentId] });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(3);
    const [entry] = res.body.agents;
    expect(entry).toMatchObject({ agentId: a.agentId, online: true, edition: 'trial', current: null, errors: [] });
    expect(entry.diff.added.map((x: { rule: { id: string } }) => x.rule.id)).toEqual(set.rules.map((r) => r.id));
    await noApply(a);
    expect(Number((await db.query('SELECT count(*) FROM pushes')).rows[0].count)).toBe(pushes);
    const desired = await db.query('SELECT desired_rule_set_id FROM agents WHERE id = $1', [a.agentId]);
    expect(desired.rows[0].desired_rule_set_id).toBeNull();
  });

  it('staged rollout: the first wave fails, the push halts, later waves get nothing until resumed', async () => {
    const set = await ruleSet('staged');
    const fleet = [await connected('wave-1'), await connected('wave-2'), await connected('wave-3'), await connected('wave-4')];
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: fleet.map((a) => a.agentId), rollout: { waves: [25, 100], maxFailurePercent: 0 } })).body;
    expect(push.rollout).toEqual({ waves: [25, 100], maxFailurePercent: 0, currentWave: 0 });
    expect(push.counts).toMatchObject({ delivered: 1, waiting: 3 });
    await answer(fleet[0]!, false);
    const halted = await until(() => getPush(push.id), (p) => p.status === 'halted');
    expect(halted.status).toBe('halted');
    expect(halted.counts).toMatchObject({ failed: 1, waiting: 3 });
    expect(halted.targets.find((t: { agentId: string }) => t.agentId === fleet[0]!.agentId).errors[0]).toMatchObject({ field: 'selector.adapter', code: 'UNSUPPORTED' });
    for (const a of fleet.slice(1)) await noApply(a);

    const resumed = await admin.post(`/api/pushes/${push.id}/resume`);
    expect(resumed.status).toBe(200);
    for (const a of fleet.slice(1)) await answer(a, true);
    const done = await until(() => getPush(push.id), (p) => p.status === 'completed');
    expect(done.counts).toMatchObject({ applied: 3, failed: 1, waiting: 0 });
    expect((await admin.post(`/api/pushes/${push.id}/resume`)).body.error.code).toBe('NOT_HALTED');
  });

  it('abort cancels the waiting waves of a halted rollout', async () => {
    const set = await ruleSet('aborted');
    const fleet = [await connected('abort-1'), await connected('abort-2')];
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: fleet.map((a) => a.agentId), rollout: { waves: [50, 100] } })).body;
    await answer(fleet[0]!, false);
    await until(() => getPush(push.id), (p) => p.status === 'halted');
    const aborted = (await admin.post(`/api/pushes/${push.id}/abort`)).body;
    expect(aborted.status).toBe('aborted');
    expect(aborted.counts).toMatchObject({ failed: 1, cancelled: 1 });
    await noApply(fleet[1]!);
  });

  it('rejects a bad rollout naming the field', async () => {
    const set = await ruleSet('bad-rollout');
    const res = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [], groups: ['x'], rollout: { waves: [60, 50, 100] } });
    expect([res.status, res.body.error.field]).toEqual([400, 'rollout.waves[1]']);
  });

  it('retries failed targets and rolls back to the previous version; the agent history lists both', async () => {
    const set = await ruleSet('retry');
    const a = await connected('retry-host');
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [a.agentId] })).body;
    await answer(a, false);
    await until(() => getPush(push.id), (p) => p.targets[0].state === 'failed');
    expect((await admin.post(`/api/pushes/${push.id}/retry`)).status).toBe(200);
    const again = await answer(a, true);
    expect(again.pushId).toBe(push.id);
    const applied = await until(() => getPush(push.id), (p) => p.targets[0].state === 'applied');
    expect(applied.targets[0].errors).toEqual([]);
    expect((await admin.post(`/api/pushes/${push.id}/retry`)).body.error.code).toBe('NOTHING_TO_RETRY');

    const rollback = await admin.post(`/api/pushes/${push.id}/rollback`, {});
    expect(rollback.status).toBe(201);
    expect(rollback.body).toMatchObject({ version: 2, rollbackOf: push.id, ruleSetId: set.id });
    const back = await answer(a, true);
    expect([back.pushId, back.ruleSet!.version, back.ruleSet!.rules.length]).toEqual([rollback.body.id, 2, 1]);
    const agent = await until(() => admin.get(`/api/agents/${a.agentId}`).then((r) => r.body), (x) => x.appliedVersion === 2);
    expect([agent.appliedVersion, agent.desiredVersion, agent.drift]).toEqual([2, 2, false]);

    const page1 = (await admin.get(`/api/agents/${a.agentId}/pushes?limit=1`)).body;
    expect(page1.pushes).toEqual([{
      pushId: rollback.body.id, ruleSetId: set.id, version: 2, createdAt: rollback.body.createdAt, createdBy: rollback.body.createdBy,
      state: 'applied', errors: [], updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    }]);
    const page2 = (await admin.get(`/api/agents/${a.agentId}/pushes?limit=1&cursor=${page1.nextCursor}`)).body;
    expect(page2.pushes.map((p: { pushId: string; state: string }) => [p.pushId, p.state])).toEqual([[push.id, 'applied']]);
    expect(page2.nextCursor).toBeNull();
    const list = (await admin.get(`/api/pushes?ruleSetId=${set.id}`)).body;
    expect(list.pushes.map((p: { id: string }) => p.id)).toEqual([rollback.body.id, push.id]);
    expect(list.pushes[0].targets).toBeUndefined();
  });

  it('streams agent presence, push progress and activity rates over SSE', async () => {
    const set = await ruleSet('sse');
    const res = await fetch(`${controller.httpUrl}/api/events`, { headers: { cookie: `pf_session=${admin.cookie('pf_session')}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const seen: { event: string; data: any }[] = [];
    let buffer = '';
    const waitFor = async (match: (e: { event: string; data: any }) => boolean) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const found = seen.find(match);
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) break;
        buffer += Buffer.from(value).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) seen.push({ event, data: JSON.parse(data) });
        }
      }
      throw new Error(`no matching event; saw ${JSON.stringify(seen.map((e) => e.event))}`);
    };
    const a = await connected('sse-host');
    await waitFor((e) => e.event === 'agent' && e.data.agentId === a.agentId && e.data.online === true);
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [a.agentId] })).body;
    await answer(a, true);
    const applied = await waitFor((e) => e.event === 'push' && e.data.pushId === push.id && e.data.state === 'applied');
    expect(applied.data.counts.applied).toBe(1);
    a.conn.send({ $case: 'activity', value: { seq: 1, periodStartMs: Date.now() - 1000, periodEndMs: Date.now(), rules: [{ ruleId: 'sse-rule', packetsIn: 120, bytesIn: 12000, packetsOut: 0, bytesOut: 0, conversationsActive: 1, conversationsNew: 1, lastHitMs: Date.now() }] } });
    const activity = await waitFor((e) => e.event === 'activity' && e.data.rules.some((r: { ruleId: string }) => r.ruleId === 'sse-rule'));
    expect(activity.data.agents.find((x: { agentId: string }) => x.agentId === a.agentId)).toEqual({ agentId: a.agentId, packetsPerSecond: 2, bytesPerSecond: 200 });
    a.conn.close();
    await waitFor((e) => e.event === 'agent' && e.data.agentId === a.agentId && e.data.online === false);
    await reader.cancel();
  });
});

describe('pushes over gRPC', () => {
  it('dry-run, staged rollout with halt and resume, retry, rollback, list and history', async () => {
    const set = await ruleSet('grpc-pushes');
    const fleet = [await connected('grpc-1'), await connected('grpc-2')];
    const ids = fleet.map((a) => a.agentId);
    const base = { ruleSetId: set.id, version: 0, agentIds: ids, groups: [], labels: [] };

    const dry = await call(automation, 'dryRunPush', { ...base, rollout: undefined }, md);
    expect(dry.agents.map((a) => [a.agentId, a.diff!.added.length, a.errors.length])).toEqual([[ids[0], 2, 0], [ids[1], 2, 0]]);
    for (const a of fleet) await noApply(a);

    const push = await call(automation, 'createPush', { ...base, rollout: { waves: [50, 100], maxFailurePercent: 0 } }, md);
    expect(push.targets.map((t) => t.state)).toEqual([PushAgentState.PUSH_AGENT_STATE_DELIVERED, PushAgentState.PUSH_AGENT_STATE_WAITING]);
    await answer(fleet[0]!, false);
    await until(() => call(automation, 'getPush', { id: push.id }, md), (p) => p.status === 'halted');
    const retried = await call(automation, 'retryPush', { id: push.id }, md);
    expect(retried.status).toBe('running');
    await answer(fleet[0]!, true);
    // The retry cleared the failure: the rollout moves on by itself.
    await answer(fleet[1]!, true);
    const done = await until(() => call(automation, 'getPush', { id: push.id }, md), (p) => p.status === 'completed');
    expect(done.targets.map((t) => t.state)).toEqual([PushAgentState.PUSH_AGENT_STATE_APPLIED, PushAgentState.PUSH_AGENT_STATE_APPLIED]);

    const notHalted = (await call(automation, 'resumePush', { id: push.id }, md).catch((e) => e)) as ServiceError;
    expect([notHalted.code, notHalted.metadata.get('error-code')[0]]).toEqual([status.FAILED_PRECONDITION, 'NOT_HALTED']);

    const back = await call(automation, 'rollbackPush', { id: push.id, version: 0 }, md);
    expect([back.version, back.rollbackOf]).toEqual([2, push.id]);
    for (const a of fleet) expect((await answer(a, true)).ruleSet!.version).toBe(2);

    const listed = await call(automation, 'listPushes', { ruleSetId: set.id, pageSize: 1, pageToken: '' }, md);
    expect(listed.pushes.map((p) => p.id)).toEqual([back.id]);
    const next = await call(automation, 'listPushes', { ruleSetId: set.id, pageSize: 1, pageToken: listed.nextPageToken }, md);
    expect(next.pushes.map((p) => p.id)).toEqual([push.id]);
    const history = await call(automation, 'listAgentPushes', { agentId: ids[0]!, pageSize: 0, pageToken: '' }, md);
    expect(history.pushes.map((p) => p.pushId)).toEqual([back.id, push.id]);

    const staged = await call(automation, 'createPush', { ...base, version: 3, rollout: { waves: [50, 100], maxFailurePercent: 0 } }, md);
    await answer(fleet[0]!, false);
    await until(() => call(automation, 'getPush', { id: staged.id }, md), (p) => p.status === 'halted');
    await noApply(fleet[1]!);
    await call(automation, 'resumePush', { id: staged.id }, md);
    await answer(fleet[1]!, true);
    expect((await until(() => call(automation, 'getPush', { id: staged.id }, md), (p) => p.status === 'completed')).status).toBe('completed');
    const aborted = (await call(automation, 'abortPush', { id: staged.id }, md).catch((e) => e)) as ServiceError;
    expect(aborted.code).toBe(status.FAILED_PRECONDITION);
  });

  it('streams live events to WatchEvents', async () => {
    const stream = automation.watchEvents({}, md);
    const events: { type: string; data: any }[] = [];
    stream.on('data', (e: { type: string; dataJson: string }) => events.push({ type: e.type, data: JSON.parse(e.dataJson) }));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const a = await connected('watch-host');
    const found = await until(async () => events.find((e) => e.type === 'agent' && e.data.agentId === a.agentId && e.data.online), (e) => e !== undefined);
    expect(found).toBeDefined();
    stream.cancel();
  });
});
