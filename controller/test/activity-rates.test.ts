/**
 * Live activity rates with two controller replicas on one PostgreSQL: an agent on each reports,
 * and both replicas answer GET /api/activity/rates — and send the `activity` live event — with
 * the whole fleet, not only the agents connected to them.
 */
import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import type { SimAgent } from './support/sim-agent';
import type { HttpClient } from './support/test-controller';
import { startTwoReplicas, type TwoReplicas } from './support/two-replicas';

jest.setTimeout(120_000);

let replicas: TwoReplicas;
let adminA: HttpClient;
let adminB: HttpClient;
let grpcA: AgentClient;
let grpcB: AgentClient;

beforeAll(async () => {
  replicas = await startTwoReplicas();
  ({ adminA, adminB, grpcA, grpcB } = replicas);
});
afterAll(() => replicas?.stop());

async function report(agent: SimAgent, ruleId: string, packetsIn: number): Promise<void> {
  const now = Date.now();
  agent.conn.send({ $case: 'activity', value: { seq: 1, periodStartMs: now - 1000, periodEndMs: now, rules: [{ ruleId, packetsIn, bytesIn: packetsIn * 100, packetsOut: 0, bytesOut: 0, conversationsActive: 1, conversationsNew: 1, lastHitMs: now }] } });
  await agent.conn.next('activityAck');
}

interface Rates {
  windowSeconds: number;
  fleet: { packetsPerSecond: number; bytesPerSecond: number };
  agents: { agentId: string; packetsPerSecond: number }[];
  rules: { agentId: string; ruleId: string; packetsPerSecond: number; lastHitAt: string | null }[];
}

it('both replicas give the fleet-wide rates, in GET /api/activity/rates and in the live event', async () => {
  const events = await fetch(`${replicas.b.httpUrl}/api/events`, { headers: { cookie: `pf_session=${adminB.cookie('pf_session')}` } });
  const onA = await replicas.connect(adminA, grpcA, 'rates-a');
  const onB = await replicas.connect(adminB, grpcB, 'rates-b');
  await report(onA, 'ra', 120); // stored by replica A
  await report(onB, 'rb', 60); // stored by replica B

  for (const admin of [adminA, adminB]) {
    const rates = await ratesOnceStored(admin, 2);
    expect(rates.windowSeconds).toBe(60);
    expect(rates.agents.map((x) => x.agentId).sort()).toEqual([onA.agentId, onB.agentId].sort());
    expect(rates.rules.map((r) => `${r.agentId === onA.agentId ? 'A' : 'B'}/${r.ruleId}`).sort()).toEqual(['A/ra', 'B/rb']);
    // 180 packets in the last minute (both reports within the current minute, or its 10-s grace).
    expect(rates.fleet).toEqual({ packetsPerSecond: 3, bytesPerSecond: 300 });
    expect(rates.rules.every((r) => r.lastHitAt !== null)).toBe(true);
  }

  // Replica B's watchers see agent A's traffic too (one event from B itself, not one per replica).
  const seen = await activityEvents(events, (e) => e.rules.some((r) => r.agentId === onA.agentId), 15_000);
  expect(seen.at(-1)!.agents.map((x) => x.agentId).sort()).toEqual([onA.agentId, onB.agentId].sort());
});

/**
 * GET /api/activity/rates until it holds `agents` agents: a snapshot is shared by callers for up
 * to a second, so one whose read began before the reports committed may answer first.
 */
async function ratesOnceStored(admin: HttpClient, agents: number): Promise<Rates> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rates = (await admin.get('/api/activity/rates')).body as Rates;
    if (rates.agents.length >= agents || Date.now() > deadline) return rates;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Reads `activity` events from an SSE response until one matches; returns all seen so far. */
async function activityEvents(res: Response, match: (rates: Rates) => boolean, timeoutMs: number): Promise<Rates[]> {
  const reader = res.body!.getReader();
  const seen: Rates[] = [];
  let buffer = '';
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ value: undefined; done: true }>((resolve) => (timer = setTimeout(() => resolve({ value: undefined, done: true }), timeoutMs)));
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), timedOut]);
      if (done) break;
      buffer += Buffer.from(value!).toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: activity$/m.test(block)) seen.push(JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Rates);
      }
      if (seen.some(match)) return seen;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel();
  }
  throw new Error(`no matching activity event in ${timeoutMs} ms; saw ${seen.length}`);
}
