/**
 * Issue 10 fault (c) and the multi-replica behaviour: two controller replicas on one PostgreSQL,
 * a simulated fleet spread over both (as behind a TCP load balancer) plus a real agent given both
 * addresses. A console on replica A sees what happens on replica B, and a push made on A reaches
 * the agents connected to B; then B is SIGKILLed in the middle of the next push made on A: its agents move to A and converge — every agent runs the pushed
 * version (in the simulator and in PostgreSQL), every target is acked as applied, and the activity
 * PostgreSQL stored equals what the simulated data planes counted.
 */
import type { ApiSession } from '../support/api';
import type { Replica, Stack } from '../support/stack';
import type { Fleet } from '../../load-tests/fleet-sim';
import { addRule, closeFaultStack, createPush, currentVersion, type FleetDatabase, openFaultStack, monitoredRuleSet, seededFleet, sleep, until, type PushedVersion } from './fault-fleet';
import { LiveEvents } from './live-events';

const AGENTS = 300;

describe('two controller replicas, one killed', () => {
  let stack: Stack;
  let b: Replica;
  let admin: ApiSession;
  let fleet: Fleet | undefined;
  let db: FleetDatabase;
  let live: LiveEvents | undefined;

  beforeAll(async () => {
    ({ stack, admin, db } = await openFaultStack());
    b = await stack.startReplica();
  });
  afterAll(async () => {
    live?.close();
    await closeFaultStack({ fleet, db, stack });
  });

  it('spreads the fleet over both replicas, relays live events between them, and converges on the survivor after one is killed', async () => {
    live = await LiveEvents.open(stack.httpUrl, admin.cookieHeader());
    fleet = await seededFleet(stack, admin, { count: AGENTS, hostnamePrefix: 'failover', targets: [stack.grpcAddress, b.grpcAddress], agentsPerChannel: 50 });
    const ids = fleet.identities.map((i) => i.agentId);
    fleet.start();
    await fleet.waitConnected(90_000);
    expect(fleet.onlinePerTarget()).toEqual([AGENTS / 2, AGENTS / 2]);

    // The console on A hears the agents that connected to B (their presence came through the ClusterBus).
    const onB = new Set(fleet.agents.filter((a) => a.targetIndex === 1).map((a) => a.identity.agentId));
    await until('A to relay the online events of B\'s agents', () => {
      const seen = new Set(live!.events.filter((e) => e.type === 'agent' && e.data.online === true && onB.has(e.data.agentId)).map((e) => e.data.agentId));
      return seen.size === onB.size ? true : undefined;
    }, 30_000);

    // A real agent that knows both replicas, connected to B first.
    const real = await stack.startAgent({ name: 'failover-real', controllers: [b.grpcAddress, stack.grpcAddress] });
    await real.service.waitFor(new RegExp(`"event":"controller.connected".*"controller":"${b.grpcAddress}"`), 30_000);

    const everyone = [...ids, real.id];
    const pushOnA = (v: PushedVersion) => createPush(admin, { ruleSetId: v.ruleSetId, version: v.version, agentIds: everyone });
    const allApplied = (pushId: string) =>
      until('every target applied in PostgreSQL', async () => {
        const states = await db.pushStates(pushId);
        return states.applied === AGENTS + 1 ? states : undefined;
      }, 60_000);

    // Fan-out: a push made on A reaches the agents connected to B.
    const first = await monitoredRuleSet(admin, 'failover');
    const firstPush = await pushOnA(first);
    await fleet.waitApplied(first.version, 60_000);
    await allApplied(firstPush);
    expect(fleet.onlinePerTarget()).toEqual([AGENTS / 2, AGENTS / 2]);

    // B dies in the middle of the next push.
    fleet.startActivity(500);
    await sleep(1_000);
    await addRule(admin, first.ruleSetId, 9090);
    const target = await currentVersion(admin, first.ruleSetId);
    const pushId = await pushOnA(target);
    await b.service.kill();

    // B's agents (and the real one) fail over to A, converge on the pushed version and report on.
    await until('every simulated agent on A', () => (fleet!.onlinePerTarget()[0] === AGENTS ? true : undefined), 60_000);
    await real.service.waitFor(new RegExp(`"event":"controller.connected".*"controller":"${stack.grpcAddress}"`), 30_000);
    await fleet.waitApplied(target.version, 90_000);
    expect([...fleet.applies.values()].every((r) => r.ok)).toBe(true);
    await allApplied(pushId);
    expect(await db.runningVersion(everyone, target)).toBe(AGENTS + 1);

    await sleep(1_000);
    fleet.stopActivity();
    await fleet.drainActivity(60_000);
    const recorded = fleet.recordedTotals();
    expect(recorded.packetsIn).toBeGreaterThan(0);
    expect(fleet.storedTotals()).toEqual(recorded);
    expect(await db.activityTotals(ids)).toEqual(recorded);
  });
});
