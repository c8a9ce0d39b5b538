/**
 * What the console's fleet page reads instead of the whole fleet: `GET /api/agents/summary`
 * (counts and the tags in use, with the list's filters), the list's `drift` filter and search over
 * groups and labels, `GET /api/activity/agents` (per-agent totals of the visible page), and the
 * rule editor's `GET /api/agents/adapter-names`.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { ReplicaPresence } from '../src/agents/replica-presence';
import { MAX_AGENT_IDS } from '../src/activity/agent-activity-totals';
import { closeControllerSuite, openHttpSuite } from './support/controller-suite';
import type { HttpClient, TestController } from './support/test-controller';

jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let db: Client;
/** Ids by name. */
const ids = new Map<string, string>();

beforeAll(async () => {
  ({ controller, admin, db } = await openHttpSuite());
  const self = controller.app.get(ReplicaPresence).id;
  const dead = randomUUID();
  await db.query(`INSERT INTO controller_replicas (id, seen_at) VALUES ($1, now() - interval '1 hour')`, [dead]);
  const ruleSet = (await db.query(`SELECT id::text AS id FROM rule_sets LIMIT 1`)).rows[0].id as string;
  const agents: { name: string; replica?: string; groups?: string[]; labels?: string[]; desired?: number; applied?: number; retired?: boolean }[] = [
    { name: 'web-1', replica: self, groups: ['web', 'eu'], labels: ['env:prod'], desired: 2, applied: 2 },
    { name: 'web-2', replica: dead, groups: ['web'], labels: ['env:test'], desired: 2, applied: 1 },
    { name: 'db-1', replica: self, groups: ['db'], labels: ['env:prod'], desired: 3 },
    { name: 'bare' },
    { name: 'gone', groups: ['retired-only'], labels: ['retired-label'], replica: self, retired: true },
  ];
  for (const [i, a] of agents.entries()) {
    const { rows } = await db.query(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, connected_replica, groups, labels,
                           desired_rule_set_id, desired_version, applied_rule_set_id, applied_version, created_at, retired_at)
       VALUES (gen_random_uuid(), $1, $1 || '.lan', 'linux', '1.0.0', 'x', $2, $3, $4, $5, $6, $7, $8,
               timestamptz '2030-01-01T00:00:00Z' + $9 * interval '1 second', CASE WHEN $10 THEN now() END)
       RETURNING id::text AS id`,
      [a.name, a.replica ?? null, a.groups ?? [], a.labels ?? [], a.desired ? ruleSet : null, a.desired ?? null,
        a.applied ? ruleSet : null, a.applied ?? null, i, a.retired === true],
    );
    ids.set(a.name, rows[0].id);
  }
});
afterAll(() => closeControllerSuite({ controller, db }, []));

const names = async (query: string) => ((await admin.get(`/api/agents?limit=50${query}`)).body.agents as { name: string }[]).map((a) => a.name);

describe('GET /api/agents/summary', () => {
  it('counts the enrolled and online agents and lists the tags in use, retired agents left out', async () => {
    const res = await admin.get('/api/agents/summary');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ enrolled: 4, online: 2, matching: 4, groups: ['db', 'eu', 'web'], labels: ['env:prod', 'env:test'] });
  });

  it('counts what the list keeps under the same filters (matching), the fleet figures unchanged', async () => {
    for (const query of ['?online=true', '?group=web', '?label=env:prod&online=true', '?drift=true', '?drift=false', '?search=EU', '?search=.lan&group=db']) {
      const summary = (await admin.get(`/api/agents/summary${query}`)).body;
      const listed = await names(`&${query.slice(1)}`);
      expect([query, summary.matching]).toEqual([query, listed.length]);
      expect([summary.enrolled, summary.online]).toEqual([4, 2]);
    }
  });

  it('names the field of a bad filter', async () => {
    const res = await admin.get('/api/agents/summary?drift=yes');
    expect([res.status, res.body.error.field]).toEqual([400, 'drift']);
  });

  it('is not mistaken for an agent id', async () => {
    expect((await admin.get(`/api/agents/${ids.get('bare')}`)).body.name).toBe('bare');
  });
});

describe('GET /api/agents/adapter-names', () => {
  it('lists the adapter names enrolled agents reported, distinct and sorted, retired agents left out', async () => {
    const inventory = (...names: string[]) => JSON.stringify(names.map((name, index) => ({ name, index, macs: [], addresses: [] })));
    await db.query('UPDATE agents SET adapters = $2::jsonb WHERE id = $1', [ids.get('web-1'), inventory('eth0', 'wg0')]);
    await db.query('UPDATE agents SET adapters = $2::jsonb WHERE id = $1', [ids.get('db-1'), inventory('eth0', 'bond0', '')]);
    await db.query('UPDATE agents SET adapters = $2::jsonb WHERE id = $1', [ids.get('gone'), inventory('retired0')]);
    const res = await admin.get('/api/agents/adapter-names');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ names: ['bond0', 'eth0', 'wg0'] });
    expect((await admin.get(`/api/agents/${ids.get('db-1')}`)).body.adapters.map((a: { name: string }) => a.name)).toEqual(['eth0', 'bond0', '']);
  });
});

describe('GET /api/agents filters the console sends', () => {
  it('drift keeps the agents whose applied version differs from the pushed one (agentView.drift)', async () => {
    expect(await names('&drift=true')).toEqual(['web-2', 'db-1']);
    expect(await names('&drift=false')).toEqual(['web-1', 'bare']);
  });

  it('search matches groups and labels too', async () => {
    expect(await names('&search=ENV:TEST')).toEqual(['web-2']);
    expect(await names('&search=eu')).toEqual(['web-1']);
    expect(await names('&search=db')).toEqual(['db-1']);
  });
});

describe('GET /api/activity/agents', () => {
  it('sums each named agent over all its rules, raw reports and stored buckets alike', async () => {
    const [web1, web2, db1] = [ids.get('web-1')!, ids.get('web-2')!, ids.get('db-1')!];
    await db.query(
      `INSERT INTO activity_stored_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
       VALUES ($1, 'r1', '2030-01-01T00:00:00Z', 10, 1000, 1, 100, 2, '2030-01-01T00:00:30Z'),
              ($1, 'r2', '2030-01-01T00:01:00Z', 5, 500, 0, 0, 1, '2030-01-01T00:01:10Z'),
              ($2, 'r1', '2030-01-01T00:00:00Z', 7, 70, 7, 70, 7, NULL)`,
      [web1, web2],
    );
    // One raw report not rolled up yet, two rules: counters are one row per counter, a column per rule.
    await db.query(
      `INSERT INTO activity_raw_reports (agent_id, seq, period_end, rule_ids, counters)
       VALUES ($1, 1, '2030-01-01T00:02:05Z', ARRAY['r1', 'r3'], ARRAY[[3, 4], [300, 400], [1, 1], [10, 10], [1, 0], [1893456125000, 0]]::bigint[][])`,
      [web1],
    );
    const res = await admin.get(`/api/activity/agents?agentIds=${[web1, web2, db1].join(',')}`);
    expect(res.status).toBe(200);
    expect(res.body.agents).toEqual(
      [
        { agentId: web1, packetsIn: 22, bytesIn: 2200, packetsOut: 3, bytesOut: 120, conversations: 4, lastHitAt: '2030-01-01T00:02:05.000Z' },
        { agentId: web2, packetsIn: 7, bytesIn: 70, packetsOut: 7, bytesOut: 70, conversations: 7, lastHitAt: null },
      ].sort((a, b) => a.agentId.localeCompare(b.agentId)),
    );
    // Only the agents asked for.
    expect((await admin.get(`/api/activity/agents?agentIds=${web2}`)).body.agents.map((a: { agentId: string }) => a.agentId)).toEqual([web2]);
  });

  it('rejects missing, malformed and too many ids, naming agentIds', async () => {
    const tooMany = Array.from({ length: MAX_AGENT_IDS + 1 }, () => randomUUID()).join(',');
    for (const query of ['', '?agentIds=', `?agentIds=${ids.get('bare')},not-a-uuid`, `?agentIds=${tooMany}`]) {
      const res = await admin.get(`/api/activity/agents${query}`);
      expect([query.slice(0, 40), res.status, res.body.error?.field]).toEqual([query.slice(0, 40), 400, 'agentIds']);
    }
    expect((await admin.get(`/api/activity/agents?agentIds=${Array.from({ length: MAX_AGENT_IDS }, () => randomUUID()).join(',')}`)).body).toEqual({ agents: [] });
  });
});
