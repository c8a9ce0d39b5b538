import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket } from '../packet/build';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { Engine } from './engine';

const caps = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };
const rule = (over: Partial<Rule>): Rule => ({
  id: 'r1',
  enabled: true,
  activityMonitoring: true,
  selector: { direction: 'inbound', protocol: 'tcp' },
  forwardAs: {},
  ...over,
});

describe('Engine with a simple port rule', () => {
  it('forwards inbound TCP 80 to 8080 and turns the replies back into 80', () => {
    const engine = new Engine();
    const result = engine.apply({
      rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
      settings: DEFAULT_SETTINGS,
      resolved: new Map(),
      adapters: [],
      capabilities: caps,
    });
    expect(result).toEqual({ ok: true, errors: [] });
    const batch = new PacketBatch(8);
    const emitted = new PacketBatch(8);
    batch.push(buildPacket({ protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 80 }), 0, 1);
    engine.process(batch, emitted, 1000);
    expect(batch.verdict[0]).toBe(Verdict.AcceptModified);
    expect(batch.bytes(0)).toEqual(buildPacket({ protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 8080 }));
    batch.clear();
    batch.push(
      buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 8080, dstPort: 40000, tcpFlags: 0x12 }),
      PacketFlag.Outbound,
      1,
    );
    engine.process(batch, emitted, 1001);
    expect(batch.verdict[0]).toBe(Verdict.AcceptModified);
    expect(batch.bytes(0)).toEqual(
      buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 80, dstPort: 40000, tcpFlags: 0x12 }),
    );
    expect(engine.counters()).toEqual([
      expect.objectContaining({ ruleId: 'r1', packetsIn: 1, packetsOut: 1, conversationsActive: 1, conversationsTotal: 1, lastHitMs: 1001 }),
    ]);
  });
});

describe('addOffloaded (traffic a data plane carried outside process)', () => {
  it('counts it for the conversation of the tuple and keeps the conversation alive; false for an unknown tuple', () => {
    const engine = new Engine();
    engine.apply({
      rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
      settings: { ...DEFAULT_SETTINGS, tcpTimeoutS: 10 },
      resolved: new Map(),
      adapters: [],
      capabilities: caps,
    });
    const batch = new PacketBatch(8);
    batch.push(buildPacket({ protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 80 }), 0, 1);
    engine.process(batch, new PacketBatch(8), 1000);
    // The reply direction as it arrives: 198.18.0.1:8080 → 198.18.0.2:40000, outbound.
    const reply = Uint32Array.of(0xc6120001, 0, 0, 0, 0xc6120002, 0, 0, 0, ((8080 << 16) | 40000) >>> 0);
    expect(engine.addOffloaded(false, 6, true, reply, 3, 300, 9000)).toBe(true);
    expect(engine.counters()).toEqual([expect.objectContaining({ packetsIn: 1, packetsOut: 3, bytesOut: 300, lastHitMs: 9000 })]);
    // 9 s after the offloaded traffic the conversation is still alive (timeout 10 s from 9000).
    expect(engine.addOffloaded(false, 6, true, reply, 0, 0, 18000)).toBe(true);
    expect(engine.addOffloaded(false, 6, true, Uint32Array.of(1, 0, 0, 0, 2, 0, 0, 0, 3), 1, 1, 18000)).toBe(false);
  });
});

describe('addRuleTraffic (a rule a data plane ran without the engine)', () => {
  it('counts packets, bytes and new conversations for the rule id, in the direction given; false for an id not held', () => {
    const engine = new Engine();
    engine.apply({
      rules: [rule({ id: 'k1', selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
      settings: DEFAULT_SETTINGS,
      resolved: new Map(),
      adapters: [],
      capabilities: caps,
    });
    expect(engine.addRuleTraffic('k1', false, 5, 500, 2, 7000)).toBe(true);
    expect(engine.addRuleTraffic('k1', true, 4, 300, 0, 7100)).toBe(true);
    expect(engine.addRuleTraffic('gone', true, 1, 1, 1, 7200)).toBe(false);
    expect(engine.counters()).toEqual([
      { ruleId: 'k1', packetsIn: 5, bytesIn: 500, packetsOut: 4, bytesOut: 300, conversationsActive: 0, conversationsTotal: 2, lastHitMs: 7100 },
    ]);
  });
});

describe('conversation table', () => {
  const portRule = rule({ selector: { direction: 'inbound', protocol: 'udp', localPort: 53 }, forwardAs: { localPort: 5353 } });
  const applyTo = (engine: Engine, settings = DEFAULT_SETTINGS) =>
    expect(engine.apply({ rules: [portRule], settings, resolved: new Map(), adapters: [], capabilities: caps }).ok).toBe(true);
  const query = (srcPort: number) => buildPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort, dstPort: 53 });

  it('evicts (and counts) the least recently seen of a few when full', () => {
    const engine = new Engine({ maxConversations: 4 });
    applyTo(engine);
    const batch = new PacketBatch(8);
    for (let p = 1; p <= 5; p++) batch.push(query(p), 0, 1);
    engine.process(batch, new PacketBatch(1), 1);
    expect(engine.stats()).toMatchObject({ conversations: 4, evictions: 1 });
    expect(engine.counters()[0]).toMatchObject({ conversationsActive: 4, conversationsTotal: 5 });
  });

  it('holds as many clone conversations (three keys each) as conversation numbers, then evicts, and keeps the new one working', () => {
    const engine = new Engine({ maxConversations: 8 });
    const cloneRule = rule({ selector: { direction: 'inbound', protocol: 'udp', localPort: 53 }, forwardAs: { localPort: 5353, clone: true } });
    expect(engine.apply({ rules: [cloneRule], settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: [], capabilities: caps }).ok).toBe(true);
    const batch = new PacketBatch(9);
    const emitted = new PacketBatch(9);
    for (let p = 1; p <= 8; p++) batch.push(query(p), 0, 1);
    engine.process(batch, emitted, 1);
    expect(engine.stats()).toMatchObject({ conversations: 8, evictions: 0 });
    batch.clear();
    batch.push(query(9), 0, 1);
    engine.process(batch, emitted, 2);
    expect(engine.stats()).toMatchObject({ conversations: 8, evictions: 1 });
    expect(emitted.count).toBe(9);
    expect(emitted.bytes(8)).toEqual(buildPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 9, dstPort: 5353 }));
    // The reply to the newest copy is dropped: its reverse key is in the table.
    batch.clear();
    batch.push(buildPacket({ protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 5353, dstPort: 9 }), PacketFlag.Outbound, 1);
    engine.process(batch, emitted, 3);
    expect(batch.verdict[0]).toBe(Verdict.Drop);
  });

  it('expires idle conversations by sweeping, without packets for them', () => {
    const engine = new Engine({ maxConversations: 8 });
    applyTo(engine, { ...DEFAULT_SETTINGS, udpTimeoutS: 1 });
    const batch = new PacketBatch(8);
    for (let p = 1; p <= 3; p++) batch.push(query(p), 0, 1);
    engine.process(batch, new PacketBatch(1), 0);
    batch.clear();
    engine.process(batch, new PacketBatch(1), 1_001);
    expect(engine.stats()).toMatchObject({ conversations: 0, expired: 3 });
    expect(engine.counters()[0]).toMatchObject({ conversationsActive: 0, conversationsTotal: 3 });
  });

  it('survives clock values beyond 2^32 ms and clocks that step back', () => {
    const engine = new Engine({ maxConversations: 8 });
    applyTo(engine, { ...DEFAULT_SETTINGS, udpTimeoutS: 10 });
    const batch = new PacketBatch(2);
    const at = (nowMs: number) => {
      batch.clear();
      batch.push(query(7), 0, 1);
      engine.process(batch, new PacketBatch(1), nowMs);
      return batch.verdict[0];
    };
    const start = 1_700_000_000_000;
    expect(at(start)).toBe(Verdict.AcceptModified);
    expect(at(start + 2 ** 32)).toBe(Verdict.AcceptModified); // far later: a new conversation
    expect(engine.stats()).toMatchObject({ expired: 1, conversations: 1 });
    expect(at(start + 2 ** 32 + 5_000)).toBe(Verdict.AcceptModified);
    expect(at(start)).toBe(Verdict.AcceptModified); // clock stepped back: the conversation lives on
    expect(engine.stats()).toMatchObject({ expired: 1, conversations: 1 });
  });

  it('gives a tuple to the newest conversation when two transform onto it (counted)', () => {
    // Two clients mirrored to one server port from one local port: their replies look the same.
    const engine = new Engine({ maxConversations: 8 });
    const relay = rule({
      selector: { direction: 'inbound', protocol: 'udp', localPort: 53 },
      forwardAs: { remoteAddress: '198.18.0.3', remotePort: 5353, reflection: 'mirror' },
    });
    engine.apply({ rules: [relay], settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: [], capabilities: caps });
    const batch = new PacketBatch(4);
    batch.push(buildPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 1000, dstPort: 53 }), 0, 1);
    batch.push(buildPacket({ protocol: 'udp', src: '198.18.0.4', dst: '198.18.0.1', srcPort: 1000, dstPort: 53 }), 0, 1);
    engine.process(batch, new PacketBatch(1), 1);
    expect(engine.stats()).toMatchObject({ conversations: 1, collisions: 1 });
    batch.clear();
    batch.push(buildPacket({ protocol: 'udp', src: '198.18.0.3', dst: '198.18.0.1', srcPort: 5353, dstPort: 53 }), 0, 1);
    engine.process(batch, new PacketBatch(1), 2);
    expect(batch.bytes(0)).toEqual(buildPacket({ protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.4', srcPort: 53, dstPort: 1000 }));
  });
});

describe('packets the engine does not rewrite', () => {
  const engine = new Engine();
  engine.apply({
    rules: [rule({ selector: { direction: 'inbound', protocol: 'udp' }, forwardAs: { localPort: 9 } })],
    settings: DEFAULT_SETTINGS,
    resolved: new Map(),
    adapters: [],
    capabilities: caps,
  });

  it('passes fragments unchanged and counts them', () => {
    const fragment = buildPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 1, dstPort: 2 });
    fragment[6] = 0x20; // more fragments
    fragment[10] = fragment[11] = 0; // checksum is not looked at
    const batch = new PacketBatch(1);
    batch.push(fragment, 0, 1);
    engine.process(batch, new PacketBatch(1), 1);
    expect([batch.verdict[0], batch.rule[0]]).toEqual([Verdict.Accept, -1]);
    expect(batch.bytes(0)).toEqual(fragment);
    expect(engine.stats().fragments).toBe(1);
  });
});

describe('UDP checksums', () => {
  const engine = new Engine();
  engine.apply({
    rules: [rule({ selector: { direction: 'inbound', protocol: 'udp' }, forwardAs: { localPort: 9 } })],
    settings: DEFAULT_SETTINGS,
    resolved: new Map(),
    adapters: [],
    capabilities: caps,
  });
  const udp = (srcPort: number, dstPort: number, payload: Uint8Array, udpNoChecksum = false) =>
    buildPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort, dstPort, payload, udpNoChecksum });

  it('leaves an IPv4 datagram without checksum (0) without one', () => {
    const batch = new PacketBatch(1);
    batch.push(udp(1000, 53, Uint8Array.of(1, 2, 3), true), 0, 1);
    engine.process(batch, new PacketBatch(1), 1);
    expect(batch.bytes(0)).toEqual(udp(1000, 9, Uint8Array.of(1, 2, 3), true));
  });

  it('sends a computed zero as 0xffff', () => {
    // Find a payload word whose rewritten datagram sums to a zero checksum.
    const payload = new Uint8Array(2);
    for (let w = 0; w < 65536; w++) {
      payload[0] = w >>> 8;
      payload[1] = w & 255;
      const expected = udp(1001, 9, payload);
      if (expected[26] === 0xff && expected[27] === 0xff) break;
    }
    const batch = new PacketBatch(1);
    batch.push(udp(1001, 53, payload), 0, 1);
    engine.process(batch, new PacketBatch(1), 1);
    expect(Array.from(batch.bytes(0).subarray(26, 28))).toEqual([0xff, 0xff]);
    expect(batch.bytes(0)).toEqual(udp(1001, 9, payload));
  });
});

describe('many conversations (the hash-and-warm pass runs from 16,384 on)', () => {
  it('handles established, new, malformed and unmatched packets alike in one batch', () => {
    const engine = new Engine({ maxConversations: 20_000 });
    engine.apply({
      rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
      settings: DEFAULT_SETTINGS,
      resolved: new Map(),
      adapters: [],
      capabilities: caps,
    });
    const client = (n: number) => `198.18.${n >>> 8}.${n & 255}`;
    const request = (n: number, port = 80) => buildPacket({ protocol: 'tcp', src: client(n), dst: '198.19.0.1', srcPort: 40000, dstPort: port });
    const batch = new PacketBatch(256);
    const none = new PacketBatch(1);
    for (let n = 0; n < 17_000; n += 256) {
      batch.clear();
      for (let k = n; k < Math.min(n + 256, 17_000); k++) batch.push(request(k), 0, 1);
      engine.process(batch, none, 1);
    }
    expect(engine.stats().conversations).toBe(17_000);
    batch.clear();
    batch.push(request(5), 0, 1); // established
    batch.push(Uint8Array.of(0x45, 0, 0), 0, 1); // malformed
    batch.push(buildPacket({ protocol: 'tcp', src: '198.19.0.1', dst: client(6), srcPort: 8080, dstPort: 40000 }), PacketFlag.Outbound, 1); // reply
    batch.push(request(17_001), 0, 1); // new
    batch.push(request(7, 22), 0, 1); // no rule
    engine.process(batch, none, 2);
    expect(Array.from(batch.verdict.subarray(0, 5))).toEqual([
      Verdict.AcceptModified,
      Verdict.Accept,
      Verdict.AcceptModified,
      Verdict.AcceptModified,
      Verdict.Accept,
    ]);
    expect(batch.bytes(0)).toEqual(request(5, 8080));
    expect(batch.bytes(2)).toEqual(buildPacket({ protocol: 'tcp', src: '198.19.0.1', dst: client(6), srcPort: 80, dstPort: 40000 }));
    expect(batch.bytes(3)).toEqual(request(17_001, 8080));
    expect(engine.stats()).toMatchObject({ conversations: 17_001, malformed: 1 });
  });
});
