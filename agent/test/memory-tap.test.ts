import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, parseRuleList, type Rule } from '@portfleet/proto';
import { MemoryDataPlane } from '../src/divert/memory';
import { PacketPump } from '../src/divert/pump';
import { TapClient } from '../src/divert/tap-client';
import { PacketFlag, Verdict } from '../src/engine/batch';
import { Engine } from '../src/engine/engine';
import { ipv4Packet, parseIpv4 } from './support/packets';

const ADAPTERS = [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.1'] }];

function rules(input: unknown[]): Rule[] {
  const parsed = parseRuleList(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

/** Real packet bytes through a real socket, the memory data plane, the pump and the real engine. */
describe('memory data plane tap', () => {
  let work: string;
  let plane: MemoryDataPlane;
  let engine: Engine;
  let pumping: Promise<void>;

  async function startPlane(tap: { path: string } | { port: number }) {
    plane = new MemoryDataPlane({ tap, adapters: async () => ADAPTERS });
    engine = new Engine();
    await plane.open();
    pumping = new PacketPump(plane, engine, (error) => {
      throw error;
    }).start();
  }

  function apply(list: unknown[]) {
    const result = engine.apply({ rules: rules(list), settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: ADAPTERS, capabilities: plane.capabilities });
    expect(result).toEqual({ ok: true, errors: [] });
  }

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-tap-'));
  });
  afterEach(async () => {
    await plane.close();
    await pumping;
    rmSync(work, { recursive: true, force: true });
  });

  it('forwards inbound TCP 80 to 8080 and turns the replies back, over a Unix socket', async () => {
    await startPlane({ path: path.join(work, 'tap.sock') });
    apply([{ id: 'web', enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } }]);
    const tap = await TapClient.connect(path.join(work, 'tap.sock'));
    try {
      const syn = ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40000, dport: 80, protocol: 'tcp' });
      const inbound = await tap.send(syn, 0, 2);
      expect(inbound.verdict).toBe(Verdict.AcceptModified);
      expect(inbound.rule).toBe(0);
      expect(inbound.emitted).toEqual([]);
      const rewritten = parseIpv4(inbound.bytes);
      expect(rewritten).toMatchObject({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40000, dport: 8080, ipChecksumOk: true, transportChecksumOk: true });

      const reply = ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.7', sport: 8080, dport: 40000, protocol: 'tcp' });
      const outbound = await tap.send(reply, PacketFlag.Outbound, 2);
      expect(outbound.verdict).toBe(Verdict.AcceptModified);
      expect(parseIpv4(outbound.bytes)).toMatchObject({ sport: 80, dport: 40000, transportChecksumOk: true });

      const other = ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40001, dport: 22, protocol: 'tcp' });
      const untouched = await tap.send(other, 0, 2);
      expect(untouched.verdict).toBe(Verdict.Accept);
      expect(untouched.rule).toBe(-1);
      expect(Buffer.from(untouched.bytes).equals(Buffer.from(other))).toBe(true);

      const [web] = engine.counters();
      expect(web).toMatchObject({ ruleId: 'web', packetsIn: 1, packetsOut: 1, bytesIn: syn.length, bytesOut: reply.length, conversationsTotal: 1 });
    } finally {
      tap.close();
    }
  });

  it('returns clones as emitted packets before the verdict, over loopback TCP', async () => {
    await startPlane({ port: 0 });
    const port = Number(plane.tapAddress()!.split(':').pop());
    apply([
      { id: 'copy', enabled: true, activityMonitoring: true, selector: { direction: 'outbound', protocol: 'udp', remotePort: 53 }, forwardAs: { remoteAddress: '203.0.113.9', clone: true } },
    ]);
    const tap = await TapClient.connect(String(port));
    try {
      const query = ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.53', sport: 5353, dport: 53, protocol: 'udp', payload: new TextEncoder().encode('query') });
      const result = await tap.send(query, PacketFlag.Outbound, 2);
      expect(result.verdict).toBe(Verdict.Accept);
      expect(Buffer.from(result.bytes).equals(Buffer.from(query))).toBe(true);
      expect(result.emitted).toHaveLength(1);
      const copy = parseIpv4(result.emitted[0]!.bytes);
      expect(copy).toMatchObject({ src: '192.0.2.1', dst: '203.0.113.9', sport: 5353, dport: 53, ipChecksumOk: true, transportChecksumOk: true });
      expect(Buffer.from(copy.payload!).toString()).toBe('query');
      expect(result.emitted[0]!.flags & PacketFlag.Outbound).toBe(PacketFlag.Outbound);
    } finally {
      tap.close();
    }
  });

  it('serves several connections and many packets in order', async () => {
    await startPlane({ path: path.join(work, 'tap.sock') });
    apply([{ id: 'web', enabled: true, activityMonitoring: false, selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } }]);
    const clients = await Promise.all([1, 2, 3].map(() => TapClient.connect(path.join(work, 'tap.sock'))));
    try {
      const results = await Promise.all(
        clients.flatMap((tap, c) =>
          Array.from({ length: 100 }, (_, k) => tap.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 10_000 + c * 1000 + k, dport: 80, protocol: 'tcp' }), 0, 2)),
        ),
      );
      results.forEach((result, n) => {
        const c = Math.floor(n / 100);
        const k = n % 100;
        expect(parseIpv4(result.bytes)).toMatchObject({ sport: 10_000 + c * 1000 + k, dport: 8080 });
      });
      expect(engine.counters()[0]).toMatchObject({ packetsIn: 300, conversationsTotal: 300 });
    } finally {
      clients.forEach((c) => c.close());
    }
  });

  it('closes a connection that breaks the protocol and keeps serving others', async () => {
    await startPlane({ path: path.join(work, 'tap.sock') });
    const net = await import('node:net');
    const bad = net.connect(path.join(work, 'tap.sock'));
    await new Promise((resolve) => bad.once('connect', resolve));
    bad.write(Buffer.from([0, 0, 0, 5, 9, 0, 0, 0, 0])); // unknown frame type 9
    await new Promise((resolve) => bad.once('close', resolve));
    const tap = await TapClient.connect(path.join(work, 'tap.sock'));
    try {
      const packet = ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 1, dport: 2, protocol: 'udp' });
      expect((await tap.send(packet, 0, 2)).verdict).toBe(Verdict.Accept);
    } finally {
      tap.close();
    }
  });
});
