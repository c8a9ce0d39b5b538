/** Engine.apply: host checks per rule and field, all-or-nothing replacement, rule order. */
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket } from '../packet/build';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { type ApplyInput, Engine } from './engine';

const ALL = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };
const L3 = { kind: 'nfqueue', layer2: false, reflection: true, adapters: false, clone: false };
const ADAPTERS = [{ name: 'eth0', index: 3, macs: [], addresses: [] }];

let n = 0;
function rule(selector: Partial<Rule['selector']>, forwardAs: Rule['forwardAs'] = {}, more: Partial<Rule> = {}): Rule {
  return { id: `r${++n}`, enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp', ...selector }, forwardAs, ...more };
}
function input(rules: Rule[], over: Partial<ApplyInput> = {}): ApplyInput {
  return { rules, settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: ADAPTERS, capabilities: ALL, ...over };
}
function send(engine: Engine, spec: Parameters<typeof buildPacket>[0], flags = 0, ifIndex = 3, nowMs = 1) {
  const batch = new PacketBatch(1);
  batch.push(buildPacket(spec), flags, ifIndex);
  engine.process(batch, new PacketBatch(1), nowMs);
  return { bytes: batch.bytes(0), verdict: batch.verdict[0], rule: batch.rule[0] };
}
const toHost = (dstPort: number, src = '198.18.0.2', dst = '198.18.0.1') => ({ protocol: 'tcp' as const, src, dst, srcPort: 40000, dstPort });

describe('Engine.apply checks what only the host knows', () => {
  it('names each field the data plane cannot do', () => {
    const rules = [
      rule({ localMac: '02:00:00:00:00:01' }),
      rule({}, { remoteMac: '02:00:00:00:00:02', adapter: 'eth0' }),
      rule({}, { clone: true }),
      rule({ adapter: 'eth0' }),
    ];
    const result = new Engine().apply(input(rules, { capabilities: L3 }));
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => [e.ruleIndex, e.field, e.code])).toEqual([
      [0, 'selector.localMac', 'UNSUPPORTED_BY_DATAPLANE'],
      [1, 'forwardAs.remoteMac', 'UNSUPPORTED_BY_DATAPLANE'],
      [1, 'forwardAs.adapter', 'UNSUPPORTED_BY_DATAPLANE'],
      [2, 'forwardAs.clone', 'UNSUPPORTED_BY_DATAPLANE'],
      [3, 'selector.adapter', 'UNSUPPORTED_BY_DATAPLANE'],
    ]);
    expect(result.errors[0]!.message).toContain('nfqueue');
    expect(result.errors.map((e) => e.ruleId)).toEqual([rules[0]!.id, rules[1]!.id, rules[1]!.id, rules[2]!.id, rules[3]!.id]);
  });

  it('rejects names that did not resolve and adapters the host does not have', () => {
    const result = new Engine().apply(input([rule({ remoteAddress: 'nowhere.test' }), rule({}, { adapter: 'wlan9' })]));
    expect(result.errors.map((e) => [e.ruleIndex, e.field, e.code])).toEqual([
      [0, 'selector.remoteAddress', 'DNS_UNRESOLVED'],
      [1, 'forwardAs.adapter', 'UNKNOWN_ADAPTER'],
    ]);
    expect(result.errors[1]!.message).toContain('eth0 (3)');
  });

  it('rejects a rule whose addresses leave no common family', () => {
    const result = new Engine().apply(
      input([rule({ remoteAddress: '198.18.0.9' }, { remoteAddress: 'fd00::9' }), rule({ localAddress: 'v6only.test' }, { localAddress: '198.18.0.1' })], {
        resolved: new Map([['v6only.test', ['fd00::1']]]),
      }),
    );
    expect(result.errors.map((e) => [e.ruleIndex, e.field, e.code])).toEqual([
      [0, 'forwardAs.remoteAddress', 'ADDRESS_FAMILY_MISMATCH'],
      [1, 'forwardAs.localAddress', 'ADDRESS_FAMILY_MISMATCH'],
    ]);
  });

  it('checks disabled rules too, so a list never applies with a latent error', () => {
    const result = new Engine().apply(input([rule({ remoteAddress: 'nowhere.test' }, {}, { enabled: false })]));
    expect(result.errors.map((e) => e.code)).toEqual(['DNS_UNRESOLVED']);
  });
});

describe('Engine.apply replaces the list atomically', () => {
  it('keeps the last good list when a new one fails', () => {
    const engine = new Engine();
    expect(engine.apply(input([rule({ localPort: 80 }, { localPort: 8080 })])).ok).toBe(true);
    expect(engine.apply(input([rule({ localPort: 80 }, { localPort: 9090 }), rule({}, { adapter: 'nope' })])).ok).toBe(false);
    expect(send(engine, toHost(80)).bytes).toEqual(buildPacket(toHost(8080)));
  });

  it('lets live conversations keep their transformation until they time out', () => {
    const engine = new Engine();
    const old = rule({ localPort: 80 }, { localPort: 8080 });
    engine.apply(input([old]));
    send(engine, toHost(80), 0, 3, 1_000);
    const replacement = rule({ localPort: 80 }, { localPort: 9090 });
    engine.apply(input([replacement], { settings: { ...DEFAULT_SETTINGS, tcpTimeoutS: 10 } }));
    // The existing conversation still goes to 8080 and still counts for the old rule.
    expect(send(engine, toHost(80), 0, 3, 2_000)).toMatchObject({ bytes: buildPacket(toHost(8080)), rule: -1 });
    expect(engine.counters().map((c) => [c.ruleId, c.conversationsActive, c.packetsIn])).toEqual([
      [old.id, 1, 2],
      [replacement.id, 0, 0],
    ]);
    // A new conversation takes the new rule.
    expect(send(engine, { ...toHost(80), srcPort: 40001 }, 0, 3, 2_000).bytes).toEqual(buildPacket({ ...toHost(9090), srcPort: 40001 }));
    // After the (new list's) timeout the old conversation is gone, and so is its rule's counter.
    expect(send(engine, toHost(80), 0, 3, 12_001)).toMatchObject({ bytes: buildPacket(toHost(9090)), rule: 0 });
    engine.apply(input([replacement]));
    expect(engine.counters().map((c) => c.ruleId)).toEqual([replacement.id]);
  });

  it('keeps counting for a rule that keeps its id across lists', () => {
    const engine = new Engine();
    const r = rule({ localPort: 80 });
    engine.apply(input([r]));
    send(engine, toHost(80));
    engine.apply(input([rule({ localPort: 22 }), r]));
    send(engine, { ...toHost(80), srcPort: 40001 });
    const counted = engine.counters().find((c) => c.ruleId === r.id)!;
    expect([counted.packetsIn, counted.conversationsTotal]).toEqual([2, 2]);
  });
});

describe('matching', () => {
  it('takes the first matching rule and skips disabled ones', () => {
    const engine = new Engine();
    engine.apply(
      input([
        rule({ localPort: 80 }, { localPort: 1 }, { enabled: false }),
        rule({ localPort: 80 }, { localPort: 2 }),
        rule({ localPort: 80 }, { localPort: 3 }),
      ]),
    );
    expect(send(engine, toHost(80))).toMatchObject({ bytes: buildPacket(toHost(2)), rule: 1 });
  });

  it('matches every A and AAAA address of a name and rewrites to the first of the family', () => {
    const engine = new Engine();
    const resolved = new Map([
      ['peers.test', ['198.18.0.7', 'fd00::7', '198.18.0.8']],
      ['target.test', ['fd00::99', '198.18.0.99', '198.18.0.98']],
    ]);
    engine.apply(input([rule({ remoteAddress: 'peers.test' }, { localAddress: 'target.test' })], { resolved }));
    for (const [peer, target] of [
      ['198.18.0.7', '198.18.0.99'],
      ['198.18.0.8', '198.18.0.99'],
      ['fd00::7', 'fd00::99'],
    ]) {
      const local = peer.includes(':') ? 'fd00::1' : '198.18.0.1';
      expect(send(engine, toHost(80, peer, local)).bytes).toEqual(buildPacket(toHost(80, peer, target)));
    }
    expect(send(engine, toHost(80, '198.18.0.9')).verdict).toBe(Verdict.Accept);
  });

  it('matches MACs only on layer-2 frames and the adapter by index', () => {
    const engine = new Engine();
    engine.apply(input([rule({ remoteMac: '02:00:00:00:00:02', adapter: 'eth0' }, { localPort: 8080 })]));
    const frame = (src: string) => ({ ...toHost(80), ethernet: { src, dst: '02:00:00:00:00:01' } });
    expect(send(engine, frame('02:00:00:00:00:02'), PacketFlag.Layer2).verdict).toBe(Verdict.AcceptModified);
    expect(send(engine, { ...frame('02:00:00:00:00:03'), srcPort: 2 }, PacketFlag.Layer2).verdict).toBe(Verdict.Accept);
    expect(send(engine, { ...frame('02:00:00:00:00:02'), srcPort: 3 }, PacketFlag.Layer2, 4).verdict).toBe(Verdict.Accept);
    expect(send(engine, { ...toHost(80), srcPort: 4 }).verdict).toBe(Verdict.Accept);
  });

  it('handles only its direction and protocol', () => {
    const engine = new Engine();
    engine.apply(input([rule({ localPort: 80 }, { localPort: 8080 })]));
    expect(send(engine, { ...toHost(80), protocol: 'udp' }).verdict).toBe(Verdict.Accept);
    expect(send(engine, { ...toHost(80), srcPort: 1 }, PacketFlag.Outbound).verdict).toBe(Verdict.Accept);
  });
});
