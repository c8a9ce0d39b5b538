import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import { Client } from 'pg';
import { AgentConnection, agentClient, enroll } from './support/grpc-clients';
import { helloMessage, until } from './support/sim-agent';
import { HttpClient, startTestController, testLicenseKey, type TestController } from './support/test-controller';

// A Hello batch that PostgreSQL picks as a deadlock's victim is written again: its streams never see it.
jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let grpc: AgentClient;
let db: Client;
let other: Client;
const conns: AgentConnection[] = [];

beforeAll(async () => {
  controller = await startTestController();
  admin = await HttpClient.login(controller.httpUrl);
  grpc = agentClient(controller.grpcAddress);
  db = new Client({ connectionString: controller.databaseUrl });
  other = new Client({ connectionString: controller.databaseUrl });
  await Promise.all([db.connect(), other.connect()]);
});
afterAll(async () => {
  conns.forEach((c) => c.close());
  grpc?.close();
  await Promise.all([db?.end(), other?.end()]);
  await controller?.shutdown();
});

async function enrolled(hostname: string): Promise<{ agentId: string; credential: string }> {
  const token = (await admin.post('/api/enrollment-tokens', {})).body.token;
  return enroll(grpc, token, hostname);
}

const deadlocks = async () => {
  await db.query('SELECT pg_stat_clear_snapshot()');
  return (await db.query<{ n: string }>('SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n;
};

it('a Hello batch chosen as a deadlock victim is retried: both streams stay up and both rows are written', async () => {
  const agents = [await enrolled('dl-a'), await enrolled('dl-b')].sort((x, y) => (x.agentId < y.agentId ? -1 : 1));
  const [low, high] = agents as [(typeof agents)[0], (typeof agents)[0]];
  const before = await deadlocks();

  // Another writer that takes the two rows against id order: the high row first…
  await other.query('BEGIN');
  await other.query(`SET LOCAL deadlock_timeout = '60s'`); // the Hello's backend detects the cycle, so it is the victim
  await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [high.agentId]);

  // …the Hello batch of both locks the low row and waits for the high one…
  for (const a of agents) {
    const conn = new AgentConnection(grpc, a.agentId, a.credential);
    conns.push(conn);
    conn.send(helloMessage(`${a.agentId}-hello`));
  }
  await until(
    () => db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'`),
    (r) => r.rowCount === 1,
  );
  // …and the other writer now wants the low row: a cycle, which PostgreSQL breaks by failing the Hello batch.
  await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [low.agentId]);
  await other.query('COMMIT');

  for (const a of agents) await until(() => admin.get(`/api/agents/${a.agentId}`), (r) => r.body.online === true);
  const { rows } = await db.query<{ id: string; hostname: string; connected_replica: string | null }>(
    'SELECT id::text AS id, hostname, connected_replica::text AS connected_replica FROM agents WHERE id = ANY($1::uuid[]) ORDER BY id',
    [agents.map((a) => a.agentId)],
  );
  expect(rows.map((r) => r.hostname)).toEqual(agents.map((a) => `${a.agentId}-hello`));
  expect(rows.every((r) => r.connected_replica !== null)).toBe(true);
  for (const c of conns) expect(c.error).toBeUndefined();
  // The cycle did happen (the test would prove nothing otherwise).
  const after = await until(deadlocks, (n) => Number(n) > Number(before), 15_000);
  expect(Number(after)).toBe(Number(before) + 1);
});

it('activating a license reassigns seats in id order: blocked at the lowest agent row, it holds no other', async () => {
  for (let i = 0; i < 6; i++) await enrolled(`seat-${i}`);
  const { rows: all } = await db.query<{ id: string }>('SELECT id::text AS id FROM agents WHERE retired_at IS NULL ORDER BY id');
  const lowest = all[0]!.id;
  // Made the newest and moved to the end of the heap: an unordered plan would reach it last.
  await db.query(`UPDATE agents SET created_at = now() + interval '1 hour' WHERE id = $1`, [lowest]);

  // A writer holds the lowest row, as a Hello batch in id order would while it goes on upwards.
  await other.query('BEGIN');
  await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [lowest]);
  const activation = admin.post('/api/license', { key: testLicenseKey('ultimate', 100) });
  await until(
    () => db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%row_number()%'`),
    (r) => r.rowCount === 1,
  );
  // In id order it waits there before taking any other row, so an ordered writer needing a row it
  // already took (while this one needs the writer's) cannot exist: every other row is free.
  await db.query('BEGIN');
  try {
    const free = await db.query('SELECT id FROM agents WHERE id <> $1 AND retired_at IS NULL FOR NO KEY UPDATE NOWAIT', [lowest]);
    expect(free.rowCount).toBe(all.length - 1);
  } finally {
    await db.query('ROLLBACK');
  }
  await other.query('COMMIT');
  const res = await activation;
  expect([res.status, res.body.edition]).toEqual([200, 'ultimate']);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE retired_at IS NULL AND edition = 'ultimate'`);
  expect(rows[0]!.n).toBe(all.length);
});

it('retiring an agent whose freed seat goes to a row another writer holds: the deadlock victim is run again', async () => {
  const { rows: live } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM agents WHERE retired_at IS NULL');
  expect((await admin.post('/api/license', { key: testLicenseKey('pro', live[0]!.n + 1) })).status).toBe(200);
  const seated = await enrolled('retire-seated'); // the last seat
  const waiting = await enrolled('retire-waiting'); // none left
  const editions = async () =>
    new Map((await db.query<{ id: string; edition: string | null }>('SELECT id::text AS id, edition FROM agents WHERE id = ANY($1::uuid[])', [[seated.agentId, waiting.agentId]])).rows.map((r) => [r.id, r.edition]));
  expect(await editions()).toEqual(new Map([[seated.agentId, 'pro'], [waiting.agentId, null]]));
  const before = await deadlocks();

  // Another writer holds the row the seat goes to (its backend never detects, so the retire is the victim)…
  await other.query('BEGIN');
  await other.query(`SET LOCAL deadlock_timeout = '60s'`);
  await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [waiting.agentId]);
  // …the retire takes the retired row and waits for that one…
  const retire = admin.post(`/api/agents/${seated.agentId}/retire`, {});
  await until(
    () => db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ORDER BY created_at, id LIMIT 1%'`),
    (r) => r.rowCount === 1,
  );
  // …and the writer now wants the retired row: PostgreSQL fails the retire's transaction.
  await other.query('UPDATE agents SET last_seen_at = now() WHERE id = $1', [seated.agentId]);
  await other.query('COMMIT');

  const res = await retire;
  expect(res.status).toBe(200);
  expect(res.body.retiredAt).not.toBeNull();
  expect(await editions()).toEqual(new Map([[seated.agentId, null], [waiting.agentId, 'pro']]));
  const after = await until(deadlocks, (n) => Number(n) > Number(before), 15_000);
  expect(Number(after)).toBe(Number(before) + 1);
});
