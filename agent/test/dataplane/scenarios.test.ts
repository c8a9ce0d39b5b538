/**
 * The seed scenarios over the Linux data plane with real traffic: the engine and NFQUEUE run in
 * the agent namespace; real TCP and UDP peers run in the client and server namespaces.
 */
import type { Rule, Settings } from '@portfleet/proto';
import { client, createTopology, describeDataPlane, destroyTopology, NsProcess, peerArgs, runnerArgs, setHosts, type Topology } from './support/netns';

jest.setTimeout(60_000);

const SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}): Rule {
  return { id, enabled: true, activityMonitoring: true, selector, forwardAs };
}

describeDataPlane('Linux data plane: seed scenarios with real traffic', () => {
  let topo: Topology;
  const running: NsProcess[] = [];

  beforeAll(async () => {
    topo = await createTopology(`s${process.pid % 10000}`);
  }, 60_000);

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });

  afterAll(async () => {
    if (topo) await destroyTopology(topo.names);
  });

  async function start(ns: string, args: string[], ready = 'listening'): Promise<NsProcess> {
    const p = new NsProcess(ns, args);
    running.push(p);
    await p.next(ready);
    return p;
  }

  async function agent(rules: Rule[], settings = SETTINGS): Promise<NsProcess> {
    return start(topo.agent.ns, runnerArgs({ rules, settings }), 'ready');
  }

  async function stats(p: NsProcess): Promise<{ rules: { ruleId: string; packetsIn: number; packetsOut: number; conversationsTotal: number }[]; plane: Record<string, number> }> {
    p.send('stats');
    return (await p.next('stats')) as never;
  }

  for (const family of ['v4', 'v6'] as const) {
    test(`scenario 1 (${family}): inbound TCP to port 80 reaches the server on local port 8080`, async () => {
      const a = topo.agent.client[family];
      await start(topo.agent.ns, peerArgs('tcp-server', family === 'v4' ? '0.0.0.0' : '::', 8080));
      // Nothing listens on 80: without the agent the connection is refused.
      expect(await client(topo.client.ns, 'tcp-client', a, 80, 1000)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      const runner = await agent([rule('r1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })]);
      const result = await client(topo.client.ns, 'tcp-client', a, 80, 300_000);
      expect(result).toMatchObject({ ok: true, bytes: 300_000, remote: { port: 80 } });
      const s = await stats(runner);
      expect(s.rules[0]).toMatchObject({ ruleId: 'r1', conversationsTotal: 1 });
      expect(s.rules[0]!.packetsIn).toBeGreaterThan(3);
      expect(s.rules[0]!.packetsOut).toBeGreaterThan(3);
    });

    test(`scenario 1, UDP (${family}): inbound UDP to port 53 answered by the server on 5353`, async () => {
      const a = topo.agent.client[family];
      await start(topo.agent.ns, peerArgs('udp-server', family === 'v4' ? '0.0.0.0' : '::', 5353));
      await agent([rule('u1', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 })]);
      const result = await client(topo.client.ns, 'udp-client', a, 53, 20);
      expect(result).toMatchObject({ ok: true, replies: 20, from: [family === 'v4' ? `${a}:53` : `${a}:53`] });
    });
  }
});
