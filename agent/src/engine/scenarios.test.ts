/**
 * SPEC §2 acceptance scenarios, each in TCP and UDP over IPv4 and IPv6: real packet bytes in,
 * exact bytes out, both directions of the conversation. Expected packets are built from scratch
 * with full checksums (packet/build.ts), independent of the engine's incremental updates; at the
 * end tshark (a decoder we did not write) re-checks every checksum the engine produced.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket, type PacketSpec, toHex } from '../packet/build';
import { writePcap, type PcapRecord } from '../packet/pcap';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { Engine } from './engine';

type Family = 4 | 6;
type Protocol = 'tcp' | 'udp';

const ADDR = {
  4: { host: '198.18.0.1', host2: '198.19.0.1', hostAlt: '198.18.0.10', client: '198.18.0.2', server: '198.18.0.3', far: '198.18.9.9', monitor: '198.18.0.99', mail: '198.18.5.25' },
  6: { host: 'fd00::1', host2: 'fd00:1::1', hostAlt: 'fd00::10', client: 'fd00::2', server: 'fd00::3', far: 'fd00:9::9', monitor: 'fd00::99', mail: 'fd00:5::25' },
} as const;
const MAC = {
  host: '02:00:00:00:00:01',
  host2: '02:00:00:00:01:01',
  client: '02:00:00:00:00:02',
  server: '02:00:00:00:00:03',
  gateway: '02:00:00:00:00:fe',
  gateway2: '02:00:00:00:01:fe',
  monitor: '02:00:00:00:00:99',
};
const ADAPTERS = [
  { name: 'eth0', index: 1, macs: [MAC.host], addresses: ['198.18.0.1', 'fd00::1'] },
  { name: 'eth1', index: 2, macs: [MAC.host2], addresses: ['198.19.0.1', 'fd00:1::1'] },
];
const RESOLVED = new Map([['mail.example.test', ['198.18.5.25', 'fd00:5::25']]]);
const CAPS = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };

interface Packet {
  spec: Omit<PacketSpec, 'protocol'>;
  flags: number;
  ifIndex: number;
}
interface Step {
  what: string;
  input: Packet;
  /** Expected packet after processing; omitted: the bytes must not change. */
  output?: Packet;
  verdict: number;
  emitted?: Packet[];
  atMs?: number;
  /** No rule handles this packet (rule index -1, not counted). */
  unhandled?: true;
}
interface Scenario {
  name: string;
  rules: Rule[];
  steps: Step[];
  tcpTimeoutS?: number;
}

const IN = 0;
const OUT = PacketFlag.Outbound;
const L2 = PacketFlag.Layer2;

function rule(selector: Rule['selector'], forwardAs: Rule['forwardAs'], id = 'r1'): Rule {
  return { id, enabled: true, activityMonitoring: true, selector, forwardAs };
}

function scenarios(protocol: Protocol, family: Family): Scenario[] {
  const a = ADDR[family];
  const payload = new TextEncoder().encode(protocol === 'tcp' ? 'GET / HTTP/1.1\r\n\r\n' : 'ping');
  const reply = new TextEncoder().encode(protocol === 'tcp' ? 'HTTP/1.1 200 OK\r\n\r\n' : 'pong');
  const p = (src: string, srcPort: number, dst: string, dstPort: number, flags: number, ifIndex = 1, more: Partial<PacketSpec> = {}): Packet => ({
    spec: { src, dst, srcPort, dstPort, payload: flags & OUT ? reply : payload, ...more },
    flags,
    ifIndex,
  });
  // The reply direction of a step carries the reply payload; `flip` keeps payloads tied to the original packet.
  const withPayload = (packet: Packet, bytes: Uint8Array): Packet => ({ ...packet, spec: { ...packet.spec, payload: bytes } });
  const eth = (src: string, dst: string) => ({ ethernet: { src, dst } });
  // IPv4: record-route-sized NOP/EOL options; IPv6: hop-by-hop + destination options headers.
  const headers: Partial<PacketSpec> =
    family === 4
      ? { ipv4Options: Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 0) }
      : { ipv6Extensions: [{ type: 0, body: Uint8Array.of(1, 4, 0, 0, 0, 0) }, { type: 60, body: Uint8Array.of(1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }] };
  return [
    {
      name: '1. inbound to local port 80 is forwarded to local port 8080',
      rules: [rule({ direction: 'inbound', protocol, localPort: 80 }, { localPort: 8080 })],
      steps: [
        { what: 'client → :80', input: p(a.client, 40000, a.host, 80, IN), output: p(a.client, 40000, a.host, 8080, IN), verdict: Verdict.AcceptModified },
        { what: 'server :8080 answers', input: p(a.host, 8080, a.client, 40000, OUT), output: p(a.host, 80, a.client, 40000, OUT), verdict: Verdict.AcceptModified },
        { what: 'client again', input: p(a.client, 40000, a.host, 80, IN), output: p(a.client, 40000, a.host, 8080, IN), verdict: Verdict.AcceptModified },
        { what: 'another port is not touched', input: p(a.client, 40001, a.host, 81, IN), verdict: Verdict.Accept, unhandled: true },
      ],
    },
    {
      name: "2. outbound to a DNS name's port 25 goes to its port 8025",
      rules: [rule({ direction: 'outbound', protocol, remoteAddress: 'mail.example.test', remotePort: 25 }, { remotePort: 8025 })],
      steps: [
        { what: 'host → mail:25', input: p(a.host, 50000, a.mail, 25, OUT), output: p(a.host, 50000, a.mail, 8025, OUT), verdict: Verdict.AcceptModified },
        { what: 'mail:8025 answers', input: p(a.mail, 8025, a.host, 50000, IN), output: p(a.mail, 25, a.host, 50000, IN), verdict: Verdict.AcceptModified },
        { what: 'another host :25 is not touched', input: p(a.host, 50001, a.far, 25, OUT), verdict: Verdict.Accept, unhandled: true },
      ],
    },
    {
      name: '3. monitoring only: outgoing web traffic unchanged, counted both ways',
      rules: [rule({ direction: 'outbound', protocol, remotePort: 80 }, {})],
      steps: [
        { what: 'request', input: p(a.host, 50000, a.far, 80, OUT), verdict: Verdict.Accept },
        { what: 'response', input: p(a.far, 80, a.host, 50000, IN), verdict: Verdict.Accept },
      ],
    },
    {
      name: '4. traffic for one remote host leaves through another adapter with new local address and MACs',
      rules: [
        rule(
          { direction: 'outbound', protocol, remoteAddress: a.far },
          { localAddress: a.host2, localMac: MAC.host2, remoteMac: MAC.gateway2, adapter: 'eth1' },
        ),
      ],
      steps: [
        {
          what: 'host → far via eth0',
          input: p(a.host, 50000, a.far, 443, OUT | L2, 1, eth(MAC.host, MAC.gateway)),
          output: p(a.host2, 50000, a.far, 443, OUT | L2, 2, eth(MAC.host2, MAC.gateway2)),
          verdict: Verdict.Reroute,
        },
        {
          what: 'far answers on eth1',
          input: p(a.far, 443, a.host2, 50000, IN | L2, 2, eth(MAC.gateway2, MAC.host2)),
          output: p(a.far, 443, a.host, 50000, IN | L2, 1, eth(MAC.gateway, MAC.host)),
          verdict: Verdict.Reroute,
        },
      ],
    },
    {
      name: "5. inbound :80 relayed to another server's :8080 by mirror reflection",
      rules: [
        rule(
          { direction: 'inbound', protocol, localPort: 80 },
          { localAddress: a.hostAlt, remoteAddress: a.server, remotePort: 8080, localMac: MAC.host, remoteMac: MAC.server, reflection: 'mirror' },
        ),
      ],
      steps: [
        {
          what: 'client → host:80 goes out to server:8080',
          input: p(a.client, 40000, a.host, 80, IN | L2, 1, eth(MAC.client, MAC.host)),
          output: withPayload(p(a.hostAlt, 80, a.server, 8080, OUT | L2, 1, eth(MAC.host, MAC.server)), payload),
          verdict: Verdict.Reroute,
        },
        {
          what: 'server answers through the host',
          input: withPayload(p(a.server, 8080, a.hostAlt, 80, IN | L2, 1, eth(MAC.server, MAC.host)), reply),
          output: p(a.host, 80, a.client, 40000, OUT | L2, 1, eth(MAC.host, MAC.client)),
          verdict: Verdict.Reroute,
        },
      ],
    },
    {
      name: 'route reflection turns a packet around with source and destination kept',
      rules: [rule({ direction: 'inbound', protocol, localPort: 80 }, { localAddress: a.server, reflection: 'route' })],
      steps: [
        {
          what: 'client → host:80 is routed on to the server',
          input: p(a.client, 40000, a.host, 80, IN),
          output: withPayload(p(a.client, 40000, a.server, 80, OUT), payload),
          verdict: Verdict.Reroute,
        },
        {
          what: "the server's answer (through this host) is turned back",
          input: withPayload(p(a.server, 80, a.client, 40000, IN), reply),
          output: p(a.host, 80, a.client, 40000, OUT),
          verdict: Verdict.Reroute,
        },
      ],
    },
    {
      name: 'cloning a conversation to a monitor host',
      rules: [
        rule(
          { direction: 'inbound', protocol, localPort: 80 },
          { remoteAddress: a.monitor, remoteMac: MAC.monitor, reflection: 'mirror', clone: true },
        ),
      ],
      steps: [
        {
          what: 'the original passes, a copy goes to the monitor',
          input: p(a.client, 40000, a.host, 80, IN | L2, 1, eth(MAC.client, MAC.host)),
          verdict: Verdict.Accept,
          emitted: [withPayload(p(a.host, 80, a.monitor, 40000, OUT | L2, 1, eth(MAC.host, MAC.monitor)), payload)],
        },
        { what: "the local server's answer passes", input: p(a.host, 80, a.client, 40000, OUT | L2, 1, eth(MAC.host, MAC.client)), verdict: Verdict.Accept },
        {
          what: "the monitor's answer to the copy is dropped",
          input: withPayload(p(a.monitor, 40000, a.host, 80, IN | L2, 1, eth(MAC.monitor, MAC.host)), reply),
          verdict: Verdict.Drop,
        },
      ],
    },
    {
      name: 'IPv4 options and IPv6 extension headers are kept (rewrite behind them)',
      rules: [rule({ direction: 'inbound', protocol, localPort: 80 }, { localPort: 8080, remoteAddress: a.far })],
      steps: [
        {
          what: 'client → :80 with options / extension headers',
          input: p(a.client, 40000, a.host, 80, IN, 1, headers),
          output: p(a.far, 40000, a.host, 8080, IN, 1, headers),
          verdict: Verdict.AcceptModified,
        },
        {
          what: 'the answer with them too',
          input: p(a.host, 8080, a.far, 40000, OUT, 1, headers),
          output: p(a.host, 80, a.client, 40000, OUT, 1, headers),
          verdict: Verdict.AcceptModified,
        },
      ],
    },
    {
      name: 'a timeout ends the channel',
      tcpTimeoutS: 5,
      rules: [rule({ direction: 'inbound', protocol, localPort: 80 }, { localPort: 8080 })],
      steps: [
        { what: 'opens', input: p(a.client, 40000, a.host, 80, IN), output: p(a.client, 40000, a.host, 8080, IN), verdict: Verdict.AcceptModified, atMs: 0 },
        { what: 'reply within the timeout', input: p(a.host, 8080, a.client, 40000, OUT), output: p(a.host, 80, a.client, 40000, OUT), verdict: Verdict.AcceptModified, atMs: 4_000 },
        { what: 'reply after the timeout is not translated', input: p(a.host, 8080, a.client, 40000, OUT), verdict: Verdict.Accept, atMs: 9_001, unhandled: true },
        { what: 'a new packet opens it again', input: p(a.client, 40000, a.host, 80, IN), output: p(a.client, 40000, a.host, 8080, IN), verdict: Verdict.AcceptModified, atMs: 9_002 },
      ],
    },
  ];
}

const written: PcapRecord[] = [];
const COMBINATIONS = [
  ['tcp', 4],
  ['tcp', 6],
  ['udp', 4],
  ['udp', 6],
] as const;
/** Packets the scenarios produce: every step's output plus every emitted copy. */
const producedCount = COMBINATIONS.flatMap(([protocol, family]) => scenarios(protocol, family))
  .flatMap((s) => s.steps)
  .reduce((n, step) => n + 1 + (step.emitted?.length ?? 0), 0);

function bytesOf(protocol: Protocol, packet: Packet): Uint8Array {
  return buildPacket({ protocol, ...packet.spec });
}

describe.each(COMBINATIONS)('%s over IPv%d', (protocol, family) => {
  for (const scenario of scenarios(protocol, family)) {
    it(scenario.name, () => {
      const engine = new Engine({ maxConversations: 64 });
      const timeout = scenario.tcpTimeoutS ?? 300;
      const applied = engine.apply({
        rules: scenario.rules,
        settings: { ...DEFAULT_SETTINGS, tcpTimeoutS: timeout, udpTimeoutS: timeout },
        resolved: RESOLVED,
        adapters: ADAPTERS,
        capabilities: CAPS,
      });
      expect(applied).toEqual({ ok: true, errors: [] });
      const batch = new PacketBatch(4);
      const emitted = new PacketBatch(4);
      scenario.steps.forEach((step, n) => {
        batch.clear();
        emitted.clear();
        const input = bytesOf(protocol, step.input);
        batch.push(input, step.input.flags, step.input.ifIndex);
        engine.process(batch, emitted, step.atMs ?? 1000 + n);
        const expected = step.output ?? step.input;
        const label = `${step.what}: `;
        expect(label + toHex(batch.bytes(0))).toBe(label + toHex(bytesOf(protocol, expected)));
        expect([step.what, batch.verdict[0], batch.flags[0], batch.ifIndex[0]]).toEqual([step.what, step.verdict, expected.flags, expected.ifIndex]);
        expect([step.what, batch.rule[0]]).toEqual([step.what, step.unhandled ? -1 : 0]);
        expect(emitted.count).toBe(step.emitted?.length ?? 0);
        step.emitted?.forEach((copy, k) => {
          expect(label + toHex(emitted.bytes(k))).toBe(label + toHex(bytesOf(protocol, copy)));
          expect([emitted.flags[k], emitted.ifIndex[k], emitted.verdict[k]]).toEqual([copy.flags, copy.ifIndex, Verdict.Reroute]);
          written.push({ bytes: emitted.bytes(k), layer2: (copy.flags & L2) !== 0 });
        });
        written.push({ bytes: batch.bytes(0), layer2: (step.input.flags & L2) !== 0 });
      });
      // Every packet the rule handled is counted once, in the direction it arrived.
      const handled = scenario.steps.filter((s) => !s.unhandled);
      const [counted] = engine.counters();
      expect([counted!.packetsIn, counted!.packetsOut]).toEqual([
        handled.filter((s) => !(s.input.flags & OUT)).length,
        handled.filter((s) => s.input.flags & OUT).length,
      ]);
    });
  }
});

describe('monitoring counters', () => {
  it.each([4, 6] as const)('count both directions of a monitored conversation (IPv%d)', (family) => {
    const a = ADDR[family];
    const engine = new Engine();
    engine.apply({ rules: [rule({ direction: 'outbound', protocol: 'tcp', remotePort: 80 }, {})], settings: DEFAULT_SETTINGS, resolved: RESOLVED, adapters: ADAPTERS, capabilities: CAPS });
    const batch = new PacketBatch(4);
    const request = buildPacket({ protocol: 'tcp', src: a.host, dst: a.far, srcPort: 50000, dstPort: 80 });
    const response = buildPacket({ protocol: 'tcp', src: a.far, dst: a.host, srcPort: 80, dstPort: 50000, payload: new Uint8Array(10) });
    batch.push(request, OUT, 1);
    batch.push(response, IN, 1);
    batch.push(request, OUT, 1);
    engine.process(batch, new PacketBatch(1), 77);
    expect(Array.from(batch.rule.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(engine.counters()).toEqual([
      {
        ruleId: 'r1',
        packetsIn: 1,
        bytesIn: response.length,
        packetsOut: 2,
        bytesOut: 2 * request.length,
        conversationsActive: 1,
        conversationsTotal: 1,
        lastHitMs: 77,
      },
    ]);
  });
});

const TSHARK = '/usr/bin/tshark';
const haveTshark = existsSync(TSHARK);
const ci = process.env.CI === 'true' || process.env.CI === '1';

/** Checksum status per frame as tshark sees it: [ip, tcp, udp], each '1' good, '0' bad, '' absent. */
function tsharkChecksums(records: PcapRecord[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'engine-oracle-'));
  try {
    const file = join(dir, 'out.pcap');
    writeFileSync(file, writePcap(records));
    const out = execFileSync(
      TSHARK,
      [
        '-r', file, '-n',
        '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=,',
        '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', 'udp.checksum',
      ],
      { encoding: 'utf8' },
    );
    return out.trim().split('\n').map((line) => line.split(','));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('independent checksum oracle (tshark)', () => {
  // Under CI the oracle must run; locally it needs Debian's tshark (apt-get install tshark).
  const maybe = haveTshark || ci ? it : it.skip;

  maybe('confirms every checksum of every packet the engine produced', () => {
    expect(written).toHaveLength(producedCount);
    const statuses = tsharkChecksums(written);
    expect(statuses).toHaveLength(written.length);
    statuses.forEach(([ip, tcp, udp, udpField], i) => {
      const frame = `frame ${i + 1}`;
      if (ip !== '') expect(`${frame} ip ${ip}`).toBe(`${frame} ip 1`);
      expect(`${frame} transport ${tcp}${udp}`).toBe(`${frame} transport 1`);
      expect(udpField === '' || udpField !== '0x0000').toBe(true);
    });
  });

  maybe('is able to see a bad checksum (the oracle can fail)', () => {
    const good = buildPacket({ protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 2 });
    const bad = Uint8Array.from(good);
    bad[bad.length - 1]! ^= 0xff; // payload-less: flip the low checksum byte
    const [[, , okUdp], [, , badUdp]] = tsharkChecksums([
      { bytes: good, layer2: false },
      { bytes: bad, layer2: false },
    ]) as [string[], string[]];
    expect([okUdp, badUdp]).toEqual(['1', '0']);
  });
});
