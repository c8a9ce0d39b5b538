/**
 * The pushes list's counts and the retry and rollback actions, checked against the database: the
 * counts are aggregated in SQL per page and the actions select their targets in SQL, so each is
 * compared with what the rows say. Pushes and targets are written straight into the database (no
 * agent is connected: delivery is covered by pushes.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { closeControllerSuite, openHttpSuite } from './support/controller-suite';
import { rule, type HttpClient, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let db: Client;
let ruleSetId: string;
/** name → agent id */
const ids = new Map<string, string>();
const failure = [{ field: 'rules', code: 'APPLY_FAILED', message: 'no', ruleIndex: 0, ruleId: null }];

beforeAll(async () => {
  ({ controller, admin, db } = await openHttpSuite());
  const set = (await admin.post('/api/rule-sets', { name: 'push-actions' })).body as { id: string };
  ruleSetId = set.id;
  await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) });
  await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(81, 8081) }); // version 3
  for (const name of ['a', 'b', 'c', 'd', 'e', 'retired']) {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, edition, retired_at)
       VALUES (gen_random_uuid(), $1, $1, 'linux', '1.0.0', 'x', 'trial', CASE WHEN $1 = 'retired' THEN now() END) RETURNING id::text AS id`,
      [name],
    );
    ids.set(name, rows[0].id);
  }
});
afterAll(() => closeControllerSuite({ controller, db }, []));

/** A push of version 3 written into the database with these targets (name → [state, wave]). */
async function seedPush(targets: Record<string, [string, number]>, status = 'completed'): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO pushes (id, rule_set_id, version, created_by, status, waves) VALUES ($1, $2, 3, 'admin', $3::"PushStatus", '{50,100}')`, [id, ruleSetId, status]);
  for (const [name, [state, wave]] of Object.entries(targets)) {
    await db.query(
      `INSERT INTO push_targets (push_id, agent_id, state, wave, errors, finished_at, updated_at) VALUES ($1, $2, $3::"PushTargetState", $4, $5, now(), now())`,
      [id, ids.get(name), state, wave, JSON.stringify(state === 'failed' ? failure : [])],
    );
  }
  return id;
}

/** The counts of each push as the rows say, every state present. */
async function countsInDb(pushId: string): Promise<Record<string, number>> {
  const { rows } = await db.query(`SELECT state::text AS state, count(*)::int AS n FROM push_targets WHERE push_id = $1 GROUP BY state`, [pushId]);
  const counts: Record<string, number> = { waiting: 0, pending: 0, delivered: 0, applied: 0, failed: 0, superseded: 0, cancelled: 0 };
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}

describe('push actions select their targets in SQL', () => {
  it('the list pages pushes newest first with counts equal to their targets, an empty push counting zero', async () => {
    const one = await seedPush({ a: ['applied', 0], b: ['failed', 0], c: ['failed', 1], d: ['waiting', 1] }, 'halted');
    const two = await seedPush({ a: ['superseded', 0], e: ['pending', 0] }, 'running');
    const empty = await seedPush({}, 'completed');
    const page1 = (await admin.get(`/api/pushes?ruleSetId=${ruleSetId}&limit=2`)).body;
    const page2 = (await admin.get(`/api/pushes?ruleSetId=${ruleSetId}&limit=2&cursor=${page1.nextCursor}`)).body;
    const listed = [...page1.pushes, ...page2.pushes];
    expect(listed.map((p: { id: string }) => p.id).sort()).toEqual([one, two, empty].sort());
    for (const p of listed) {
      expect(p.counts).toEqual(await countsInDb(p.id));
      expect(p.targets).toBeUndefined();
      expect(p).toEqual((await admin.get(`/api/pushes/${p.id}/summary`)).body);
    }
    expect(listed.find((p: { id: string }) => p.id === one).counts).toMatchObject({ applied: 1, failed: 2, waiting: 1 });
    expect(listed.find((p: { id: string }) => p.id === empty).counts.applied).toBe(0);
  });

  it('retry resets exactly this push\'s failed targets, points those agents at the version, audits them in wave order', async () => {
    const push = await seedPush({ a: ['applied', 0], b: ['failed', 1], c: ['failed', 0], d: ['cancelled', 1] }, 'halted');
    const other = await seedPush({ b: ['failed', 0] }, 'completed'); // the same agent failed in another push: untouched
    const res = await admin.post(`/api/pushes/${push}/retry`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('running');
    expect(res.body.targets).toHaveLength(4);
    const { rows } = await db.query(`SELECT agent_id::text AS id, state::text AS state, errors, finished_at FROM push_targets WHERE push_id = $1`, [push]);
    const byAgent = new Map(rows.map((r) => [r.id, r]));
    for (const name of ['b', 'c']) expect(byAgent.get(ids.get(name))).toMatchObject({ state: 'pending', errors: [], finished_at: null });
    expect(byAgent.get(ids.get('a'))!.state).toBe('applied');
    expect(byAgent.get(ids.get('d'))!.state).toBe('cancelled');
    expect(await countsInDb(other)).toMatchObject({ failed: 1, pending: 0 });
    const desired = await db.query(`SELECT name, desired_version FROM agents WHERE desired_rule_set_id = $1 ORDER BY name`, [ruleSetId]);
    expect(desired.rows.map((r) => [r.name, r.desired_version])).toEqual([['b', 3], ['c', 3]]);
    const audit = await db.query(`SELECT after FROM audit_log WHERE action = 'push.retry' AND target = $1`, [`push:${push}`]);
    expect(audit.rows.map((r) => r.after.agentIds)).toEqual([[ids.get('c'), ids.get('b')]]); // wave 0 first

    const none = await admin.post(`/api/pushes/${push}/retry`);
    expect([none.status, none.body.error.code]).toEqual([409, 'NOTHING_TO_RETRY']);
    expect((await db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'push.retry' AND target = $1`, [`push:${push}`])).rows[0].n).toBe(1);
    const missing = await admin.post(`/api/pushes/${randomUUID()}/retry`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'PUSH_NOT_FOUND']);
  });

  it('rollback pushes the previous version to the push\'s agents that are not retired', async () => {
    const push = await seedPush({ a: ['applied', 0], e: ['failed', 0], retired: ['applied', 1] }, 'completed');
    const res = await admin.post(`/api/pushes/${push}/rollback`, {});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ version: 2, rollbackOf: push, ruleSetId });
    expect(res.body.targets.map((t: { agentId: string }) => t.agentId).sort()).toEqual([ids.get('a'), ids.get('e')].sort());
    expect(await countsInDb(res.body.id)).toMatchObject({ pending: 2 });
    const audit = await db.query(`SELECT after FROM audit_log WHERE action = 'push.rollback' AND target = $1`, [`push:${res.body.id}`]);
    expect(audit.rows[0].after).toMatchObject({ rollbackOf: push, version: 2 });
    expect([...audit.rows[0].after.agentIds].sort()).toEqual([ids.get('a'), ids.get('e')].sort());

    const allRetired = await seedPush({ retired: ['applied', 0] });
    const none = await admin.post(`/api/pushes/${allRetired}/rollback`, {});
    expect([none.status, none.body.error.code]).toEqual([400, 'REQUIRED']); // as a push naming no agent
    expect((await db.query(`SELECT count(*)::int AS n FROM pushes WHERE rollback_of = $1`, [allRetired])).rows[0].n).toBe(0);
  });
});
