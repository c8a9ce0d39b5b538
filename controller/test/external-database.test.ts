import { agentClient } from './support/grpc-clients';
import { answer, simAgent, until } from './support/sim-agent';
import { HttpClient, plainRule, startTestController, testLicenseKey, type TestController } from './support/test-controller';
import { startTestPostgres } from './support/test-postgres';

jest.setTimeout(120_000);

describe('with DATABASE_URL (an external server)', () => {
  let pg: Awaited<ReturnType<typeof startTestPostgres>>;
  let controller: TestController;

  beforeAll(async () => {
    pg = await startTestPostgres();
    controller = await startTestController({ databaseUrl: pg.url });
  });
  afterAll(async () => {
    await controller?.shutdown();
    await pg?.stop();
  });

  it('migrates that database, serves the API, and reports 503 from /healthz when it goes away', async () => {
    expect(controller.databaseUrl).toBe(pg.url);
    const admin = await HttpClient.login(controller.httpUrl);
    expect((await admin.get('/api/rule-sets')).body.ruleSets.map((s: { name: string }) => s.name)).toEqual(['default']);
    expect((await fetch(`${controller.httpUrl}/healthz`)).status).toBe(200);

    // Licensing and a push work the same on an external server.
    expect((await admin.post('/api/license', { key: testLicenseKey('pro', 5) })).body.edition).toBe('pro');
    const agents = agentClient(controller.grpcAddress);
    const agent = await simAgent(admin, agents, 'external-host');
    const set = (await admin.get('/api/rule-sets')).body.ruleSets[0];
    expect((await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: plainRule(80, 8080) })).status).toBe(201);
    const push = (await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [agent.agentId] })).body;
    expect((await answer(agent, true)).capabilities).toBeDefined();
    expect((await until(() => admin.get(`/api/pushes/${push.id}`), (r) => r.body.status === 'completed')).body.targets[0].state).toBe('applied');
    agent.conn.close();
    agents.close();

    await pg.stop();
    const down = await fetch(`${controller.httpUrl}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'unavailable' });
  });
});
