/**
 * The fleet simulator against the real controller (embedded PostgreSQL, real gRPC): 50 agents on
 * 5 shared channels enroll, a push reaches applied on all of them (as recorded in the database,
 * read back through the HTTP API), and the activity totals the controller stored equal what the
 * simulated data planes counted — including across forced reconnects.
 */
import { startStack, type Stack } from '../../test/support/stack';
import type { ApiSession } from '../../test/support/api';
import { Fleet } from '../fleet-sim';

const AGENTS = 50;

describe('fleet simulator against the real controller', () => {
  let stack: Stack;
  let admin: ApiSession;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    stack = await startStack();
    admin = await stack.login();
  });
  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
  });

  it('enrolls, applies a push on every agent and reports activity the controller counts exactly once', async () => {
    fleet = await Fleet.enroll(
      { target: stack.grpcAddress, agentsPerChannel: 10, backoff: { initialMs: 50, maxMs: 500 }, maxUnackedReports: 2 },
      { count: AGENTS, concurrency: 8, hostnamePrefix: 'fleet-test', tokens: async () => (await admin.post('/api/enrollment-tokens', {})).body.token },
    );
    expect(fleet.pool.channels).toBe(5);
    fleet.start();
    await fleet.waitConnected(30_000);

    const listed = await admin.get('/api/agents?limit=500');
    const ours = listed.body.agents.filter((a: { hostname: string }) => a.hostname.startsWith('fleet-test-'));
    expect(ours).toHaveLength(AGENTS);
    expect(ours.every((a: { online: boolean }) => a.online)).toBe(true);
    expect(ours[0].adapters.map((a: { name: string }) => a.name)).toEqual(['lo', 'eth0']);

    const set = await admin.post('/api/rule-sets', { name: 'fleet-sim' });
    expect(set.status).toBe(201);
    for (const port of [8080, 5353]) {
      const added = await admin.post(`/api/rule-sets/${set.body.id}/rules`, {
        rule: { enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: port === 5353 ? 'udp' : 'tcp', localPort: port }, forwardAs: { localPort: port + 1 } },
      });
      expect(added.status).toBe(201);
    }
    const version = (await admin.get(`/api/rule-sets/${set.body.id}`)).body;
    const push = await admin.post('/api/pushes', { ruleSetId: version.id, version: version.version, agentIds: fleet.identities.map((i) => i.agentId) });
    expect(push.status).toBe(201);

    await fleet.waitApplied(version.version, 30_000);
    expect([...fleet.applies.values()].every((r) => r.ok && r.pushId === push.body.id)).toBe(true);
    expect(fleet.validations.computed).toBe(1); // one version pushed: validated once, acked by all
    const applied = await poll(async () => {
      const p = (await admin.get(`/api/pushes/${push.body.id}`)).body;
      return p.targets.every((t: { state: string }) => t.state === 'applied') ? p : undefined;
    });
    expect(applied.targets).toHaveLength(AGENTS);
    const after = (await admin.get('/api/agents?limit=500')).body.agents.filter((a: { hostname: string }) => a.hostname.startsWith('fleet-test-'));
    expect(after.every((a: { appliedVersion: number; appliedContentHash: string }) => a.appliedVersion === version.version && a.appliedContentHash === version.contentHash)).toBe(true);

    // Three periods end before any ack can arrive (same turn of the event loop): the third is held
    // back (at most 2 unacked), its traffic goes out with a later report.
    for (const agent of fleet.agents) for (let i = 0; i < 3; i++) agent.tick(Date.now());
    expect(fleet.agents.every((a) => a.unackedReports === 2 && a.heldBackPeriods === 1)).toBe(true);

    // Activity, with a tenth of the fleet dropping its stream twice on the way.
    fleet.startActivity(100);
    for (let round = 0; round < 2; round++) {
      await sleep(400);
      for (const agent of fleet.agents.slice(round * 5, round * 5 + 5)) {
        agent.stop();
        agent.start();
      }
    }
    await sleep(400);
    fleet.stopActivity();
    // Never more than the bound in flight (sampled while running: the ledgers hold what is unacked).
    expect(Math.max(...fleet.agents.map((a) => a.unackedReports))).toBeLessThanOrEqual(2);
    await fleet.drainActivity(30_000);

    const recorded = fleet.recordedTotals();
    expect(recorded.packetsIn).toBeGreaterThan(0);
    expect(fleet.storedTotals()).toEqual(recorded);
    expect(fleet.agents.slice(0, 10).every((a) => a.connects >= 2)).toBe(true);
    expect(fleet.disconnectSummary()).toBe('10 (10× stopped)'); // the forced reconnects; none failed before its Welcome

    const totals = (await admin.get('/api/activity')).body.totals as Array<{ agentId: string; ruleId: string; packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; conversations: number }>;
    const atController = new Map(totals.map((t) => [`${t.agentId}/${t.ruleId}`, t]));
    let rows = 0;
    for (const [agentId, rules] of fleet.stored) {
      for (const [ruleId, sent] of rules) {
        const stored = atController.get(`${agentId}/${ruleId}`);
        expect({ agentId, ruleId, ...pick(stored) }).toEqual({ agentId, ruleId, ...sent });
        rows++;
      }
    }
    expect(rows).toBe(AGENTS * 2);
  });
});

function pick(t: { packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; conversations: number } | undefined) {
  return t && { packetsIn: t.packetsIn, bytesIn: t.bytesIn, packetsOut: t.packetsOut, bytesOut: t.bytesOut, conversations: t.conversations };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}
