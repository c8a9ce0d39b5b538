/**
 * Properties over generated rules and packets (fast-check): a conversation's reverse direction is
 * the exact inverse of its forward direction, the engine never throws, malformed packets pass
 * unchanged and are counted, and every rewritten packet has valid checksums.
 */
import fc from 'fast-check';
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket } from '../packet/build';
import { sumWords } from '../packet/checksum';
import { PacketView, ParseStatus } from '../packet/view';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { Engine } from './engine';

const CAPS = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };
const ADAPTERS = [
  { name: 'eth0', index: 1, macs: [], addresses: [] },
  { name: 'eth1', index: 2, macs: [], addresses: [] },
];

const port = fc.integer({ min: 1, max: 65535 });
const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((o) => o.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => ['fd00', ...g.slice(1).map((x) => x.toString(16))].join(':'));
const mac = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));

interface Case {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  outbound: boolean;
  layer2: boolean;
  local: string;
  remote: string;
  localPort: number;
  remotePort: number;
  localMac: string;
  remoteMac: string;
  payload: Uint8Array;
  udpNoChecksum: boolean;
  forward: Rule['forwardAs'];
  select: { localPort: boolean; remotePort: boolean; localAddress: boolean; remoteAddress: boolean; localMac: boolean };
}

const caseArb: fc.Arbitrary<Case> = fc.oneof(fc.constant(4 as const), fc.constant(6 as const)).chain((family) => {
  const addr = family === 4 ? v4 : v6;
  return fc.record({
    family: fc.constant(family),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    outbound: fc.boolean(),
    layer2: fc.boolean(),
    local: addr,
    remote: addr,
    localPort: port,
    remotePort: port,
    localMac: mac,
    remoteMac: mac,
    payload: fc.uint8Array({ maxLength: 40 }),
    udpNoChecksum: fc.boolean().map((b) => b && family === 4),
    forward: fc.record(
      {
        localPort: port,
        remotePort: port,
        localAddress: addr,
        remoteAddress: addr,
        localMac: mac,
        remoteMac: mac,
        adapter: fc.constantFrom('eth0', 'eth1'),
        reflection: fc.constantFrom('none' as const, 'mirror' as const, 'route' as const),
      },
      { requiredKeys: [] },
    ),
    select: fc.record({ localPort: fc.boolean(), remotePort: fc.boolean(), localAddress: fc.boolean(), remoteAddress: fc.boolean(), localMac: fc.boolean() }),
  });
});

function ruleFor(c: Case): Rule {
  return {
    id: 'p',
    enabled: true,
    activityMonitoring: false,
    selector: {
      direction: c.outbound ? 'outbound' : 'inbound',
      protocol: c.protocol,
      ...(c.select.localPort ? { localPort: c.localPort } : {}),
      ...(c.select.remotePort ? { remotePort: c.remotePort } : {}),
      ...(c.select.localAddress ? { localAddress: c.local } : {}),
      ...(c.select.remoteAddress ? { remoteAddress: c.remote } : {}),
      ...(c.select.localMac && c.layer2 ? { localMac: c.localMac } : {}),
    },
    forwardAs: c.forward,
  };
}

/** The first packet of the case's conversation: local/remote mapped by direction. */
function firstPacket(c: Case): Uint8Array {
  const [src, dst, srcPort, dstPort] = c.outbound ? [c.local, c.remote, c.localPort, c.remotePort] : [c.remote, c.local, c.remotePort, c.localPort];
  const [srcMac, dstMac] = c.outbound ? [c.localMac, c.remoteMac] : [c.remoteMac, c.localMac];
  return buildPacket({
    protocol: c.protocol,
    src,
    dst,
    srcPort,
    dstPort,
    payload: c.payload,
    udpNoChecksum: c.udpNoChecksum,
    ...(c.layer2 ? { ethernet: { src: srcMac, dst: dstMac } } : {}),
  });
}

/** The reply a peer sends to `bytes`: addresses, ports and MACs swapped, same payload. */
function replyTo(bytes: Uint8Array, layer2: boolean): Uint8Array {
  const out = Uint8Array.from(bytes);
  const pv = new PacketView();
  expect(pv.parse(out, 0, out.length, layer2)).toBe(ParseStatus.Ok);
  const len = pv.family === 4 ? 4 : 16;
  swap(out, pv.src, pv.dst, len);
  swap(out, pv.l4, pv.l4 + 2, 2);
  if (layer2) swap(out, 0, 6, 6);
  return out; // checksums stay valid: both are sums over the same words
}

/** Equal from the IP header on (Ethernet headers aside). */
function sameIp(a: Uint8Array, b: Uint8Array, layer2: boolean): boolean {
  const from = layer2 ? 14 : 0;
  return Buffer.compare(a.subarray(from), b.subarray(from)) === 0;
}

function swap(b: Uint8Array, a: number, c: number, n: number): void {
  for (let i = 0; i < n; i++) [b[a + i], b[c + i]] = [b[c + i]!, b[a + i]!];
}

/** Header and transport checksums verify (one's-complement sum 0xffff), from scratch. */
function checksumsValid(bytes: Uint8Array, layer2: boolean): boolean {
  const pv = new PacketView();
  if (pv.parse(bytes, 0, bytes.length, layer2) !== ParseStatus.Ok) return false;
  if (pv.family === 4 && sumWords(bytes, pv.l3, pv.l3 + ((bytes[pv.l3]! & 15) << 2)) !== 0xffff) return false;
  if (pv.protocol === 17 && pv.family === 4 && bytes[pv.checksum] === 0 && bytes[pv.checksum + 1] === 0) return true;
  const alen = pv.family === 4 ? 4 : 16;
  let sum = sumWords(bytes, pv.src, pv.src + alen);
  sum = sumWords(bytes, pv.dst, pv.dst + alen, sum);
  sum = sumWords(bytes, pv.l4, pv.l4 + pv.l4Length, sum + pv.protocol + pv.l4Length);
  return sum === 0xffff;
}

function engineFor(rule: Rule): Engine {
  const engine = new Engine({ maxConversations: 16 });
  const applied = engine.apply({ rules: [rule], settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: ADAPTERS, capabilities: CAPS });
  if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
  return engine;
}

function run(engine: Engine, bytes: Uint8Array, flags: number, ifIndex: number, emitted = new PacketBatch(2)) {
  const batch = new PacketBatch(1);
  batch.push(bytes, flags, ifIndex);
  engine.process(batch, emitted, 1);
  return { bytes: batch.bytes(0), verdict: batch.verdict[0]!, flags: batch.flags[0]!, ifIndex: batch.ifIndex[0]!, rule: batch.rule[0]! };
}

describe('engine properties', () => {
  it('reverse(forward(p)) restores addresses, ports and MACs, with valid checksums both ways', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const engine = engineFor(ruleFor(c));
        const flags = (c.outbound ? PacketFlag.Outbound : 0) | (c.layer2 ? PacketFlag.Layer2 : 0);
        const first = firstPacket(c);
        const fwd = run(engine, first, flags, 1);
        expect(fwd.rule).toBe(0);
        expect(checksumsValid(fwd.bytes, c.layer2)).toBe(true);
        // The peer that receives the output answers it; the answer arrives from the other side.
        const reply = replyTo(fwd.bytes, c.layer2);
        // A packet turned back to its own sender with the same address and port at both ends has
        // a reply with its own tuple and direction: conversations are keyed by those, so no
        // engine can tell the two apart (whatever the MACs say).
        fc.pre(!(sameIp(reply, first, c.layer2) && (fwd.flags ^ PacketFlag.Outbound) === flags));
        const back = run(engine, reply, fwd.flags ^ PacketFlag.Outbound, fwd.ifIndex);
        expect(back.rule).toBe(0);
        expect(checksumsValid(back.bytes, c.layer2)).toBe(true);
        // The original sender gets exactly the reply to its own packet, from where it sent it.
        expect(Buffer.from(back.bytes).toString('hex')).toBe(Buffer.from(replyTo(first, c.layer2)).toString('hex'));
        expect(back.flags).toBe(flags ^ PacketFlag.Outbound);
        expect(back.ifIndex).toBe(1);
      }),
      { numRuns: 400 },
    );
  });

  it('a clone leaves the original untouched, emits a valid copy and drops replies to it', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const rule = ruleFor(c);
        rule.forwardAs = { ...rule.forwardAs, clone: true };
        const engine = engineFor(rule);
        const flags = (c.outbound ? PacketFlag.Outbound : 0) | (c.layer2 ? PacketFlag.Layer2 : 0);
        const first = firstPacket(c);
        const emitted = new PacketBatch(2);
        const fwd = run(engine, first, flags, 1, emitted);
        expect([fwd.verdict, fwd.bytes]).toEqual([Verdict.Accept, first]);
        expect(emitted.count).toBe(1);
        const copy = emitted.bytes(0);
        expect(checksumsValid(copy, c.layer2)).toBe(true);
        const copyReply = replyTo(copy, c.layer2);
        const originalReply = replyTo(first, c.layer2);
        // A reply to the copy identical to the original packet itself cannot be told apart from it.
        fc.pre(!(sameIp(copyReply, first, c.layer2) && (emitted.flags[0]! ^ PacketFlag.Outbound) === flags));
        const answer = run(engine, copyReply, emitted.flags[0]! ^ PacketFlag.Outbound, emitted.ifIndex[0]!);
        // Keys are IP tuples and directions: a copy's reply that matches the original's reply there
        // is taken as the original's (passed), whatever its MACs.
        const sameAsOriginalReply = sameIp(copyReply, originalReply, c.layer2) && (emitted.flags[0]! ^ PacketFlag.Outbound) === (flags ^ PacketFlag.Outbound);
        expect(answer.verdict).toBe(sameAsOriginalReply ? Verdict.Accept : Verdict.Drop);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on any byte string, and passes what it does not handle unchanged', () => {
    const rules: Rule[] = [
      { id: 'a', enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp' }, forwardAs: { localPort: 1, reflection: 'mirror' } },
      { id: 'b', enabled: true, activityMonitoring: true, selector: { direction: 'outbound', protocol: 'udp' }, forwardAs: { remotePort: 2, clone: true } },
      { id: 'c', enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'udp' }, forwardAs: { remoteMac: '02:00:00:00:00:01' } },
    ];
    const engine = new Engine({ maxConversations: 8 });
    expect(engine.apply({ rules, settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: ADAPTERS, capabilities: CAPS }).ok).toBe(true);
    const pv = new PacketView();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 120 }), fc.nat(7)), { minLength: 1, maxLength: 20 }), (packets) => {
        const batch = new PacketBatch(32);
        const emitted = new PacketBatch(4);
        packets.forEach(([bytes, flags]) => batch.push(bytes, flags, 1));
        const before = engine.stats().malformed;
        engine.process(batch, emitted, 1);
        let malformed = 0;
        packets.forEach(([bytes, flags], i) => {
          const status = pv.parse(bytes, 0, bytes.length, (flags & PacketFlag.Layer2) !== 0);
          if (status === ParseStatus.Malformed) malformed++;
          if (status !== ParseStatus.Ok || batch.verdict[i] === Verdict.Accept) expect(batch.bytes(i)).toEqual(bytes);
        });
        expect(engine.stats().malformed - before).toBe(malformed);
      }),
      { numRuns: 500 },
    );
  });

  it('a truncated packet is malformed: passed unchanged, counted, no conversation', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), (c, cut) => {
        const rule = ruleFor(c);
        const engine = engineFor(rule);
        const whole = firstPacket(c);
        const bytes = whole.slice(0, cut % whole.length);
        const flags = (c.outbound ? PacketFlag.Outbound : 0) | (c.layer2 ? PacketFlag.Layer2 : 0);
        const out = run(engine, bytes, flags, 1);
        expect([out.verdict, out.rule, out.bytes]).toEqual([Verdict.Accept, -1, bytes]);
        expect(engine.stats()).toMatchObject({ malformed: 1, conversations: 0 });
      }),
      { numRuns: 300 },
    );
  });
});
