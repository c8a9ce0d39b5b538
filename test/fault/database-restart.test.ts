/**
 * Issue 10 fault (b): PostgreSQL is stopped and started again under load (agents connected and
 * reporting activity). The controller recovers without a restart (same process, /healthz back to
 * 200); the acks of a push that went out just before the outage are not lost (every target ends
 * applied); a write made during the outage is refused to its sender, who retries it afterwards; no
 * activity report is lost or counted twice (PostgreSQL totals = what the data planes counted); and
 * a push after the outage reaches every agent.
 */
import { status } from '@grpc/grpc-js';
import { AgentConnection, agentClient } from '../../controller/test/support/grpc-clients';
import type { ApiSession } from '../support/api';
import type { Stack } from '../support/stack';
import type { Fleet } from '../../load-tests/fleet-sim';
import { addRule, closeFaultStack, createPush, currentVersion, type FleetDatabase, openFaultStack, monitoredRuleSet, seededFleet, sleep, until, type PushedVersion } from './fault-fleet';

const AGENTS = 200;

describe('PostgreSQL stopped and restarted under load', () => {
  let stack: Stack;
  let admin: ApiSession;
  let fleet: Fleet | undefined;
  let db: FleetDatabase;

  beforeAll(async () => void ({ stack, admin, db } = await openFaultStack()));
  afterAll(() => closeFaultStack({ fleet, db, stack }));

  async function pushToAll(ids: string[], v: PushedVersion): Promise<string> {
    const pushId = await createPush(admin, { ruleSetId: v.ruleSetId, version: v.version, agentIds: ids });
    await fleet!.waitApplied(v.version, 90_000);
    await until(`push v${v.version} applied in PostgreSQL`, async () => ((await db.pushStates(pushId)).applied === ids.length ? true : undefined), 60_000);
    expect(await db.pushStates(pushId)).toEqual({ applied: ids.length });
    expect(await db.runningVersion(ids, v)).toBe(ids.length);
    return pushId;
  }

  it('recovers without a restart, loses no report, and the refused write succeeds when retried', async () => {
    fleet = await seededFleet(stack, admin, { count: AGENTS, hostnamePrefix: 'pg-outage', targets: [stack.grpcAddress], agentsPerChannel: 50 });
    const ids = fleet.identities.map((i) => i.agentId);
    fleet.start();
    await fleet.waitConnected(90_000);
    const first = await monitoredRuleSet(admin, 'pg-outage');
    await pushToAll(ids, first);

    const pid = stack.controller.pid;
    fleet.startActivity(500);
    await sleep(1_500);

    // A push goes out and PostgreSQL stops at once: the agents' acks arrive during the outage.
    await addRule(admin, first.ruleSetId, 7070);
    const second = await currentVersion(admin, first.ruleSetId);
    const secondPush = await createPush(admin, { ruleSetId: second.ruleSetId, version: second.version, agentIds: ids });
    await stack.database!.stop();

    // During the outage: the API refuses writes (the sender learns it must retry), reads fail
    // cleanly, and agents keep counting (their reports wait until stored).
    const refused = await admin.post('/api/rule-sets', { name: 'after-outage' });
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect((await fetch(`${stack.httpUrl}/healthz`)).status).toBe(503);
    // An agent connecting now is told to come back (UNAVAILABLE), not that the controller broke
    // (INTERNAL); the controller logs the failed batch once, not an error per stream.
    const grpc = agentClient(stack.grpcAddress);
    try {
      const probe = new AgentConnection(grpc, ids[0]!, fleet.identities[0]!.credential);
      expect((await probe.failure()).code).toBe(status.UNAVAILABLE);
    } finally {
      grpc.close();
    }
    await sleep(3_000);

    await stack.database!.start();
    await until('/healthz to answer 200 again', async () => ((await fetch(`${stack.httpUrl}/healthz`)).status === 200 ? true : undefined), 60_000);
    expect(stack.controller.running).toBe(true);
    expect(stack.controller.pid).toBe(pid);

    // The sender retries the refused write; it lands once, and a push of it reaches everyone.
    const created = await until('the retried write to succeed', async () => {
      const res = await admin.post('/api/rule-sets', { name: 'after-outage' });
      if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    }, 30_000, 500);
    const named = (await admin.get('/api/rule-sets')).body.ruleSets.filter((r: { name: string }) => r.name === 'after-outage');
    expect(named.map((r: { id: string }) => r.id)).toEqual([created]);
    await addRule(admin, created, 9090);
    const third = await currentVersion(admin, created);

    // The acks made during the outage were not lost: the push in flight is applied everywhere.
    await fleet.waitConnected(90_000);
    await fleet.waitApplied(second.version, 90_000);
    await until('the push in flight during the outage applied in PostgreSQL', async () => ((await db.pushStates(secondPush)).applied === AGENTS ? true : undefined), 60_000);
    expect(await db.pushStates(secondPush)).toEqual({ applied: AGENTS });
    await pushToAll(ids, third);

    await sleep(1_000);
    fleet.stopActivity();
    await fleet.drainActivity(90_000);
    const recorded = fleet.recordedTotals();
    expect(recorded.packetsIn).toBeGreaterThan(0);
    expect(fleet.storedTotals()).toEqual(recorded);
    expect(await db.activityTotals(ids)).toEqual(recorded);

    expect([...fleet.disconnectReasons.keys()].filter((r) => r.startsWith('INTERNAL'))).toEqual([]);
    expect(stack.controller.output.filter((line) => line.includes('unhandled error in gRPC call'))).toEqual([]);
  });
});
