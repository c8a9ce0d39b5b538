/**
 * The kernel fast path (issue 11) with real packets: conversations the engine only readdresses
 * are handed to nftables, both directions, before the verdict of their first packet. Differential:
 * the same datagrams through the userspace path alone and through the fast path arrive as the
 * same bytes; only the first one crosses to userspace; the kernel-carried packets are counted for
 * the rule exactly (TCP too, up to the last ACK after both FINs, which stay in the kernel); entries leave the kernel after
 * the inactivity timeout, and TCP ones soon after the conversation closed; a rule change leaves
 * offloaded conversations as they were (new ones follow it).
 */
import type { Rule, Settings } from '@portfleet/proto';
import { type Capture, dumpcapMissing, startCapture } from './support/capture';
import { cannotRun, client, NsProcess, peerArgs, runnerArgs, sh, waitFor } from './support/netns';
import { maskedUdp } from './support/packet-compare';
import { usePlane } from './support/plane';
import { describeWhenAble } from '../support/describe-when-able';

jest.setTimeout(90_000);

const SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };
/** Offload from a conversation's first packet, read counters every 200 ms. */
const FAST = { after: 1, pollMs: 200 };
const COUNT = 30;
/** Datagrams sent before waiting for the offload (one: what follows must not race the install). */
const FIRST = 1;

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}): Rule {
  return { id, enabled: true, activityMonitoring: true, selector, forwardAs };
}

interface Stats {
  rules: { ruleId: string; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; conversationsTotal: number }[];
  plane: Record<string, number>;
  fast: { offloaded: number; expired: number; released: number; installFailures: number } | null;
}

describeWhenAble('Linux data plane: kernel fast path', cannotRun() ?? dumpcapMissing(), () => {
  const plane = usePlane('f');
  const { running, start } = plane;

  function agent(rules: Rule[], fastPath: typeof FAST | false, settings = SETTINGS): Promise<NsProcess> {
    return start(plane.topo.agent.ns, runnerArgs({ rules, settings, plane: { fastPath } }), 'ready');
  }

  async function stats(p: NsProcess): Promise<Stats> {
    p.send('stats');
    return (await p.next('stats')) as never;
  }

  /** Both directions of the one conversation reach the kernel (installs follow the packets by a loop turn). */
  async function offloadedBoth(runner: NsProcess): Promise<void> {
    await waitFor(async () => {
      const s = await stats(runner);
      if (s.fast!.offloaded < 2) throw new Error(`offloaded ${s.fast!.offloaded}`);
    }, 5000);
    expect((await stats(runner)).fast).toMatchObject({ offloaded: 2, installFailures: 0 });
  }

  async function stopAgent(p: NsProcess): Promise<void> {
    running.splice(running.indexOf(p), 1);
    await p.stop();
  }

  const wildcard = (family: 'v4' | 'v6') => (family === 'v4' ? '0.0.0.0' : '::');
  /** The peer end of a link (support/netns.ts names them pf<tag><role>p; the agent's is pf<tag>-a). */
  const peerLink = (role: 'c' | 'm') => `pf${plane.topo.agent.ns.slice(2, -2)}${role}p`;

  for (const family of ['v4', 'v6'] as const) {
    test(`differential (${family}): forwarded UDP readdressed to another host arrives as the same bytes with and without the fast path; kernel packets are counted exactly`, async () => {
      const server = plane.topo.server[family];
      const monitor = plane.topo.monitor[family];
      // The client sends to the server's port 53; the agent sends it to the monitor's 5353 (address
      // and port rewritten: pseudo-header checksums change), the monitor's echoes come back as the
      // server's port 53.
      const rules = [rule('d1', { direction: 'inbound', protocol: 'udp', localAddress: server, localPort: 53 }, { localAddress: monitor, localPort: 5353 })];
      await start(plane.topo.monitor.ns, peerArgs('udp-server', monitor, 5353));
      const captured: Record<'userspace' | 'fast', { requests: string[]; replies: string[] }> = {} as never;
      let fastStats: Stats | undefined;
      for (const way of ['userspace', 'fast'] as const) {
        const runner = await agent(rules, way === 'fast' ? FAST : false);
        const caps: Capture[] = [
          await startCapture(plane.topo.monitor.ns, peerLink('m'), 'udp dst port 5353'),
          await startCapture(plane.topo.client.ns, peerLink('c'), 'udp src port 53'),
        ];
        // Same source port both times, so both runs carry the same tuples. First a few datagrams
        // (and their echoes) through the engine; with the fast path on, the rest once both
        // directions are in the kernel.
        expect(await client(plane.topo.client.ns, 'udp-send', server, 53, FIRST, 41053, 20)).toMatchObject({ ok: true, sent: FIRST });
        if (way === 'fast') {
          await waitFor(async () => {
            if ((await stats(runner)).fast!.offloaded < 2) throw new Error('not offloaded yet');
          }, 10_000);
        }
        expect(await client(plane.topo.client.ns, 'udp-send', server, 53, COUNT - FIRST, 41053, 5)).toMatchObject({ ok: true, sent: COUNT - FIRST });
        await new Promise((r) => setTimeout(r, 500));
        const [requests, replies] = await Promise.all(caps.map((c) => c.stop()));
        captured[way] = { requests: requests!.map(maskedUdp), replies: replies!.map(maskedUdp) };
        if (way === 'fast') {
          // Counters read back from the kernel reach the engine within a poll or two.
          await waitFor(async () => {
            const s = await stats(runner);
            if (s.rules[0]!.packetsIn !== COUNT || s.rules[0]!.packetsOut !== COUNT) throw new Error(`counters ${JSON.stringify(s.rules[0])}`);
          }, 5000);
          fastStats = await stats(runner);
        }
        await stopAgent(runner);
      }
      expect(captured.userspace.requests).toHaveLength(COUNT);
      expect(captured.userspace.replies).toHaveLength(COUNT);
      expect(captured.fast.requests).toEqual(captured.userspace.requests);
      expect(captured.fast.replies).toEqual(captured.userspace.replies);
      // Both directions went to the kernel before the first datagram's verdict: it is the only
      // packet that crossed to userspace (its echo, and everything after, found the kernel entries).
      expect(fastStats!.fast).toMatchObject({ offloaded: 2, installFailures: 0 });
      expect(fastStats!.plane.modified).toBe(1);
      expect(fastStats!.rules[0]).toMatchObject({ packetsIn: COUNT, packetsOut: COUNT, conversationsTotal: 1 });
      const payload = COUNT * (family === 'v4' ? 20 + 8 + 15 : 40 + 8 + 15);
      expect(fastStats!.rules[0]).toMatchObject({ bytesIn: payload, bytesOut: payload });
    });

    test(`TCP (${family}): a 5 MB forwarded echo is carried by the kernel after its first packets, both directions`, async () => {
      const server = plane.topo.server[family];
      await start(plane.topo.server.ns, peerArgs('tcp-server', server, 8080));
      const runner = await agent([rule('t1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })], FAST);
      expect(await client(plane.topo.client.ns, 'tcp-client', server, 80, 5_000_000)).toMatchObject({ ok: true, bytes: 5_000_000, remote: { address: server, port: 80 } });
      await offloadedBoth(runner);
    });

    test(`TCP to the agent itself (${family}): both hooks (prerouting in, output back) carried by the kernel`, async () => {
      const a = plane.topo.agent.client[family];
      await start(plane.topo.agent.ns, peerArgs('tcp-server', wildcard(family), 8080));
      const runner = await agent([rule('t2', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })], FAST);
      expect(await client(plane.topo.client.ns, 'tcp-client', a, 80, 5_000_000)).toMatchObject({ ok: true, bytes: 5_000_000, remote: { address: a, port: 80 } });
      await offloadedBoth(runner);
      const maps = await sh(plane.topo.agent.ns, 'nft list table inet portfleet_fast');
      expect(maps).toMatch(new RegExp(`map pre${family === 'v4' ? 4 : 6}tcp[^}]*elements = \\{`));
      expect(maps).toMatch(new RegExp(`map out${family === 'v4' ? 4 : 6}tcp[^}]*elements = \\{`));
    });
  }

  for (const family of ['v4', 'v6'] as const) {
    test(`short TCP connections (${family}): only the SYN crosses (FINs stay in the kernel, which notes them); packets counted exactly up to the last ACK; entries end soon after both FINs`, async () => {
      const server = plane.topo.server[family];
      const CONNECTIONS = 10;
      await start(plane.topo.server.ns, peerArgs('tcp-server', server, 8080));
      const runner = await agent([rule('s1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 })], FAST);
      const cap = await startCapture(plane.topo.client.ns, peerLink('c'), 'tcp port 80');
      for (let n = 0; n < CONNECTIONS; n++) {
        expect(await client(plane.topo.client.ns, 'tcp-client', server, 80, 100)).toMatchObject({ ok: true, bytes: 100 });
      }
      await new Promise((r) => setTimeout(r, 300));
      const packets = await cap.stop();
      const fromClient = packets.filter((p) => (family === 'v4' ? p.readUInt16BE(22) : p.readUInt16BE(42)) === 80).length;
      const toClient = packets.length - fromClient;
      // Each connection's kernel elements time out a few counter reads after its second FIN; the
      // engine has the last packets counted by then (read back before the elements went).
      await waitFor(async () => {
        const s = await stats(runner);
        if (s.fast!.expired < 2 * CONNECTIONS) throw new Error(`not ended yet: ${JSON.stringify(s.fast)}`);
      }, 10_000);
      const s = await stats(runner);
      expect(s.fast).toMatchObject({ offloaded: 2 * CONNECTIONS, expired: 2 * CONNECTIONS, installFailures: 0 });
      expect(s.rules[0]).toMatchObject({ packetsIn: fromClient, packetsOut: toClient, conversationsTotal: CONNECTIONS });
      // The SYN (at most a retransmission more): the FINs were carried by the kernel, which put
      // their entries' marks in its FIN set — the only way the entries could have ended this soon.
      expect(s.plane.modified).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(s.plane.modified).toBeLessThanOrEqual(2 * CONNECTIONS);
      expect(await sh(plane.topo.agent.ns, 'nft list set inet portfleet_fast fins')).not.toContain('elements');
      expect(await sh(plane.topo.agent.ns, `nft list map inet portfleet_fast pre${family === 'v4' ? 4 : 6}tcp`)).not.toContain('elements');
    });
  }

  test('inactivity timeout: the kernel entries end after the UDP timeout; traffic after that goes through the engine again and is offloaded anew', async () => {
    const server = plane.topo.server.v4;
    await start(plane.topo.server.ns, peerArgs('udp-server', server, 5353));
    const runner = await agent([rule('e1', { direction: 'inbound', protocol: 'udp', localPort: 53 }, { localPort: 5353 })], FAST, { ...SETTINGS, udpTimeoutS: 2 });
    expect(await client(plane.topo.client.ns, 'udp-client', server, 53, 10, 42053)).toMatchObject({ ok: true, replies: 10 });
    const offloaded = async (n: number) =>
      waitFor(async () => {
        const s = await stats(runner);
        if (s.fast!.offloaded < n) throw new Error(`offloaded ${s.fast!.offloaded}`);
      }, 5000);
    await offloaded(2);
    expect(await sh(plane.topo.agent.ns, 'nft list map inet portfleet_fast pre4udp')).toContain(`${plane.topo.client.v4} . 42053 . ${server} . 53 `);
    await waitFor(async () => {
      const s = await stats(runner);
      // Whichever notices first: the kernel timing the elements out, or the engine (its
      // conversation saw nothing for the timeout either) having them removed.
      if (s.fast!.expired + s.fast!.released < 2) throw new Error(`not ended yet: ${JSON.stringify(s.fast)}`);
    }, 8000);
    expect(await sh(plane.topo.agent.ns, 'nft list map inet portfleet_fast pre4udp')).not.toContain('elements');
    // Their rewrite elements went with them (removed in the same transaction as the lookups).
    await waitFor(async () => expect(await sh(plane.topo.agent.ns, 'nft list map inet portfleet_fast dport; nft list map inet portfleet_fast sport')).not.toContain('elements'), 2000);
    expect(await client(plane.topo.client.ns, 'udp-client', server, 53, 10, 42053)).toMatchObject({ ok: true, replies: 10, from: [`${server}:53`] });
    await offloaded(4);
    expect((await stats(runner)).fast).toMatchObject({ offloaded: 4, installFailures: 0 });
  });

  test('rule change: an offloaded conversation keeps its translation until its timeout; new conversations follow the new rule', async () => {
    const server = plane.topo.server.v4;
    const monitor = plane.topo.monitor.v4;
    const toMonitor = await start(plane.topo.monitor.ns, peerArgs('udp-sink', monitor, 5353));
    const toServer = await start(plane.topo.server.ns, peerArgs('udp-sink', server, 5353));
    const selector: Rule['selector'] = { direction: 'inbound', protocol: 'udp', localAddress: server, localPort: 53 };
    const runner = await agent([rule('c1', selector, { localAddress: monitor, localPort: 5353 })], FAST);
    expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, 43053, 10)).toMatchObject({ ok: true });
    await waitFor(async () => {
      if ((await stats(runner)).fast!.offloaded < 1) throw new Error('not offloaded yet');
    }, 5000);
    runner.send(JSON.stringify({ rules: [rule('c1', selector, { localPort: 5353 })], settings: SETTINGS }));
    await runner.next('applied');
    expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, 43053, 10)).toMatchObject({ ok: true });
    expect(await client(plane.topo.client.ns, 'udp-send', server, 53, 10, 43054, 10)).toMatchObject({ ok: true });
    await waitFor(async () => {
      if (toMonitor.all('datagram').length < 20 || toServer.all('datagram').length < 10) throw new Error('datagrams missing');
    }, 5000);
    expect(toMonitor.all('datagram').map((d) => d.port)).toEqual(Array(20).fill(43053));
    expect(toServer.all('datagram').map((d) => d.port)).toEqual(Array(10).fill(43054));
    const s = await stats(runner);
    expect(s.rules[0]).toMatchObject({ ruleId: 'c1', conversationsTotal: 2 });
  });
});
