/**
 * What the console's push page reads instead of the whole `Push` and the whole fleet:
 * `GET /api/pushes/:id/summary` (counts aggregated in SQL) and `GET /api/pushes/:id/targets`
 * (keyset pages joined with each agent's name, host and presence, filtered by state). The push and
 * its targets are written straight into the database: the reads, not delivery, are under test.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { ReplicaPresence } from '../src/agents/replica-presence';
import { closeControllerSuite, openHttpSuite } from './support/controller-suite';
import type { HttpClient, TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let db: Client;
let pushId: string;
/** name → agent id */
const ids = new Map<string, string>();
const failure = [{ field: 'selector.localAddress', code: 'UNRESOLVED', message: 'name does not resolve', ruleIndex: 0, ruleId: null }];

const TARGETS: { name: string; state: string; online?: boolean; retired?: boolean }[] = [
  { name: 'a-applied', state: 'applied', online: true },
  { name: 'b-applied', state: 'applied' },
  { name: 'c-applied', state: 'applied', retired: true },
  { name: 'd-failed', state: 'failed', online: true },
  { name: 'e-failed', state: 'failed' },
  { name: 'f-delivered', state: 'delivered', online: true },
  { name: 'g-pending', state: 'pending' },
];

beforeAll(async () => {
  ({ controller, admin, db } = await openHttpSuite());
  const self = controller.app.get(ReplicaPresence).id;
  const ruleSet = (await admin.post('/api/rule-sets', { name: 'paged-push' })).body as { id: string; version: number };
  pushId = randomUUID();
  await db.query(`INSERT INTO pushes (id, rule_set_id, version, created_by, waves, max_failure_percent) VALUES ($1, $2, $3, 'admin', '{50,100}', 10)`,
    [pushId, ruleSet.id, ruleSet.version]);
  for (const [i, t] of TARGETS.entries()) {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, connected_replica, retired_at)
       VALUES (gen_random_uuid(), $1, $1 || '.lan', 'linux', '1.0.0', 'x', $2, CASE WHEN $3 THEN now() END) RETURNING id::text AS id`,
      [t.name, t.online ? self : null, t.retired === true],
    );
    ids.set(t.name, rows[0].id);
    await db.query(`INSERT INTO push_targets (push_id, agent_id, state, wave, errors, updated_at) VALUES ($1, $2, $3::"PushTargetState", $4, $5, now())`,
      [pushId, rows[0].id, t.state, i % 2, JSON.stringify(t.state === 'failed' ? failure : [])]);
  }
});
afterAll(() => closeControllerSuite({ controller, db }, []));

interface Row { agentId: string; name: string; hostname: string; online: boolean; retired: boolean; state: string; wave: number; errors: unknown[] }

/** Every page of `query`, following nextCursor; the names in order. */
async function walk(query: string): Promise<{ rows: Row[]; pages: number }> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await admin.get(`/api/pushes/${pushId}/targets?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    rows.push(...res.body.targets);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  return { rows, pages };
}

const byId = (names: string[]) => names.map((n) => ids.get(n)!).sort().map((id) => [...ids].find(([, v]) => v === id)![0]);

describe('GET /api/pushes/:id/summary', () => {
  it('is the push without its targets, counts from the database equal to those of the full push', async () => {
    const summary = (await admin.get(`/api/pushes/${pushId}/summary`)).body;
    expect(summary.counts).toEqual({ waiting: 0, pending: 1, delivered: 1, applied: 3, failed: 2, superseded: 0, cancelled: 0 });
    expect(summary.targets).toBeUndefined();
    expect(summary.rollout).toEqual({ waves: [50, 100], maxFailurePercent: 10, currentWave: 0 });
    const { targets, ...full } = (await admin.get(`/api/pushes/${pushId}`)).body;
    expect(targets).toHaveLength(TARGETS.length);
    expect(summary).toEqual(full);
  });

  it('counts follow a change of state', async () => {
    await db.query(`UPDATE push_targets SET state = 'applied' WHERE agent_id = $1`, [ids.get('f-delivered')]);
    try {
      expect((await admin.get(`/api/pushes/${pushId}/summary`)).body.counts).toMatchObject({ delivered: 0, applied: 4 });
    } finally {
      await db.query(`UPDATE push_targets SET state = 'delivered' WHERE agent_id = $1`, [ids.get('f-delivered')]);
    }
  });

  it('is 404 for a push that does not exist, an id that is not one too', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await admin.get(`/api/pushes/${id}/summary`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('PUSH_NOT_FOUND');
    }
  });
});

describe('GET /api/pushes/:id/targets', () => {
  it('pages every target once in agent id order, with its agent name, host, presence and retirement', async () => {
    const { rows, pages } = await walk('limit=3');
    expect(pages).toBe(3);
    expect(rows.map((r) => r.name)).toEqual(byId(TARGETS.map((t) => t.name)));
    const a = rows.find((r) => r.name === 'a-applied')!;
    expect(a).toMatchObject({ agentId: ids.get('a-applied'), hostname: 'a-applied.lan', online: true, retired: false, state: 'applied', errors: [] });
    expect(rows.find((r) => r.name === 'b-applied')).toMatchObject({ online: false, retired: false });
    expect(rows.find((r) => r.name === 'c-applied')).toMatchObject({ retired: true, wave: 0 });
  });

  it('filters by one state or several, the pages following the filter', async () => {
    const failed = await walk('state=failed&limit=1');
    expect(failed.rows.map((r) => r.name)).toEqual(byId(['d-failed', 'e-failed']));
    for (const r of failed.rows) expect([r.state, r.errors]).toEqual(['failed', failure]);
    const open = await walk('state=pending,delivered');
    expect(open.rows.map((r) => r.name)).toEqual(byId(['f-delivered', 'g-pending']));
    const none = await admin.get(`/api/pushes/${pushId}/targets?state=cancelled`);
    expect(none.body).toEqual({ targets: [], nextCursor: null });
  });

  it('rejects a bad state, limit or cursor naming the field; 404 for a push that does not exist', async () => {
    const bad = async (query: string, field: string, code: string) => {
      const res = await admin.get(`/api/pushes/${pushId}/targets?${query}`);
      expect([res.status, res.body.error.field, res.body.error.code]).toEqual([400, field, code]);
    };
    await bad('state=failed,bogus', 'state', 'INVALID_ENUM');
    await bad('limit=0', 'limit', 'OUT_OF_RANGE');
    await bad('limit=501', 'limit', 'OUT_OF_RANGE');
    await bad('cursor=bogus', 'cursor', 'INVALID_CURSOR');
    for (const id of [randomUUID(), 'nope']) {
      const res = await admin.get(`/api/pushes/${id}/targets`);
      expect([res.status, res.body.error.code]).toEqual([404, 'PUSH_NOT_FOUND']);
    }
  });
});
