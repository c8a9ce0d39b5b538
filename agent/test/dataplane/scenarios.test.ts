/**
 * The seed scenarios over the Linux data plane with real traffic: the engine and NFQUEUE run in
 * the agent namespace; real TCP and UDP peers run in the client and server namespaces.
 */
import type { Rule, Settings } from '@portfleet/proto';
import { client, describeDataPlane, NsProcess, peerArgs, runnerArgs, setHosts, sh, waitFor } from './support/netns';
import { usePlane } from './support/plane';

jest.setTimeout(60_000);

const SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}): Rule {
  return { id, enabled: true, activityMonitoring: true, selector, forwardAs };
}

describeDataPlane('Linux data plane: seed scenarios with real traffic', () => {
  const plane = usePlane('s');
  const { running, start } = plane;

  async function agent(rules: Rule[], settings = SETTINGS): Promise<NsProcess> {
    return start(plane.topo.agent.ns, runnerArgs({ rules, settings }), 'ready');
  }

  async function stats(p: NsProcess): Promise<{ rules: { ruleId: string; packetsIn: number; packetsOut: number; conversationsTotal: number }[]; plane: Record<string, number> }> {
    p.send('stats');
    return (await p.next('stats')) as never;
  }

  for (const family of ['v4', 'v6'] as const) {
    test(`scenario 1 (${family}): inbound TCP to port 80 reaches the server on local port 8080`, async () => {
      const a = plane.topo.agent.client[family];
      await start(plane.topo.agent.ns, peerArgs('tcp-server', family === 'v4' ? '0.0.0.0' : '::', 8080));
      // Nothing listens on 80: without the agent the connection is refused.
      expect(await client(plane.topo.client.ns, 'tcp-client', a, 80, 1000)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      const runner = await agent([rule('r1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })]);
      const result = await client(plane.topo.client.ns, 'tcp-client', a, 80, 300_000);
      expect(result).toMatchObject({ ok: true, bytes: 300_000, remote: { port: 80 } });
      // The kernel fast path carries all but the first packets; its counters reach the engine
      // within a counter read (1 s).
      await waitFor(async () => {
        const s = await stats(runner);
        if (s.rules[0]!.packetsIn <= 3 || s.rules[0]!.packetsOut <= 3) throw new Error(`counters ${JSON.stringify(s.rules[0])}`);
      }, 5000);
      expect((await stats(runner)).rules[0]).toMatchObject({ ruleId: 'r1', conversationsTotal: 1 });
    });

    test(`scenario 1 over loopback (${family}): a local client on port 80 reaches the local server on 8080`, async () => {
      await start(plane.topo.agent.ns, peerArgs('tcp-server', family === 'v4' ? '0.0.0.0' : '::', 8080));
      const runner = await agent([rule('l1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })]);
      const loopback = family === 'v4' ? '127.0.0.1' : '::1';
      // Large writes: over loopback single segments and super-packets approach 64 KiB.
      expect(await client(plane.topo.agent.ns, 'tcp-client', loopback, 80, 5_000_000)).toMatchObject({ ok: true, bytes: 5_000_000, remote: { port: 80 } });
      expect(await client(plane.topo.agent.ns, 'tcp-client', plane.topo.agent.client[family], 80, 5_000_000)).toMatchObject({ ok: true, bytes: 5_000_000 });
      expect((await stats(runner)).plane.capped).toBe(0);
    });

    test(`scenario 1, UDP (${family}): inbound UDP to port 53 answered by the server on 5353`, async () => {
      const a = plane.topo.agent.client[family];
      await start(plane.topo.agent.ns, peerArgs('udp-server', family === 'v4' ? '0.0.0.0' : '::', 5353));
      await agent([rule('u1', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 })]);
      const result = await client(plane.topo.client.ns, 'udp-client', a, 53, 20);
      expect(result).toMatchObject({ ok: true, replies: 20, from: [`${a}:53`] });
    });

    test(`scenario 2 (${family}): outbound TCP to a DNS name's port 25 goes to its port 8025`, async () => {
      const server = plane.topo.server[family];
      setHosts(plane.topo.agent.ns, [
        [plane.topo.server.v4, 'mail.portfleet.test'],
        [plane.topo.server.v6, 'mail.portfleet.test'],
      ]);
      await start(plane.topo.server.ns, peerArgs('tcp-server', server, 8025));
      await agent([rule('r2', { direction: 'outbound', protocol: 'tcp', remoteAddress: 'mail.portfleet.test', remotePort: 25 }, { remotePort: 8025 })]);
      const result = await client(plane.topo.agent.ns, 'tcp-client', server, 25, 200_000);
      expect(result).toMatchObject({ ok: true, bytes: 200_000, remote: { port: 25 } });
      // Other ports of the same host are not diverted.
      expect(await client(plane.topo.agent.ns, 'tcp-client', server, 26, 10)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    });

    test(`scenario 2, UDP (${family}): outbound UDP to port 25 answered from port 8025`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.server.ns, peerArgs('udp-server', server, 8025));
      await agent([rule('u2', { direction: 'outbound', protocol: 'udp', remoteAddress: server, remotePort: 25 }, { remotePort: 8025 })]);
      expect(await client(plane.topo.agent.ns, 'udp-client', server, 25, 20)).toMatchObject({ ok: true, replies: 20, from: [`${server}:25`] });
    });

    test(`scenario 3 (${family}): outgoing web traffic passes unchanged and is counted both ways`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.server.ns, peerArgs('tcp-server', server, 80));
      const runner = await agent([rule('r3', { direction: 'outbound', protocol: 'tcp', remotePort: 80 })]);
      expect(await client(plane.topo.agent.ns, 'tcp-client', server, 80, 50_000)).toMatchObject({ ok: true, bytes: 50_000 });
      const s = await stats(runner);
      expect(s.rules[0]).toMatchObject({ ruleId: 'r3', conversationsTotal: 1 });
      expect(s.rules[0]!.packetsOut).toBeGreaterThan(2);
      expect(s.rules[0]!.packetsIn).toBeGreaterThan(2);
      expect(s.plane.modified).toBe(0);
    });

    test(`cloning (${family}): a UDP conversation is copied to a monitor host, the original answered as usual`, async () => {
      const a = plane.topo.agent.client[family];
      const monitor = plane.topo.monitor[family];
      await start(plane.topo.agent.ns, peerArgs('udp-server', family === 'v4' ? '0.0.0.0' : '::', 7000));
      const sink = await start(plane.topo.monitor.ns, peerArgs('udp-sink', family === 'v4' ? '0.0.0.0' : '::', 7000));
      const runner = await agent([rule('c1', { direction: 'inbound', protocol: 'udp', localPort: 7000 }, { clone: true, localAddress: monitor })]);
      expect(await client(plane.topo.client.ns, 'udp-client', a, 7000, 10)).toMatchObject({ ok: true, replies: 10, from: [`${a}:7000`] });
      await waitFor(async () => expect(sink.all('datagram')).toHaveLength(10), 3000);
      expect(sink.all('datagram')[0]).toMatchObject({ from: plane.topo.client[family] });
      expect((await stats(runner)).plane.emitted).toBe(10);
    });

    test(`cloning (${family}): a TCP conversation is copied to a monitor host; the monitor's answers are dropped`, async () => {
      const a = plane.topo.agent.client[family];
      const tool = family === 'v4' ? 'iptables-nft' : 'ip6tables-nft';
      const count = `-p tcp -s ${plane.topo.client[family]} --dport 80`;
      await sh(plane.topo.monitor.ns, `${tool} -A INPUT ${count}`);
      await start(plane.topo.agent.ns, peerArgs('tcp-server', family === 'v4' ? '0.0.0.0' : '::', 80));
      const runner = await agent([rule('c2', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { clone: true, localAddress: plane.topo.monitor[family] })]);
      expect(await client(plane.topo.client.ns, 'tcp-client', a, 80, 100_000)).toMatchObject({ ok: true, bytes: 100_000 });
      const s = await stats(runner);
      // Every client packet was copied to the monitor (nothing listens there: it answers with
      // resets, which the agent drops instead of letting them reach the client).
      const seen = Number(/-c (\d+) /.exec((await sh(plane.topo.monitor.ns, `${tool} -v -S INPUT`)).split('\n').find((l) => l.includes('--dport 80'))!)![1]);
      expect(s.plane.emitted).toBeGreaterThan(10);
      expect(seen).toBe(s.plane.emitted);
      expect(s.plane.dropped).toBeGreaterThan(0);
      await sh(plane.topo.monitor.ns, `${tool} -D INPUT ${count}`);
    });

    test(`scenario 5 (${family}): inbound TCP:80 relayed by mirror reflection to another server's port 8080`, async () => {
      const a = plane.topo.agent.client[family];
      await start(plane.topo.server.ns, peerArgs('tcp-server', plane.topo.server[family], 8080));
      await agent([
        rule('m5', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, {
          reflection: 'mirror',
          localAddress: plane.topo.agent.server[family],
          remoteAddress: plane.topo.server[family],
          remotePort: 8080,
        }),
      ]);
      expect(await client(plane.topo.client.ns, 'tcp-client', a, 80, 100_000)).toMatchObject({ ok: true, bytes: 100_000, remote: { address: a, port: 80 } });
    });

    test(`forwarded traffic (${family}): the agent as a router rewrites TCP passing through it (inbound rule)`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.server.ns, peerArgs('tcp-server', server, 8080));
      await agent([rule('f1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })]);
      expect(await client(plane.topo.client.ns, 'tcp-client', server, 80, 300_000)).toMatchObject({ ok: true, bytes: 300_000, remote: { address: server, port: 80 } });
    });

    test(`forwarded traffic (${family}): TCP passing through is redirected to a server on the agent itself`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.agent.ns, peerArgs('tcp-server', family === 'v4' ? '0.0.0.0' : '::', 8080));
      await agent([rule('f3', { direction: 'inbound', protocol: 'tcp', localAddress: server, localPort: 80 }, { localAddress: plane.topo.agent.client[family], localPort: 8080 })]);
      // Large writes: super-packets arriving for another host end up delivered here whole.
      expect(await client(plane.topo.client.ns, 'tcp-client', server, 80, 5_000_000)).toMatchObject({ ok: true, bytes: 5_000_000, remote: { address: server, port: 80 } });
    });

    test(`forwarded traffic (${family}): the agent as a router rewrites UDP passing through it (outbound rule)`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.server.ns, peerArgs('udp-server', server, 8025));
      await agent([rule('f2', { direction: 'outbound', protocol: 'udp', remoteAddress: server, remotePort: 25 }, { remotePort: 8025 })]);
      expect(await client(plane.topo.client.ns, 'udp-client', server, 25, 20)).toMatchObject({ ok: true, replies: 20, from: [`${server}:25`] });
    });

    test(`adapter (${family}): outbound UDP for one host sent through a chosen adapter to another`, async () => {
      const server = plane.topo.server[family];
      const monitor = plane.topo.monitor[family];
      await start(plane.topo.monitor.ns, peerArgs('udp-server', monitor, 7000));
      const runner = await agent([
        rule('a4', { direction: 'outbound', protocol: 'udp', remoteAddress: server, remotePort: 25 }, { adapter: plane.topo.agent.monitorLink, remoteAddress: monitor, remotePort: 7000 }),
      ]);
      expect(await client(plane.topo.agent.ns, 'udp-client', server, 25, 10)).toMatchObject({ ok: true, replies: 10, from: [`${server}:25`] });
      expect((await stats(runner)).plane.rerouted).toBe(20);
    });

    test(`scenario 4 (${family}): MAC rewrites are refused by the network-layer plane, naming the fields`, async () => {
      const p = new NsProcess(
        plane.topo.agent.ns,
        runnerArgs({
          rules: [
            rule('s4', { direction: 'outbound', protocol: 'tcp', remoteAddress: plane.topo.server[family] }, {
              adapter: plane.topo.agent.monitorLink,
              localAddress: plane.topo.agent.monitor[family],
              remoteAddress: plane.topo.monitor[family],
              localMac: '02:00:00:00:00:01',
              remoteMac: '02:00:00:00:00:02',
            }),
          ],
          settings: SETTINGS,
        }),
      );
      running.push(p);
      const failed = await p.next('failed');
      expect(String(failed.message)).toMatch(/UNSUPPORTED_BY_DATAPLANE/);
      expect(String(failed.message)).toMatch(/forwardAs\.localMac/);
      expect(String(failed.message)).toMatch(/forwardAs\.remoteMac/);
    });

    test(`timeouts (${family}): an idle UDP channel ends after the UDP timeout`, async () => {
      const a = plane.topo.agent.client[family];
      await start(plane.topo.agent.ns, peerArgs('udp-server', family === 'v4' ? '0.0.0.0' : '::', 5353));
      const runner = await agent([rule('t1', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 })], { ...SETTINGS, udpTimeoutS: 1 });
      // The same client port both times: the same conversation, were it not for the timeout.
      expect(await client(plane.topo.client.ns, 'udp-client', a, 53, 3, 40053)).toMatchObject({ ok: true });
      expect((await stats(runner)).rules[0]).toMatchObject({ conversationsActive: 1, conversationsTotal: 1 });
      // All but the first datagram went through the kernel fast path, whose traffic counts as
      // activity when its counters are read (every second): idle from then for the timeout.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await client(plane.topo.client.ns, 'udp-client', a, 53, 3, 40053)).toMatchObject({ ok: true });
      const s = (await stats(runner)) as unknown as { rules: { conversationsActive: number; conversationsTotal: number }[]; engine: { expired: number } };
      expect(s.engine.expired).toBe(1);
      expect(s.rules[0]).toMatchObject({ conversationsActive: 1, conversationsTotal: 2 });
    });
  }
});
