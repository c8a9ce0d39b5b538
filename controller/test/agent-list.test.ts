import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { closeControllerSuite, openHttpSuite } from './support/controller-suite';
import { AgentList, LIST_APPLICATION_NAME, type AgentPageText } from '../src/agents/agent-list';
import { agentView, type AgentView } from '../src/agents/agent-view';
import { ReplicaPresence } from '../src/agents/replica-presence';
import { PrismaService } from '../src/db/prisma.service';
import { HttpClient, testLicenseKey, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let db: Client;

beforeAll(async () => void ({ controller, admin, db } = await openHttpSuite()));
afterAll(() => closeControllerSuite({ controller, db }, []));

const ADAPTERS = [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.1/24', 'fd00::1/64'] }];

/** Agents written in every state the view distinguishes; returns their ids in list order. */
async function seedStates(): Promise<{ ids: string[]; online: string[]; unlicensed: string[] }> {
  const self = controller.app.get(ReplicaPresence).id;
  const [liveOther, dead] = [randomUUID(), randomUUID()];
  await db.query(`INSERT INTO controller_replicas (id, seen_at) VALUES ($1, now()), ($2, now() - interval '1 hour')`, [liveOther, dead]);
  const ruleSet = (await db.query(`SELECT id::text AS id FROM rule_sets LIMIT 1`)).rows[0].id as string;
  const sameInstant = '2030-01-01T00:00:00.120Z';
  const agents = [
    { name: 'offline, seen at a whole second', lastSeen: '2030-01-02T03:04:05Z', created: '2029-12-31T23:59:59Z' },
    { name: 'held here "quoted" \\ ☃\n', replica: self, groups: ['web', 'eu'], labels: ['canary'], created: '2030-01-01T00:00:00.001Z' },
    { name: 'held by a dead replica', replica: dead, lastSeen: '2030-01-02T03:04:05.6Z', created: '2030-01-01T00:00:00.010Z' },
    { name: 'held by another live replica', replica: liveOther, created: '2030-01-01T00:00:00.100Z' },
    { name: 'drifting', desired: [ruleSet, 2], applied: [ruleSet, 1, 'sha256:abc'], created: sameInstant },
    { name: 'in sync', desired: [ruleSet, 3], applied: [ruleSet, 3, 'sha256:def'], created: sameInstant, edition: null },
    { name: 'no seat', created: sameInstant, edition: null },
    { name: 'retired', created: sameInstant, retired: true },
  ];
  const ids: string[] = [];
  for (const a of agents) {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, adapters, last_seen_at, connected_replica, groups, labels,
                           desired_rule_set_id, desired_version, applied_rule_set_id, applied_version, applied_content_hash, edition, created_at, retired_at)
       VALUES (gen_random_uuid(), $1, 'host', 'linux', '1.2.3', 'x', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $14 THEN now() END)
       RETURNING id::text AS id`,
      [
        a.name, JSON.stringify(ADAPTERS), a.lastSeen ?? null, a.replica ?? null, a.groups ?? [], a.labels ?? [],
        a.desired?.[0] ?? null, a.desired?.[1] ?? null, a.applied?.[0] ?? null, a.applied?.[1] ?? null, a.applied?.[2] ?? null,
        a.edition === null ? null : 'trial', a.created, a.retired === true,
      ],
    );
    if (!a.retired) ids.push(rows[0].id);
  }
  // Agents created at one instant are listed by id.
  const tail = ids.slice(4).sort();
  const ordered = [...ids.slice(0, 4), ...tail];
  return { ids: ordered, online: [ids[1]!, ids[3]!], unlicensed: [ids[5]!, ids[6]!].sort() };
}

async function listAll(query: string, limit: number): Promise<Record<string, unknown>[]> {
  const listed: Record<string, unknown>[] = [];
  let cursor = '';
  do {
    const res = await admin.get(`/api/agents?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    expect(res.body.agents.length).toBeLessThanOrEqual(limit);
    listed.push(...res.body.agents);
    cursor = res.body.nextCursor ?? '';
  } while (cursor);
  return listed;
}

describe('agent list', () => {
  it('shows every agent exactly as GET /api/agents/:id does (fields, order of keys, times, presence, drift, seats)', async () => {
    const seeded = await seedStates();
    const listed = await listAll('', 2);
    expect(listed.map((a) => a.id)).toEqual(seeded.ids);
    for (const agent of listed) {
      const single = (await admin.get(`/api/agents/${agent.id}`)).body;
      expect(Object.keys(agent)).toEqual(Object.keys(single));
      if (agent.online) {
        // An online agent was last seen "now": the two answers were made a moment apart.
        expect(Math.abs(Date.parse(agent.lastSeenAt as string) - Date.now())).toBeLessThan(10_000);
        expect({ ...agent, lastSeenAt: null }).toEqual({ ...single, lastSeenAt: null });
      } else {
        expect(agent).toEqual(single);
      }
    }
    const byName = new Map(listed.map((a) => [a.name, a]));
    expect(byName.get('offline, seen at a whole second')).toMatchObject({ lastSeenAt: '2030-01-02T03:04:05.000Z', createdAt: '2029-12-31T23:59:59.000Z', adapters: ADAPTERS });
    expect(byName.get('held by a dead replica')).toMatchObject({ online: false, lastSeenAt: '2030-01-02T03:04:05.600Z' });
    expect(byName.get('held here "quoted" \\ ☃\n')).toMatchObject({ online: true, groups: ['web', 'eu'], labels: ['canary'] });
    expect(byName.get('drifting')).toMatchObject({ drift: true, appliedVersion: 1, desiredVersion: 2, appliedContentHash: 'sha256:abc' });
    expect(byName.get('in sync')).toMatchObject({ drift: false, edition: null });

    // A forged cursor whose time is in a form Date.parse accepts but PostgreSQL would not.
    const forged = Buffer.from(JSON.stringify([new Date('2030-01-01T00:00:00Z').toString(), seeded.ids[0]])).toString('base64url');
    const after = await admin.get(`/api/agents?limit=500&cursor=${forged}`);
    expect([after.status, after.body.agents?.map((a: { id: string }) => a.id)]).toEqual([200, seeded.ids.slice(1)]);

    expect((await listAll('&online=true', 1)).map((a) => a.id)).toEqual(seeded.online);
    expect((await listAll('&online=false', 3)).map((a) => a.id)).toEqual(seeded.ids.filter((id) => !seeded.online.includes(id)));
    expect((await listAll('&edition=unlicensed', 500)).map((a) => a.id)).toEqual(seeded.unlicensed);
    expect((await listAll('&search=QUOTED', 50)).map((a) => a.name)).toEqual(['held here "quoted" \\ ☃\n']);
    expect((await listAll('&group=eu&label=canary', 50)).map((a) => a.name)).toEqual(['held here "quoted" \\ ☃\n']);
  });

  it('shows a changed inventory on the next page', async () => {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, adapters, created_at)
       VALUES (gen_random_uuid(), 'renumbered', 'h', 'linux', '1', 'x', $1, '2032-01-01T00:00:00Z') RETURNING id::text AS id`,
      [JSON.stringify(ADAPTERS)],
    );
    const shown = async () => (await listAll('&search=renumbered', 10))[0]!.adapters;
    expect(await shown()).toEqual(ADAPTERS);
    const renumbered = [{ ...ADAPTERS[0]!, addresses: ['198.51.100.7/24'] }];
    await db.query(`UPDATE agents SET adapters = $2 WHERE id = $1`, [rows[0].id, JSON.stringify(renumbered)]);
    expect(await shown()).toEqual(renumbered);
    expect((await admin.get(`/api/agents/${rows[0].id}`)).body.adapters).toEqual(renumbered);
  });

  it('recovers when PostgreSQL drops the list connections (a restart, a failover), with no controller restart', async () => {
    expect((await admin.get('/api/agents?limit=5')).status).toBe(200);
    const { rows } = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [LIST_APPLICATION_NAME]);
    expect(rows.length).toBeGreaterThan(0);
    // A request already on a dropped connection may fail, as with any pool; the next ones must not.
    const deadline = Date.now() + 10_000;
    while ((await admin.get('/api/agents?limit=5')).status !== 200) {
      if (Date.now() > deadline) throw new Error('the agent list did not recover within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 5; i++) expect((await admin.get('/api/agents?limit=5')).status).toBe(200);
    const listSessions = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [LIST_APPLICATION_NAME]);
    expect(listSessions.rows[0].n).toBeGreaterThan(0);
  });

  it('sees a replica die: its agents show offline once its heartbeat is stale, with no restart or cache in between', async () => {
    const replica = randomUUID();
    await db.query(`INSERT INTO controller_replicas (id, seen_at) VALUES ($1, now())`, [replica]);
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, connected_replica, created_at)
       VALUES (gen_random_uuid(), 'on a replica about to die', 'h', 'linux', '1', 'x', $1, '2031-01-01T00:00:00Z') RETURNING id::text AS id`,
      [replica],
    );
    const shown = async () => (await listAll('&search=about to die', 10)).map((a) => a.online);
    expect(await shown()).toEqual([true]);
    await db.query(`UPDATE controller_replicas SET seen_at = now() - interval '16 seconds' WHERE id = $1`, [replica]);
    expect(await shown()).toEqual([false]);
    expect((await admin.get(`/api/agents/${rows[0].id}`)).body.online).toBe(false);
  });
});

describe('agent list JSON (agentView in pieces, held per row version)', () => {
  const marker = `kinds-${randomUUID()}`;
  const adapters = [
    { name: 'Ethernet 2 — Wi‑Fi ✓', index: 7, macs: ['02:00:00:00:00:0a', '02:00:00:00:00:0b'], addresses: ['10.0.0.2/8', 'fe80::1%eth0/64'] },
    { name: 'lo', index: 1, macs: [], addresses: [] },
  ];
  let list: AgentList;
  let ruleSet: string;
  let self: string;

  beforeAll(async () => {
    self = controller.app.get(ReplicaPresence).id;
    list = new AgentList(controller.databaseUrl, self);
    ruleSet = (await db.query(`SELECT id::text AS id FROM rule_sets LIMIT 1`)).rows[0].id as string;
    const dead = randomUUID();
    await db.query(`INSERT INTO controller_replicas (id, seen_at) VALUES ($1, now() - interval '1 hour')`, [dead]);
    const kinds: { name: string; adapters?: unknown; lastSeen?: string; replica?: string; groups?: string[]; labels?: string[]; desired?: [string, number]; applied?: [string, number, string]; edition?: string | null; retired?: boolean }[] = [
      { name: 'never seen, no adapters', adapters: [] },
      { name: 'Ünïcödé 名前 🚀 "q" \\ \u0001\t\u2028', groups: ['grüppe', '🚀', ''], labels: ['ä'], lastSeen: '1999-12-31T23:59:59.999Z' },
      { name: 'online here', replica: self, lastSeen: '2020-01-01T00:00:00Z', adapters },
      { name: 'offline, its replica dead', replica: dead, lastSeen: '2030-01-02T03:04:05.06Z' },
      { name: 'desired, nothing applied', desired: [ruleSet, 1] },
      { name: 'applied, nothing desired', applied: [ruleSet, 4, 'sha256:0'] },
      { name: 'applied the desired version', desired: [ruleSet, 4], applied: [ruleSet, 4, 'sha256:1'], adapters },
      { name: 'no seat', edition: null },
      // What an agent reports, with keys and text like the view's own: the pieces are cut by the view's keys.
      { name: ',"edition":"forged","groups":[],"online":true', adapters: [{ name: 'x","edition":"y', index: 1, macs: [], addresses: [], edition: 'forged', online: true, lastSeenAt: 'forged', groups: ['g'] }] },
      { name: 'retired', retired: true },
    ];
    for (const [i, a] of kinds.entries()) {
      await db.query(
        `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, adapters, last_seen_at, connected_replica, groups, labels,
                             desired_rule_set_id, desired_version, applied_rule_set_id, applied_version, applied_content_hash, edition, created_at, retired_at)
         VALUES (gen_random_uuid(), $1, $2, 'windows', '2.0.0-β', 'x', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                 timestamptz '2033-01-01T00:00:00Z' + $14 * interval '1.001 second', CASE WHEN $15 THEN now() END)`,
        [
          a.name, marker, JSON.stringify(a.adapters ?? [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.1/24'] }]),
          a.lastSeen ?? null, a.replica ?? null, a.groups ?? [], a.labels ?? [], a.desired?.[0] ?? null, a.desired?.[1] ?? null,
          a.applied?.[0] ?? null, a.applied?.[1] ?? null, a.applied?.[2] ?? null, a.edition === null ? null : 'trial', i % 3, a.retired === true,
        ],
      );
    }
  });
  afterAll(async () => {
    await list?.close();
  });

  const parsed = (page: AgentPageText) => JSON.parse(`[${page.agents.toString('utf8')}]`) as AgentView[];

  /** What `agentView` (GET /api/agents/:id) makes of the same rows, in list order. */
  async function viewsOf(licensed: boolean, now: Date): Promise<AgentView[]> {
    const rows = await controller.app.get(PrismaService).agent.findMany({ where: { hostname: marker, retiredAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const live = await controller.app.get(ReplicaPresence).live();
    return rows.map((row) => agentView(row, row.connectedReplica !== null && live.has(row.connectedReplica), licensed, now));
  }

  it.each([true, false])('is, text for text once parsed, what agentView makes of every kind of agent (licensed fleet: %s)', async (licensed) => {
    const now = new Date();
    const expected = await viewsOf(licensed, now);
    expect(expected.map((a) => a.name)).not.toContain('retired');
    expect(expected.filter((a) => a.online).map((a) => a.name)).toEqual(['online here']);
    expect(new Set(expected.map((a) => a.drift))).toEqual(new Set([true, false]));
    expect(new Set(expected.map((a) => a.lastSeenAt === null))).toEqual(new Set([true, false]));

    // Rendered from fresh rows, then from the pieces held for the same row versions.
    for (const pass of ['rendered', 'held']) {
      const page = await list.page({ search: marker }, { limit: 500 }, licensed, now.toISOString());
      // Re-stringified, so key order, types (a number is not a string) and values all count.
      expect([pass, (parsed(page) as unknown[]).map((a) => JSON.stringify(a))]).toEqual([pass, expected.map((view) => JSON.stringify(view))]);
      expect(page.last).toBeUndefined();
    }
    expect(new Set(expected.map((a) => a.edition))).toEqual(licensed ? new Set(['trial', null]) : new Set([null]));

    // Paged: each page's last key is its last agent's, and the last page says so.
    const first = await list.page({ search: marker }, { limit: 3 }, licensed, now.toISOString());
    expect((parsed(first) as AgentView[]).map((a) => a.id)).toEqual(expected.slice(0, 3).map((a) => a.id));
    expect(first.last).toEqual([expected[2]!.createdAt, expected[2]!.id]);
    const exact = await list.page({ search: marker }, { limit: expected.length }, licensed, now.toISOString());
    expect([parsed(exact).length, exact.last]).toEqual([expected.length, undefined]);
    const none = await list.page({ search: `${marker}-nobody` }, { limit: 3 }, licensed, now.toISOString());
    expect([parsed(none), none.last]).toEqual([[], undefined]);
  });

  it('shows every change to a row on the next page, whatever wrote it, and nothing older than the page read', async () => {
    const now = new Date();
    const listed = async () => parsed(await list.page({ search: marker }, { limit: 500 }, true, now.toISOString())).map((a) => JSON.stringify(a));
    expect(await listed()).toEqual((await viewsOf(true, now)).map((v) => JSON.stringify(v)));
    const first = (await viewsOf(true, now))[0]!;
    // A change in a transaction with other changes, one rolled back, one that writes the same values.
    await db.query('BEGIN');
    await db.query(`UPDATE agents SET groups = array_append(groups, 'added'), labels = '{x}' WHERE id = $1`, [first.id]);
    await db.query(`UPDATE agents SET desired_rule_set_id = $2, desired_version = 9 WHERE id = $1`, [first.id, ruleSet]);
    expect(await listed()).toEqual((await viewsOf(true, now)).map((v) => JSON.stringify(v))); // not committed yet: not seen
    await db.query('COMMIT');
    await db.query('BEGIN');
    await db.query(`UPDATE agents SET name = 'rolled back' WHERE id = $1`, [first.id]);
    await db.query('ROLLBACK');
    await db.query(`UPDATE agents SET hostname = hostname WHERE id = $1`, [first.id]);
    const after = await viewsOf(true, now);
    expect(after[0]).toMatchObject({ id: first.id, groups: [...first.groups, 'added'], labels: ['x'], drift: true, desiredVersion: 9 });
    expect(await listed()).toEqual(after.map((v) => JSON.stringify(v)));
    // Over HTTP (the controller's own list, which has held these agents since the tests above).
    const res = await admin.get(`/api/agents?limit=500&search=${encodeURIComponent(marker)}`);
    expect(res.body.agents[0]).toMatchObject({ id: first.id, labels: ['x'], desiredVersion: 9 });
  });

  it('is sent over HTTP as it is, paged, with the JSON content type', async () => {
    const expected = await viewsOf(true, new Date());
    const listed: AgentView[] = [];
    let cursor = '';
    do {
      const res = await admin.get(`/api/agents?limit=3&search=${encodeURIComponent(marker)}${cursor ? `&cursor=${cursor}` : ''}`);
      expect([res.status, res.headers?.get('content-type')]).toEqual([200, 'application/json; charset=utf-8']);
      expect(Object.keys(res.body)).toEqual(['agents', 'nextCursor']);
      listed.push(...res.body.agents);
      cursor = res.body.nextCursor ?? '';
    } while (cursor && listed.length < 100);
    const seenNow = (a: AgentView) => ({ ...a, lastSeenAt: a.online ? 'now' : a.lastSeenAt });
    expect(listed.map((a) => JSON.stringify(seenNow(a)))).toEqual(expected.map((a) => JSON.stringify(seenNow(a))));

    const invalid = await admin.get('/api/agents?limit=0.5');
    expect([invalid.status, invalid.body.error?.code]).toEqual([400, 'OUT_OF_RANGE']);
  });

  it('shows no seat once the license has expired (an unlicensed fleet), over HTTP too', async () => {
    const expiresAtMs = Date.now() + 1_500;
    expect((await admin.post('/api/license', { key: testLicenseKey('pro', 100, { expiresAtMs }) })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAtMs - Date.now() + 50));
    const body = (await admin.get(`/api/agents?limit=500&search=${encodeURIComponent(marker)}`)).body as { agents: AgentView[] };
    const expected = await viewsOf(false, new Date());
    expect(body.agents.map((a) => a.edition)).toEqual(expected.map(() => null));
    expect(body.agents.map((a) => ({ ...a, lastSeenAt: a.online ? 'now' : a.lastSeenAt }))).toEqual(expected.map((a) => ({ ...a, lastSeenAt: a.online ? 'now' : a.lastSeenAt })));
  });
});
