import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import { Client } from 'pg';
import { AgentConnection, agentClient } from './support/grpc-clients';
import { answer, simAgent, until, type SimAgent } from './support/sim-agent';
import { HttpClient, rule, startTestController, type TestController } from './support/test-controller';

// Agents' answers are written in batches; an answer is taken only once its batch committed.
jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let grpc: AgentClient;
let db: Client;
const live: SimAgent[] = [];

beforeAll(async () => {
  controller = await startTestController();
  admin = await HttpClient.login(controller.httpUrl);
  grpc = agentClient(controller.grpcAddress);
  db = new Client({ connectionString: controller.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  live.forEach((a) => a.conn.close());
  grpc?.close();
  await db?.end();
  await controller?.shutdown();
});

async function ruleSet(name: string): Promise<{ id: string; version: number; contentHash: string }> {
  const set = (await admin.post('/api/rule-sets', { name })).body;
  return (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) })).body;
}

const getPush = (id: string) => admin.get(`/api/pushes/${id}`).then((r) => r.body);

/** `count` connected agents and a push of a new rule set to all of them. */
async function pushedFleet(name: string, count: number) {
  const set = await ruleSet(name);
  const fleet = await Promise.all(Array.from({ length: count }, (_, i) => simAgent(admin, grpc, `${name}-${i}`)));
  live.push(...fleet);
  const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: fleet.map((a) => a.agentId) })).body;
  return { set, fleet, push };
}

it('answers arriving together are stored together: every target and every agent applied version', async () => {
  const { set, fleet, push } = await pushedFleet('batched', 24);
  await Promise.all(fleet.map((a, i) => answer(a, i % 4 !== 0)));
  const done = await until(() => getPush(push.id), (p) => p.status === 'completed');
  expect(done.counts).toMatchObject({ applied: 18, failed: 6, delivered: 0 });
  const { rows } = await db.query('SELECT count(*)::int AS n FROM agents WHERE id = ANY($1) AND applied_rule_set_id = $2 AND applied_version = $3', [fleet.map((a) => a.agentId), set.id, set.version]);
  expect(rows[0].n).toBe(18);
});

it('an answer naming a content hash that is no sha256 is not taken as the agent\'s version, and spoils no other answer of its batch', async () => {
  const { set, fleet, push } = await pushedFleet('odd-hash', 6);
  const [odd, ...rest] = fleet;
  const apply = await odd!.conn.next('apply');
  // A NUL cannot be stored in a text column: written as it came, it failed the whole batch.
  odd!.conn.send({ $case: 'ack', value: { pushId: apply.pushId, ruleSetId: set.id, version: set.version, contentHash: `${set.contentHash}\u0000`, applied: true, errors: [] } });
  await Promise.all(rest.map((a) => answer(a, true)));
  const done = await until(() => getPush(push.id), (p) => p.status === 'completed');
  expect(done.counts).toMatchObject({ applied: 6, delivered: 0, pending: 0 });
  const { rows } = await db.query('SELECT id, applied_version FROM agents WHERE id = ANY($1)', [fleet.map((a) => a.agentId)]);
  const versions = new Map(rows.map((r) => [r.id, r.applied_version]));
  expect(versions.get(odd!.agentId)).toBeNull();
  for (const a of rest) expect(versions.get(a.agentId)).toBe(set.version);
});

it('an answer whose error text holds a NUL fails its own stream with INVALID_ARGUMENT naming the field, and no other answer', async () => {
  const { set, fleet, push } = await pushedFleet('nul-error', 4);
  const [odd, ...rest] = fleet;
  const apply = await odd!.conn.next('apply');
  const errors = [{ ruleIndex: 0, ruleId: '', field: 'selector.adapter', code: 'UNSUPPORTED', message: 'no adapter \u0000eth9' }];
  odd!.conn.send({ $case: 'ack', value: { pushId: apply.pushId, ruleSetId: set.id, version: set.version, contentHash: set.contentHash, applied: false, errors } });
  await Promise.all(rest.map((a) => answer(a, true)));
  const failure = await odd!.conn.failure();
  expect(failure.code).toBe(3); // INVALID_ARGUMENT
  expect(failure.details).toContain('ack.errors[0].message');
  const settled = await until(() => getPush(push.id), (p) => p.counts.applied === 3);
  expect(settled.counts).toMatchObject({ applied: 3, failed: 0 });
  expect(settled.targets.find((t: { agentId: string }) => t.agentId === odd!.agentId).state).toBe('delivered');
});

it('an answer whose batch cannot be stored fails the stream; the agent reconnects and its Hello settles the target', async () => {
  const set = await ruleSet('unstorable');
  const agent = await simAgent(admin, grpc, 'unstorable-host');
  live.push(agent);
  const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agent.agentId] })).body;
  // The database refuses the write (as it would when failing over): nothing of the batch is kept.
  await db.query(`ALTER TABLE push_targets ADD CONSTRAINT test_refuse_applied CHECK (state <> 'applied') NOT VALID`);
  try {
    await answer(agent, true);
    expect((await agent.conn.failure()).code).toBe(14); // UNAVAILABLE: the agent reconnects
    expect((await getPush(push.id)).targets[0].state).toBe('delivered');
    const row = await db.query('SELECT applied_rule_set_id FROM agents WHERE id = $1', [agent.agentId]);
    expect(row.rows[0].applied_rule_set_id).toBeNull();
  } finally {
    await db.query('ALTER TABLE push_targets DROP CONSTRAINT test_refuse_applied');
  }

  const conn = new AgentConnection(grpc, agent.agentId, agent.credential);
  live.push({ ...agent, conn });
  conn.send({
    $case: 'hello',
    value: { hostname: 'unstorable-host', platform: 'linux', version: '0.1.0', adapters: [], dataplane: undefined, appliedRuleSetId: set.id, appliedVersion: set.version, appliedContentHash: set.contentHash },
  });
  await conn.next('welcome');
  const settled = await until(() => getPush(push.id), (p) => p.status === 'completed');
  expect([settled.targets[0].state, settled.status]).toEqual(['applied', 'completed']);
});

it('an answer batch chosen as a deadlock victim is written again: the stream stays up and the target is applied', async () => {
  const set = await ruleSet('ack-deadlock');
  const agent = await simAgent(admin, grpc, 'ack-deadlock-host');
  live.push(agent);
  const other = new Client({ connectionString: controller.databaseUrl });
  await other.connect();
  try {
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agent.agentId] })).body;
    await until(() => getPush(push.id), (p) => p.targets[0].state === 'delivered');
    const deadlocks = async () => {
      await db.query('SELECT pg_stat_clear_snapshot()');
      return Number((await db.query<{ n: string }>('SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n);
    };
    const before = await deadlocks();
    // Another writer holds the agent's row; the answer's statement takes the target, then waits for it…
    await other.query('BEGIN');
    await other.query(`SET LOCAL deadlock_timeout = '60s'`); // the batch's backend detects the cycle: it is the victim
    await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [agent.agentId]);
    await answer(agent, true);
    await until(
      () => db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%finished AS%'`),
      (r) => r.rowCount === 1,
    );
    // …and the writer now wants the target: a cycle, broken by failing the answer's statement.
    await other.query('UPDATE push_targets SET updated_at = now() WHERE push_id = $1 AND agent_id = $2', [push.id, agent.agentId]);
    await other.query('COMMIT');

    const done = await until(() => getPush(push.id), (p) => p.status === 'completed');
    expect(done.targets[0].state).toBe('applied');
    const row = await db.query('SELECT applied_rule_set_id::text AS id, applied_version FROM agents WHERE id = $1', [agent.agentId]);
    expect([row.rows[0].id, row.rows[0].applied_version]).toEqual([set.id, set.version]);
    expect(agent.conn.error).toBeUndefined();
    expect(await until(deadlocks, (n) => n > before, 15_000)).toBe(before + 1);
  } finally {
    await other.end();
  }
});
