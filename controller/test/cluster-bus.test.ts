import path from 'node:path';
import { ClusterBus, MAX_PAYLOAD_BYTES } from '../src/cluster/cluster-bus';
import { EmbeddedPostgres } from '../src/db/embedded-postgres';
import { PrismaService } from '../src/db/prisma.service';
import { quietLogger, reachableTempDir } from './support/test-postgres';

jest.setTimeout(120_000);

/** Two replicas' buses on one real PostgreSQL, which is stopped and started under them. */
describe('ClusterBus (LISTEN/NOTIFY between replicas)', () => {
  const tmp = reachableTempDir('pf-ctl-cluster-');
  const dir = path.join(tmp.dir, 'postgres');
  let pg: EmbeddedPostgres;
  let port: number;
  const prismas: PrismaService[] = [];
  const buses: ClusterBus[] = [];

  async function replica(): Promise<ClusterBus> {
    const prisma = new PrismaService(pg.url);
    const bus = new ClusterBus(pg.url, prisma, quietLogger());
    await bus.onModuleInit();
    prismas.push(prisma);
    buses.push(bus);
    return bus;
  }

  function collector(bus: ClusterBus, channel: string): string[] {
    const got: string[] = [];
    bus.subscribe(channel, (payload) => got.push(payload));
    return got;
  }

  async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    pg = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    port = Number(new URL(pg.url).port);
  });
  afterAll(async () => {
    for (const bus of buses) await bus.onModuleDestroy();
    for (const prisma of prismas) await prisma.$disconnect();
    await pg?.stop();
    tmp.remove();
  });

  it('delivers a publish to every replica, the publisher included, in publish order', async () => {
    const a = await replica();
    const b = await replica();
    const onA = collector(a, 'pushes');
    const onB = collector(b, 'pushes');
    const otherChannel = collector(b, 'events');
    const sent = Array.from({ length: 50 }, (_, i) => `push-${i}`);
    await Promise.all(sent.map((p) => a.publish('pushes', p)));
    await until('both replicas to get 50 messages', () => onA.length === 50 && onB.length === 50);
    expect(onA).toEqual(sent);
    expect(onB).toEqual(sent);
    expect(otherChannel).toEqual([]);
  });

  it('sends a publish made inside a transaction only when it commits', async () => {
    const [a, b] = buses;
    const got = collector(b, 'tx');
    await prismas[0].$transaction(async (tx) => {
      await a.publish('tx', 'rolled back', tx);
      throw new Error('abort');
    }).catch(() => undefined);
    await prismas[0].$transaction(async (tx) => a.publish('tx', 'committed', tx));
    await until('the committed message', () => got.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['committed']);
  });

  it('refuses a bad channel name and a payload of 8000 bytes or more, naming the field', async () => {
    const [a] = buses;
    await expect(a.publish('Bad-Name', 'x')).rejects.toMatchObject({ code: 'CLUSTER_CHANNEL_INVALID', field: 'channel' });
    await expect(a.publish('big', 'é'.repeat(4000))).rejects.toMatchObject({ code: 'CLUSTER_PAYLOAD_TOO_LARGE', field: 'payload' });
    await expect(a.publish('big', 'x'.repeat(MAX_PAYLOAD_BYTES))).resolves.toBeUndefined();
  });

  it('reconnects after PostgreSQL restarts, LISTENs again and tells onReconnect handlers', async () => {
    const [a, b] = buses;
    const got = collector(b, 'after_restart');
    let reconnects = 0;
    b.onReconnect(() => reconnects++);

    await pg.stop();
    await until('the listener to notice', () => !a.listening && !b.listening);
    await expect(a.publish('after_restart', 'during outage')).rejects.toThrow();

    pg = await EmbeddedPostgres.start({ dir, port, logger: quietLogger() });
    await until('both listeners to reconnect', () => a.listening && b.listening);
    expect(reconnects).toBe(1);
    // A channel subscribed before the outage (LISTEN re-issued) and one subscribed after.
    const late = collector(a, 'late');
    await a.publish('after_restart', 'after');
    await b.publish('late', 'late');
    await until('messages after the restart', () => got.length === 1 && late.length === 1);
    expect(got).toEqual(['after']);
  });
});
