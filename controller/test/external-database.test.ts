import { HttpClient, startTestController, type TestController } from './support/test-controller';
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

    await pg.stop();
    const down = await fetch(`${controller.httpUrl}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'unavailable' });
  });
});
