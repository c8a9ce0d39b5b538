/**
 * Issue 10 fault (a): the controller is SIGKILLed in the middle of a push to 1,000 simulated
 * agents that are reporting activity (every 2 s). After it is started again every agent reaches the pushed
 * version (in the simulator and in PostgreSQL), every push target is acked as applied (no ack
 * lost), and PostgreSQL's activity totals equal what the simulated data planes counted.
 */
import type { ApiSession } from '../support/api';
import type { Stack } from '../support/stack';
import type { Fleet } from '../../load-tests/fleet-sim';
import { closeFaultStack, type FleetDatabase, monitoredRuleSet, openFaultStack, seededFleet, sleep, until } from './fault-fleet';

const AGENTS = 1000;
// Most of the run is the controller catching 1,000 reconnecting agents up (about a minute at load
// average 10 here, over two at 15+): room for a busy machine.
jest.setTimeout(240_000);

describe('controller SIGKILL in the middle of a push to 1,000 agents', () => {
  let stack: Stack;
  let admin: ApiSession;
  let fleet: Fleet | undefined;
  let db: FleetDatabase;

  beforeAll(async () => void ({ stack, admin, db } = await openFaultStack()));
  afterAll(() => closeFaultStack({ fleet, db, stack }));

  it('converges after the restart: every agent on the pushed version, every ack recorded, activity totals equal', async () => {
    fleet = await seededFleet(stack, admin, { count: AGENTS, hostnamePrefix: 'killed', targets: [stack.grpcAddress], agentsPerChannel: 100 });
    const ids = fleet.identities.map((i) => i.agentId);
    fleet.start();
    await fleet.waitConnected(120_000);

    const target = await monitoredRuleSet(admin, 'kill-mid-push');
    fleet.startActivity(2_000);
    await sleep(1_500);

    // SIGKILL as soon as the first agent has applied: the push is under way, most acks not yet stored.
    let killed: Promise<void> | undefined;
    let appliedAtKill = 0;
    const onApplied = () => {
      if (killed) return;
      appliedAtKill = fleet!.applies.size;
      killed = stack.controller.kill();
    };
    fleet.on('applied', onApplied);
    let refused: unknown;
    const push = admin.post('/api/pushes', { ruleSetId: target.ruleSetId, version: target.version, agentIds: ids }).then(
      (res) => {
        if (res.status !== 201 && !killed) refused = res;
        return res;
      },
      (error: unknown) => ({ status: 0, body: String(error) }),
    );
    await until('the first agent to apply', () => {
      if (refused) throw new Error(`the push was refused: ${JSON.stringify(refused)}`);
      return killed ? true : undefined;
    }, 120_000);
    await killed;
    fleet.off('applied', onApplied);
    const answered = await push;
    const pushId = [...fleet.applies.values()][0]!.pushId;
    if (answered.status === 201) expect(answered.body.id).toBe(pushId);
    expect(appliedAtKill).toBeLessThan(AGENTS);

    await stack.restartController();
    await fleet.waitConnected(120_000);
    await fleet.waitApplied(target.version, 120_000);
    expect([...fleet.applies.values()].every((r) => r.ok && r.pushId === pushId)).toBe(true);

    const states = await until('every target applied in PostgreSQL', async () => {
      const s = await db.pushStates(pushId);
      return s.applied === AGENTS ? s : undefined;
    }, 60_000).catch(async () => db.pushStates(pushId));
    expect(states).toEqual({ applied: AGENTS });
    expect(await db.runningVersion(ids, target)).toBe(AGENTS);

    await sleep(1_000);
    fleet.stopActivity();
    await fleet.drainActivity(90_000);
    const recorded = fleet.recordedTotals();
    expect(recorded.packetsIn).toBeGreaterThan(0);
    expect(fleet.storedTotals()).toEqual(recorded);
    expect(await db.activityTotals(ids)).toEqual(recorded);
  });
});
