import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import { answer, until, type SimAgent } from './support/sim-agent';
import { rule, type HttpClient } from './support/test-controller';
import { startTwoReplicas, type TwoReplicas } from './support/two-replicas';

// Two controller replicas on one PostgreSQL: a push made on one reaches the agents connected to
// the other (ClusterBus), and a rollout moved on by an answer taken on one releases the next wave
// on the other.
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

function connected(admin: HttpClient, grpc: AgentClient, name: string): Promise<SimAgent> {
  return replicas.connect(admin, grpc, name);
}

async function ruleSet(name: string): Promise<{ id: string; version: number }> {
  const set = (await adminA.post('/api/rule-sets', { name })).body;
  return (await adminA.post(`/api/rule-sets/${set.id}/rules`, { rule: rule(80, 8080) })).body;
}

const pushOn = (admin: HttpClient, id: string) => admin.get(`/api/pushes/${id}`).then((r) => r.body);

it('a push made on one replica is delivered to agents on both and completes', async () => {
  const set = await ruleSet('replicated');
  const onA = await connected(adminA, grpcA, 'replica-a-1');
  const onB = [await connected(adminB, grpcB, 'replica-b-1'), await connected(adminB, grpcB, 'replica-b-2')];
  const push = (await adminA.post('/api/pushes', { ruleSetId: set.id, agentIds: [onA.agentId, ...onB.map((x) => x.agentId)] })).body;
  for (const agent of [onA, ...onB]) expect((await answer(agent, true)).pushId).toBe(push.id);
  const done = await until(() => pushOn(adminB, push.id), (p) => p.status === 'completed');
  expect([done.status, done.counts.applied]).toEqual(['completed', 3]);
  const agent = (await adminA.get(`/api/agents/${onB[1]!.agentId}`)).body;
  expect([agent.appliedRuleSetId, agent.appliedVersion]).toEqual([set.id, set.version]);
});

it('a dry run on one replica shows agents connected to the other as online', async () => {
  const set = await ruleSet('replicated-dry-run');
  const onA = await connected(adminA, grpcA, 'dry-a');
  const onB = await connected(adminB, grpcB, 'dry-b');
  for (const admin of [adminA, adminB]) {
    const dry = (await admin.post('/api/pushes/dry-run', { ruleSetId: set.id, agentIds: [onA.agentId, onB.agentId] })).body;
    expect(dry.agents.map((a: { online: boolean }) => a.online)).toEqual([true, true]);
  }
});

it('a staged rollout made on B: the first wave answers on A, the next wave is released to agents on B', async () => {
  const set = await ruleSet('replicated-waves');
  const first = await connected(adminA, grpcA, 'wave-a');
  const later = [await connected(adminB, grpcB, 'wave-b-1'), await connected(adminB, grpcB, 'wave-b-2')];
  const push = (await adminB.post('/api/pushes', { ruleSetId: set.id, agentIds: [first, ...later].map((x) => x.agentId), rollout: { waves: [33, 100] } })).body;
  expect(push.counts).toMatchObject({ waiting: 2 });
  expect((await answer(first, true)).pushId).toBe(push.id);
  for (const agent of later) expect((await answer(agent, true)).pushId).toBe(push.id);
  const done = await until(() => pushOn(adminA, push.id), (p) => p.status === 'completed');
  expect([done.status, done.rollout.currentWave, done.counts.applied]).toEqual(['completed', 1, 3]);
});
