/**
 * Kernel rules (issue 11, round 4) with real packets: a rule whose translation is a destination
 * rewrite runs as conntrack NAT, first packet included. Differential: the same UDP datagrams and
 * TCP connections (SYN, ACK, data both ways, FINs) through the userspace engine and through the
 * kernel rules arrive as the same bytes at the far ends, both directions; no packet crosses to
 * userspace; the kernel's counters reach the engine's per-rule counters exactly. A rule change
 * leaves an open conversation on its old translation on both paths; a rule that meets one left
 * in userspace stays there too; traffic between two local addresses still goes through the
 * engine; closing removes the table.
 */
import type { Rule, Settings } from '@portfleet/proto';
import { type Capture, dumpcapMissing, startCapture } from './support/capture';
import { cannotRun, client, NsProcess, peerArgs, runnerArgs, sh, waitFor } from './support/netns';
import { usePlane } from './support/plane';
import { maskedTcp, maskedUdp } from './support/packet-compare';
import { describeWhenAble } from '../support/describe-when-able';

jest.setTimeout(120_000);

const SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };
const KERNEL = { kernelRules: { pollMs: 200 }, fastPath: false } as const;
const USERSPACE = { kernelRules: false, fastPath: false } as const;
const DATAGRAMS = 30;
const CONNECTIONS = 3;
const TCP_BYTES = 1000;

type Way = 'userspace' | 'kernel';

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}): Rule {
  return { id, enabled: true, activityMonitoring: true, selector, forwardAs };
}

interface Stats {
  rules: { ruleId: string; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; conversationsTotal: number }[];
  plane: Record<string, number>;
  kernel: { compiled: number; applyFailures: number; reads: number } | null;
}

describeWhenAble('Linux data plane: kernel rules', cannotRun() ?? dumpcapMissing(), () => {
  const plane = usePlane('k', async (t) => {
    // TCP timestamps carry a per-connection random offset: off at the ends, so the two runs' TCP
    // packets can be compared whole (sequence numbers are made relative to their SYNs).
    for (const ns of [t.client.ns, t.server.ns, t.monitor.ns]) await sh(ns, 'sysctl -qw net.ipv4.tcp_timestamps=0');
  });
  const { running, start } = plane;

  function agent(rules: Rule[], way: Way, settings = SETTINGS): Promise<NsProcess> {
    return start(plane.topo.agent.ns, runnerArgs({ rules, settings, plane: way === 'kernel' ? KERNEL : USERSPACE }), 'ready');
  }

  async function stats(p: NsProcess): Promise<Stats> {
    p.send('stats');
    return (await p.next('stats')) as never;
  }

  async function stopAgent(p: NsProcess): Promise<void> {
    running.splice(running.indexOf(p), 1);
    await p.stop();
  }

  /** The peer end of a link (support/netns.ts names them pf<tag><role>p). */
  const peerLink = (role: 'c' | 'm') => `pf${plane.topo.agent.ns.slice(2, -2)}${role}p`;
  const l4At = (p: Buffer) => (p[0]! >>> 4 === 4 ? (p[0]! & 15) * 4 : 40);
  const srcPort = (p: Buffer) => p.readUInt16BE(l4At(p));
  const dstPort = (p: Buffer) => p.readUInt16BE(l4At(p) + 2);
  const protocolOf = (p: Buffer) => (p[0]! >>> 4 === 4 ? p[9]! : p[6]!);

  for (const family of ['v4', 'v6'] as const) {
    test(`differential (${family}): forwarded UDP and TCP readdressed to another host are the same bytes through the engine and through the kernel rules; nothing crosses; counters exact`, async () => {
      const server = plane.topo.server[family];
      const monitor = plane.topo.monitor[family];
      // Client → server:53/udp and :80/tcp become monitor:5353 and :8080 (address and port
      // rewritten: pseudo-header checksums change); the answers come back as the server's.
      const rules = [
        rule('u', { direction: 'inbound', protocol: 'udp', localAddress: server, localPort: 53 }, { localAddress: monitor, localPort: 5353 }),
        rule('t', { direction: 'inbound', protocol: 'tcp', localAddress: server, localPort: 80 }, { localAddress: monitor, localPort: 8080 }),
      ];
      await start(plane.topo.monitor.ns, peerArgs('udp-server', monitor, 5353));
      await start(plane.topo.monitor.ns, peerArgs('tcp-server', monitor, 8080));
      const seen = {} as Record<Way, { atMonitor: string[]; atClient: string[] }>;
      let kernelStats: Stats | undefined;
      let atClient: Buffer[] = [];
      for (const way of ['userspace', 'kernel'] as const) {
        const runner = await agent(rules, way);
        if (way === 'kernel') expect((await stats(runner)).kernel).toMatchObject({ compiled: 2, applyFailures: 0 });
        const caps: Capture[] = [
          await startCapture(plane.topo.monitor.ns, peerLink('m'), 'udp port 5353 or tcp port 8080'),
          await startCapture(plane.topo.client.ns, peerLink('c'), 'udp port 53 or tcp port 80'),
        ];
        expect(await client(plane.topo.client.ns, 'udp-send', server, 53, DATAGRAMS, 41053, 5)).toMatchObject({ ok: true, sent: DATAGRAMS });
        const clientPorts: number[] = [];
        for (let n = 0; n < CONNECTIONS; n++) {
          const done = (await client(plane.topo.client.ns, 'tcp-pattern', server, 80, TCP_BYTES)) as { ok: boolean; local: { port: number }; remote: { address: string; port: number } };
          expect(done).toMatchObject({ ok: true, bytes: TCP_BYTES, remote: { address: server, port: 80 } });
          clientPorts.push(done.local.port);
        }
        await new Promise((r) => setTimeout(r, 500));
        const [monitorSide, clientSide] = await Promise.all(caps.map((c) => c.stop()));
        // Per protocol and connection, each direction in capture order (how the two directions
        // interleave at a capture point is timing, not bytes).
        const toService = (p: Buffer) => [53, 80, 5353, 8080].includes(dstPort(p));
        const byDirection = (packets: Buffer[], masked: string[]) => [
          ...masked.filter((_, k) => toService(packets[k]!)),
          ...masked.filter((_, k) => !toService(packets[k]!)),
        ];
        const comparable = (packets: Buffer[]) => {
          const udp = packets.filter((p) => protocolOf(p) === 17);
          return [
            ...byDirection(udp, udp.map(maskedUdp)),
            ...clientPorts.flatMap((port) => {
              const tcp = packets.filter((p) => protocolOf(p) === 6 && (srcPort(p) === port || dstPort(p) === port));
              return byDirection(tcp, maskedTcp(tcp, port));
            }),
          ];
        };
        seen[way] = { atMonitor: comparable(monitorSide!), atClient: comparable(clientSide!) };
        if (way === 'kernel') {
          atClient = clientSide!;
          const fromClient = (p: Buffer, proto: number) => protocolOf(p) === proto && (dstPort(p) === 53 || dstPort(p) === 80);
          const expected = (proto: number) => ({
            packetsIn: atClient.filter((p) => fromClient(p, proto)).length,
            packetsOut: atClient.filter((p) => protocolOf(p) === proto && !fromClient(p, proto)).length,
          });
          await waitFor(async () => {
            const s = await stats(runner);
            const [u, t] = [s.rules.find((r) => r.ruleId === 'u'), s.rules.find((r) => r.ruleId === 't')];
            expect(u).toMatchObject(expected(17));
            expect(t).toMatchObject(expected(6));
          }, 5000);
          kernelStats = await stats(runner);
        }
        await stopAgent(runner);
      }
      expect(seen.userspace.atMonitor.length).toBeGreaterThanOrEqual(2 * DATAGRAMS + CONNECTIONS * 7);
      expect(seen.kernel.atMonitor).toEqual(seen.userspace.atMonitor);
      expect(seen.kernel.atClient).toEqual(seen.userspace.atClient);
      // Not one packet crossed to userspace; the counters are the kernel's, read back.
      expect(kernelStats!.plane.received).toBe(0);
      const u = kernelStats!.rules.find((r) => r.ruleId === 'u')!;
      const t = kernelStats!.rules.find((r) => r.ruleId === 't')!;
      expect(u).toMatchObject({ packetsIn: DATAGRAMS, packetsOut: DATAGRAMS, conversationsTotal: 1 });
      const payload = DATAGRAMS * (family === 'v4' ? 20 + 8 + 15 : 40 + 8 + 15);
      expect(u).toMatchObject({ bytesIn: payload, bytesOut: payload });
      expect(t.conversationsTotal).toBe(CONNECTIONS);
      const tcpBytes = (toServer: boolean) => atClient.filter((p) => protocolOf(p) === 6 && (dstPort(p) === 80) === toServer).reduce((sum, p) => sum + p.length, 0);
      expect(t).toMatchObject({ bytesIn: tcpBytes(true), bytesOut: tcpBytes(false) });
      // Closing removed the table.
      expect(await sh(plane.topo.agent.ns, 'nft list tables')).not.toContain('portfleet_rules');
    });
  }

  for (const way of ['userspace', 'kernel'] as const) {
    test(`rule change (${way}): an open conversation keeps its translation; new conversations follow the new rule`, async () => {
      const server = plane.topo.server.v4;
      const monitor = plane.topo.monitor.v4;
      const toMonitor = await start(plane.topo.monitor.ns, peerArgs('udp-sink', monitor, 5353));
      const toServer = await start(plane.topo.server.ns, peerArgs('udp-sink', server, 5353));
      const selector: Rule['selector'] = { direction: 'inbound', protocol: 'udp', localAddress: server, localPort: 53 };
      const runner = await agent([rule('c1', selector, { localAddress: monitor, localPort: 5353 })], way);
      const sport = way === 'kernel' ? 44053 : 45053;
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, sport, 10)).toMatchObject({ ok: true });
      runner.send(JSON.stringify({ rules: [rule('c1', selector, { localPort: 5353 })], settings: SETTINGS }));
      await runner.next('applied');
      if (way === 'kernel') expect((await stats(runner)).kernel).toMatchObject({ compiled: 1 });
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, sport, 10)).toMatchObject({ ok: true });
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, sport + 1, 10)).toMatchObject({ ok: true });
      await waitFor(async () => {
        if (toMonitor.all('datagram').length < 20 || toServer.all('datagram').length < 10) throw new Error('datagrams missing');
      }, 5000);
      expect(toMonitor.all('datagram').map((d) => d.port)).toEqual(Array(20).fill(sport));
      expect(toServer.all('datagram').map((d) => d.port)).toEqual(Array(10).fill(sport + 1));
      await waitFor(async () => expect((await stats(runner)).rules[0]).toMatchObject({ ruleId: 'c1', conversationsTotal: 2, packetsIn: 30 }), 5000);
      if (way === 'kernel') expect((await stats(runner)).plane.received).toBe(0);
    });
  }

  for (const way of ['userspace', 'kernel'] as const) {
    test(`inactivity timeout (${way}): after the UDP timeout a conversation is over, and the same tuple follows the rule as it is now`, async () => {
      const server = plane.topo.server.v4;
      const monitor = plane.topo.monitor.v4;
      const toMonitor = await start(plane.topo.monitor.ns, peerArgs('udp-sink', monitor, 5353));
      const toServer = await start(plane.topo.server.ns, peerArgs('udp-sink', server, 5353));
      const selector: Rule['selector'] = { direction: 'inbound', protocol: 'udp', localAddress: server, localPort: 53 };
      const settings = { ...SETTINGS, udpTimeoutS: 2 };
      const runner = await agent([rule('i1', selector, { localAddress: monitor, localPort: 5353 })], way, settings);
      const sport = way === 'kernel' ? 49053 : 50053;
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 5, sport, 10)).toMatchObject({ ok: true });
      runner.send(JSON.stringify({ rules: [rule('i1', selector, { localPort: 5353 })], settings }));
      await runner.next('applied');
      // Within the timeout: the conversation as it was.
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 5, sport, 10)).toMatchObject({ ok: true });
      await waitFor(async () => expect(toMonitor.all('datagram')).toHaveLength(10), 5000);
      await new Promise((r) => setTimeout(r, 3500));
      expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 5, sport, 10)).toMatchObject({ ok: true });
      await waitFor(async () => expect(toServer.all('datagram')).toHaveLength(5), 5000);
      expect(toMonitor.all('datagram')).toHaveLength(10);
      await waitFor(async () => expect((await stats(runner)).rules[0]).toMatchObject({ conversationsTotal: 2, packetsIn: 15 }), 5000);
    });
  }

  test('a rule that meets one left in userspace stays in userspace (and forwards there); one apart is compiled; local traffic still goes through the engine', async () => {
    const server = plane.topo.server.v4;
    const a = plane.topo.agent.client.v4;
    await start(plane.topo.server.ns, peerArgs('tcp-server', server, 8080));
    await start(plane.topo.server.ns, peerArgs('udp-server', server, 5353));
    await start(plane.topo.agent.ns, peerArgs('udp-server', '0.0.0.0', 5353));
    const rules = [
      rule('fwd', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 }),
      // Monitoring what goes to port 8080: the forward's replies are its flows too.
      rule('mon', { direction: 'outbound', protocol: 'tcp', remotePort: 8080 }),
      rule('dns', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 }),
    ];
    const runner = await agent(rules, 'kernel');
    expect((await stats(runner)).kernel).toMatchObject({ compiled: 1, applyFailures: 0 });
    const table = await sh(plane.topo.agent.ns, 'nft list table inet portfleet_rules');
    expect(table).toContain('dnat ip to ip daddr:5353');
    expect(table).not.toContain(':8080');
    expect(await client(plane.topo.client.ns, 'tcp-client', server, 80, 10_000)).toMatchObject({ ok: true, bytes: 10_000 });
    const afterTcp = (await stats(runner)).plane.received;
    expect(afterTcp).toBeGreaterThan(0);
    // The compiled rule, forwarded and to the agent itself: the kernel.
    expect(await client(plane.topo.client.ns, 'udp-client', server, 53, 5, 46053)).toMatchObject({ ok: true, replies: 5, from: [`${server}:53`] });
    expect(await client(plane.topo.client.ns, 'udp-client', a, 53, 5, 46054)).toMatchObject({ ok: true, replies: 5, from: [`${a}:53`] });
    expect((await stats(runner)).plane.received).toBe(afterTcp);
    // From the agent's own host to its own address: the loopback lane, through the engine.
    expect(await client(plane.topo.agent.ns, 'udp-client', a, 53, 5, 46055)).toMatchObject({ ok: true, replies: 5, from: [`${a}:53`] });
    expect((await stats(runner)).plane.received).toBeGreaterThanOrEqual(afterTcp + 10);
  });

  test('SIGKILL leaves the table (its NAT keeps forwarding); a restart leaves exactly one and SIGTERM none', async () => {
    const server = plane.topo.server.v4;
    await start(plane.topo.server.ns, peerArgs('udp-server', server, 5353));
    const rules = [rule('dns', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 })];
    const first = await agent(rules, 'kernel');
    running.splice(running.indexOf(first), 1);
    await first.stop('SIGKILL');
    expect(await sh(plane.topo.agent.ns, 'nft list tables')).toContain('portfleet_rules');
    expect(await client(plane.topo.client.ns, 'udp-client', server, 53, 5, 48053)).toMatchObject({ ok: true, replies: 5 });
    const second = await agent(rules, 'kernel');
    expect((await sh(plane.topo.agent.ns, 'nft list tables')).match(/portfleet_rules/g)).toHaveLength(1);
    expect(await client(plane.topo.client.ns, 'udp-client', server, 53, 5, 47053)).toMatchObject({ ok: true, replies: 5 });
    await stopAgent(second);
    expect(await sh(plane.topo.agent.ns, 'nft list tables')).not.toContain('portfleet_rules');
  });
});
