/**
 * Loopback traffic (docs/engine.md "Loopback"): WinDivert reports a packet to a local address
 * only as outbound + loopback, in both directions of the connection, so a locally forwarded port
 * (an inbound rule) must also catch it there. Exact bytes in and out, both directions.
 */
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket, type PacketSpec } from '../packet/build';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { Engine } from './engine';

const LOOP_OUT = PacketFlag.Outbound | PacketFlag.Loopback;
const caps = { kind: 'memory', layer2: false, reflection: true, adapters: true, clone: true };

function engineWith(rules: Rule[]): Engine {
  const engine = new Engine();
  const result = engine.apply({ rules, settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: [], capabilities: caps });
  expect(result).toEqual({ ok: true, errors: [] });
  return engine;
}

function rule(id: string, direction: 'inbound' | 'outbound', protocol: 'tcp' | 'udp', selector: Partial<Rule['selector']>, forwardAs: Rule['forwardAs']): Rule {
  return { id, enabled: true, activityMonitoring: true, selector: { direction, protocol, ...selector }, forwardAs };
}

/** Processes one packet; returns its bytes, verdict, flags and rule index afterwards. */
function run(engine: Engine, spec: PacketSpec, flags: number, nowMs: number) {
  const batch = new PacketBatch(4);
  batch.push(buildPacket(spec), flags, 1);
  engine.process(batch, new PacketBatch(4), nowMs);
  return { bytes: batch.bytes(0), verdict: batch.verdict[0], flags: batch.flags[0], rule: batch.rule[0] };
}

describe.each([
  ['IPv4', '127.0.0.1', 'tcp'],
  ['IPv4', '127.0.0.1', 'udp'],
  ['IPv6', '::1', 'tcp'],
  ['IPv6', '::1', 'udp'],
] as const)('loopback %s (%s) %s to a locally forwarded port', (_family, lo, protocol) => {
  const pkt = (srcPort: number, dstPort: number, text: string): PacketSpec => ({
    protocol,
    src: lo,
    dst: lo,
    srcPort,
    dstPort,
    payload: new TextEncoder().encode(text),
  });

  it('forwards with the inbound rule when no outbound rule matches, both directions, staying outbound', () => {
    const engine = engineWith([rule('fwd', 'inbound', protocol, { localPort: 80 }, { localPort: 8080 })]);
    const first = run(engine, pkt(50000, 80, 'hello'), LOOP_OUT, 1000);
    expect(first).toEqual({ bytes: buildPacket(pkt(50000, 8080, 'hello')), verdict: Verdict.AcceptModified, flags: LOOP_OUT, rule: 0 });
    const reply = run(engine, pkt(8080, 50000, 'world'), LOOP_OUT, 1001);
    expect(reply).toEqual({ bytes: buildPacket(pkt(80, 50000, 'world')), verdict: Verdict.AcceptModified, flags: LOOP_OUT, rule: 0 });
    const again = run(engine, pkt(50000, 80, 'more'), LOOP_OUT, 1002);
    expect(again.bytes).toEqual(buildPacket(pkt(50000, 8080, 'more')));
    // Linux also shows the (already rewritten) packet arriving on lo: it is left alone.
    const arriving = run(engine, pkt(50000, 8080, 'more'), PacketFlag.Loopback, 1003);
    expect(arriving).toEqual({ bytes: buildPacket(pkt(50000, 8080, 'more')), verdict: Verdict.Accept, flags: PacketFlag.Loopback, rule: -1 });
    expect(engine.counters()).toEqual([
      expect.objectContaining({ ruleId: 'fwd', packetsOut: 3, packetsIn: 0, conversationsActive: 1, conversationsTotal: 1 }),
    ]);
    expect(engine.stats().conversations).toBe(1);
  });

  it('prefers a matching outbound rule and turns its replies back on the loopback path too', () => {
    const engine = engineWith([
      rule('in', 'inbound', protocol, { localPort: 80 }, { localPort: 8080 }),
      rule('out', 'outbound', protocol, { remotePort: 80 }, { remotePort: 9090 }),
    ]);
    const first = run(engine, pkt(50000, 80, 'hello'), LOOP_OUT, 1000);
    expect(first).toEqual({ bytes: buildPacket(pkt(50000, 9090, 'hello')), verdict: Verdict.AcceptModified, flags: LOOP_OUT, rule: 1 });
    const reply = run(engine, pkt(9090, 50000, 'world'), LOOP_OUT, 1001);
    expect(reply).toEqual({ bytes: buildPacket(pkt(80, 50000, 'world')), verdict: Verdict.AcceptModified, flags: LOOP_OUT, rule: 1 });
  });

  it('does not try inbound rules for packets that are not loopback', () => {
    const engine = engineWith([rule('fwd', 'inbound', protocol, { localPort: 80 }, { localPort: 8080 })]);
    const plain = run(engine, pkt(50000, 80, 'hello'), PacketFlag.Outbound, 1000);
    expect(plain).toEqual({ bytes: buildPacket(pkt(50000, 80, 'hello')), verdict: Verdict.Accept, flags: PacketFlag.Outbound, rule: -1 });
  });
});
