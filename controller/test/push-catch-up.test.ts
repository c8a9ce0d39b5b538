import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import type { Actor } from '../src/auth/actor';
import { PrismaService } from '../src/db/prisma.service';
import { PushesService } from '../src/pushes/pushes.service';
import { CREATE_TRANSACTION } from '../src/pushes/push-transaction';
import { AgentConnection, agentClient } from './support/grpc-clients';
import { answer, simAgent, until, type SimAgent } from './support/sim-agent';
import { HttpClient, rule, startTestController, type TestController } from './support/test-controller';

// Hellos arriving together are caught up in batches; an overloaded database refuses pushes retryably.
jest.setTimeout(120_000);

let controller: TestController;
let admin: HttpClient;
let grpc: AgentClient;
const open: AgentConnection[] = [];

beforeAll(async () => {
  controller = await startTestController();
  admin = await HttpClient.login(controller.httpUrl);
  grpc = agentClient(controller.grpcAddress);
});
afterAll(async () => {
  open.forEach((c) => c.close());
  grpc?.close();
  await controller?.shutdown();
});

const system: Actor = { kind: 'system', label: 'system', role: 'admin' };
type Version = { id: string; version: number; contentHash: string };

async function ruleSet(name: string): Promise<Version> {
  const set = (await admin.post('/api/rule-sets', { name })).body;
  return (await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) })).body;
}

async function fleet(prefix: string, n: number): Promise<SimAgent[]> {
  const agents = await Promise.all(Array.from({ length: n }, (_, i) => simAgent(admin, grpc, `${prefix}-${i}`)));
  open.push(...agents.map((a) => a.conn));
  return agents;
}

/** A new stream for the agent whose Hello reports `applied` (or nothing). */
async function reconnect(agent: SimAgent, applied?: Version): Promise<SimAgent> {
  const conn = new AgentConnection(grpc, agent.agentId, agent.credential);
  open.push(conn);
  conn.send({
    $case: 'hello',
    value: { hostname: 'back', platform: 'linux', version: '0.1.0', adapters: [], dataplane: undefined, appliedRuleSetId: applied?.id ?? '', appliedVersion: applied?.version ?? 0, appliedContentHash: applied?.contentHash ?? '' },
  });
  await conn.next('welcome');
  return { ...agent, conn };
}

const getPush = (id: string) => admin.get(`/api/pushes/${id}`).then((r) => r.body);
const noApply = (a: SimAgent) => a.conn.next('apply', 1_500).then(() => 'apply', () => 'none');

it('a reconnect storm: unfinished pushes resent or settled from the Hello, a lost version resent, nothing for the rest', async () => {
  const set = await ruleSet('catch-up');
  const [silent, lost, untouched] = [await fleet('silent', 12), await fleet('lost', 6), await fleet('untouched', 3)];
  const reports = await fleet('reports', 12);
  const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [...silent, ...reports, ...lost].map((a) => a.agentId) })).body;
  // `lost` apply it; `silent` and `reports` get it but answer nothing before the controller loses them.
  await Promise.all(lost.map((a) => answer(a, true)));
  await Promise.all([...silent, ...reports].map((a) => a.conn.next('apply')));
  await until(() => getPush(push.id), (p) => p.counts.applied === 6);
  for (const a of [...silent, ...reports, ...lost, ...untouched]) a.conn.close();

  // All at once: `reports` say they run the pushed version, `lost` run nothing any more.
  const [silentBack, reportsBack, lostBack, untouchedBack] = await Promise.all([
    Promise.all(silent.map((a) => reconnect(a))),
    Promise.all(reports.map((a) => reconnect(a, set))),
    Promise.all(lost.map((a) => reconnect(a))),
    Promise.all(untouched.map((a) => reconnect(a))),
  ]);
  const applies = await Promise.all([...silentBack, ...lostBack].map((a) => answer(a, true)));
  expect(new Set(applies.map((a) => `${a.pushId} ${a.ruleSet!.version}`))).toEqual(new Set([`${push.id} ${set.version}`]));
  expect(await Promise.all([...reportsBack, ...untouchedBack].map(noApply))).toEqual(Array(15).fill('none'));

  const done = await until(() => getPush(push.id), (p) => p.status === 'completed');
  expect([done.status, done.counts.applied, done.counts.delivered]).toEqual(['completed', 30, 0]);
});

it('a push the database cannot take in time is refused as retryable (PUSHES_BUSY), and nothing of it is stored', async () => {
  const set = await ruleSet('busy');
  const [agent] = await fleet('busy', 1);
  const db = controller.app.get(PrismaService);
  const before = await db.push.count();
  // Every pooled connection held longer than a push transaction waits for one.
  const holdS = CREATE_TRANSACTION.maxWait / 1000 + 3;
  const holders = Array.from({ length: 10 }, () => db.$transaction((tx) => tx.$executeRaw`SELECT pg_sleep(${holdS})`, { timeout: (holdS + 10) * 1000 }));
  await new Promise((r) => setTimeout(r, 500));
  const refused = await controller.app
    .get(PushesService)
    .create(system, { ruleSetId: set.id, agentIds: [agent!.agentId] })
    .catch((e: unknown) => e);
  await Promise.all(holders);
  expect(refused).toMatchObject({ kind: 'rate_limited', code: 'PUSHES_BUSY', retryAfterS: 5 });
  expect(await db.push.count()).toBe(before);
  // Once the pool is free again the same request goes through.
  const ok = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agent!.agentId] });
  expect(ok.status).toBe(201);
});
