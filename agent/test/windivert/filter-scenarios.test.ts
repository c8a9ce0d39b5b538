/**
 * For each seed scenario (SPEC §2, plus UDP, IPv6, clone and route variants) the compiled WinDivert
 * filter, run through an evaluator of WinDivert's filter language, selects exactly the packets the
 * engine needs (first packets, answers on the translated ends, loopback) and none of the
 * unrelated traffic listed next to them.
 */
import type { Rule } from '@portfleet/proto';
import { compileFilter, FILTER_TEST_BUDGET, type FilterInput } from '../../src/divert/windows/filter';
import { compileEval, countTests, type EvalAddress } from './support/filter-eval';
import { buildPacket, type PacketSpec } from './support/packets';

type Seen = [label: string, packet: PacketSpec, address: EvalAddress];

const HOST = '198.18.0.10';
const HOST6 = 'fd00::10';
const CLIENT = '198.18.1.1';
const CLIENT6 = 'fd00::1:1';
const adapters = [
  { name: 'Ethernet', index: 7, macs: ['02:00:00:00:00:07'], addresses: [HOST] },
  { name: 'Ethernet 2', index: 12, macs: ['02:00:00:00:00:0c'], addresses: ['198.18.100.2'] },
];

function rule(partial: Pick<Rule, 'selector'> & Partial<Rule>): Rule {
  return { id: 'r1', enabled: true, activityMonitoring: true, forwardAs: {}, ...partial };
}

const IN: EvalAddress = { outbound: false, ifIdx: 7 };
const OUT: EvalAddress = { outbound: true, ifIdx: 7 };
const LOOP: EvalAddress = { outbound: true, loopback: true, ifIdx: 1 };

interface Scenario {
  name: string;
  rules: Rule[];
  resolved?: Record<string, string[]>;
  must: Seen[];
  mustNot: Seen[];
}

const tcp = (src: string, srcPort: number, dst: string, dstPort: number): PacketSpec => ({ protocol: 'tcp', src, dst, srcPort, dstPort });
const udp = (src: string, srcPort: number, dst: string, dstPort: number): PacketSpec => ({ protocol: 'udp', src, dst, srcPort, dstPort });

const scenarios: Scenario[] = [
  {
    name: '1. incoming TCP to local port 80 forwarded to local port 8080',
    rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
    must: [
      ['client SYN to :80', tcp(CLIENT, 40000, HOST, 80), IN],
      ['IPv6 client to :80', tcp(CLIENT6, 40000, HOST6, 80), IN],
      ['server on 8080 answers', tcp(HOST, 8080, CLIENT, 40000), OUT],
      ['local client to 127.0.0.1:80 (loopback is outbound only)', tcp('127.0.0.1', 40001, '127.0.0.1', 80), LOOP],
      ['local server answers the local client', tcp('127.0.0.1', 8080, '127.0.0.1', 40001), LOOP],
    ],
    mustNot: [
      ['this host browsing a web site', tcp(HOST, 40002, '198.18.2.2', 80), OUT],
      ['a web site answering this host', tcp('198.18.2.2', 80, HOST, 40002), IN],
      ['UDP to :80', udp(CLIENT, 40000, HOST, 80), IN],
      ['client straight to :8080', tcp(CLIENT, 40000, HOST, 8080), IN],
      ['unrelated SSH', tcp(CLIENT, 40000, HOST, 22), IN],
    ],
  },
  {
    name: '2. outgoing TCP to a DNS name port 25 goes to its port 8025',
    rules: [
      rule({ selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: 'mail.example.test', remotePort: 25 }, forwardAs: { remotePort: 8025 } }),
    ],
    resolved: { 'mail.example.test': ['198.18.5.5', 'fd00::5'] },
    must: [
      ['to the A address :25', tcp(HOST, 40000, '198.18.5.5', 25), OUT],
      ['to the AAAA address :25', tcp(HOST6, 40000, 'fd00::5', 25), OUT],
      ['answer from :8025', tcp('198.18.5.5', 8025, HOST, 40000), IN],
      ['IPv6 answer from :8025', tcp('fd00::5', 8025, HOST6, 40000), IN],
    ],
    mustNot: [
      ['another mail server :25', tcp(HOST, 40000, '198.18.9.9', 25), OUT],
      ['incoming mail to this host', tcp('198.18.5.5', 40000, HOST, 25), IN],
      ['answer from :25 (not translated)', tcp('198.18.5.5', 25, HOST, 40000), IN],
      ['UDP to the name :25', udp(HOST, 40000, '198.18.5.5', 25), OUT],
      ['the name on :8025 from another host', tcp('198.18.9.9', 8025, HOST, 40000), IN],
    ],
  },
  {
    name: '3. monitoring only: outgoing web traffic (remote port 80), both directions',
    rules: [rule({ selector: { direction: 'outbound', protocol: 'tcp', remotePort: 80 } })],
    must: [
      ['request', tcp(HOST, 40000, '198.18.2.2', 80), OUT],
      ['answer', tcp('198.18.2.2', 80, HOST, 40000), IN],
      ['IPv6 answer', tcp('fd00::2', 80, HOST6, 40000), IN],
    ],
    mustNot: [
      ['someone browsing this host', tcp(CLIENT, 40000, HOST, 80), IN],
      ['this host serving web', tcp(HOST, 80, CLIENT, 40000), OUT],
      ['HTTPS', tcp(HOST, 40000, '198.18.2.2', 443), OUT],
    ],
  },
  {
    name: '4. one remote host through a chosen adapter with a rewritten local address (MACs rejected)',
    rules: [
      rule({
        selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: '198.18.7.7' },
        forwardAs: { adapter: 'Ethernet 2', localAddress: '198.18.100.2' },
      }),
    ],
    must: [
      ['to the host on any port', tcp(HOST, 40000, '198.18.7.7', 443), OUT],
      ['answer to the rewritten local address', tcp('198.18.7.7', 443, '198.18.100.2', 40000), { outbound: false, ifIdx: 12 }],
    ],
    mustNot: [
      ['to another host', tcp(HOST, 40000, '198.18.7.8', 443), OUT],
      ['from the host to the original address', tcp('198.18.7.7', 443, HOST, 40000), IN],
      ['UDP to the host', udp(HOST, 40000, '198.18.7.7', 53), OUT],
    ],
  },
  {
    name: '5. incoming TCP:80 relayed to another server :8080 by mirror reflection',
    rules: [
      rule({
        selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
        forwardAs: { reflection: 'mirror', localAddress: HOST, remoteAddress: '198.18.9.1', remotePort: 8080 },
      }),
    ],
    must: [
      ['client to :80', tcp(CLIENT, 40000, HOST, 80), IN],
      ['other server answers the relayed packet', tcp('198.18.9.1', 8080, HOST, 80), IN],
    ],
    mustNot: [
      ['other server on another port', tcp('198.18.9.1', 9090, HOST, 40000), IN],
      ['this host answering on :80 itself', tcp(HOST, 80, CLIENT, 40000), OUT],
    ],
  },
  {
    name: 'UDP: incoming DNS on :53 to a local resolver on :5353',
    rules: [rule({ selector: { direction: 'inbound', protocol: 'udp', localPort: 53 }, forwardAs: { localPort: 5353 } })],
    must: [
      ['query', udp(CLIENT, 50000, HOST, 53), IN],
      ['IPv6 query', udp(CLIENT6, 50000, HOST6, 53), IN],
      ['answer from :5353', udp(HOST, 5353, CLIENT, 50000), OUT],
    ],
    mustNot: [
      ['TCP :53', tcp(CLIENT, 50000, HOST, 53), IN],
      ['this host asking a resolver', udp(HOST, 50000, '198.18.2.53', 53), OUT],
    ],
  },
  {
    name: 'IPv6: outgoing to one address, rewritten to another',
    rules: [
      rule({
        selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: 'fd00::aa', remotePort: 443 },
        forwardAs: { remoteAddress: 'fd00::bb' },
      }),
    ],
    must: [
      ['request', tcp(HOST6, 40000, 'fd00::aa', 443), OUT],
      ['answer from the new address', tcp('fd00::bb', 443, HOST6, 40000), IN],
    ],
    mustNot: [
      ['answer from the old address', tcp('fd00::aa', 443, HOST6, 40000), IN],
      ['IPv4 to :443', tcp(HOST, 40000, '198.18.2.2', 443), OUT],
    ],
  },
  {
    name: 'clone of a conversation to a monitor host',
    rules: [
      rule({
        selector: { direction: 'inbound', protocol: 'tcp', localPort: 443 },
        forwardAs: { clone: true, reflection: 'mirror', remoteAddress: '198.18.50.50', remotePort: 9000 },
      }),
    ],
    must: [
      ['original request', tcp(CLIENT, 40000, HOST, 443), IN],
      ['original answer (monitoring counts it)', tcp(HOST, 443, CLIENT, 40000), OUT],
      ['monitor answering the copy (to be dropped)', tcp('198.18.50.50', 9000, HOST, 443), IN],
    ],
    mustNot: [['monitor on another port', tcp('198.18.50.50', 22, HOST, 40000), IN]],
  },
  {
    name: 'route reflection: inbound :7 turned around unchanged',
    rules: [
      rule({
        selector: { direction: 'inbound', protocol: 'udp', localPort: 7 },
        forwardAs: { reflection: 'route', remotePort: 7007 },
      }),
    ],
    must: [
      ['echo request', udp(CLIENT, 7007, HOST, 7), IN],
      // Routed back with source and destination unchanged (CLIENT:7007 → HOST:7 leaves outbound);
      // HOST:7 answers CLIENT:7007, which arrives inbound.
      ['answer to the routed packet', udp(HOST, 7, CLIENT, 7007), IN],
    ],
    mustNot: [['other UDP', udp(CLIENT, 7007, HOST, 9), IN]],
  },
  {
    name: 'adapter selector',
    rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 3389, adapter: 'Ethernet 2' } })],
    must: [
      ['on the chosen adapter', tcp(CLIENT, 40000, HOST, 3389), { outbound: false, ifIdx: 12 }],
      ['answer', tcp(HOST, 3389, CLIENT, 40000), OUT],
    ],
    mustNot: [['on another adapter', tcp(CLIENT, 40000, HOST, 3389), { outbound: false, ifIdx: 7 }]],
  },
];

function input(s: Scenario): FilterInput {
  return { rules: s.rules, resolved: new Map(Object.entries(s.resolved ?? {})), adapters };
}

describe.each(scenarios)('$name', (s) => {
  const compiled = compileFilter(input(s));
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const matches = compileEval(compiled.filter);

  it.each(s.must)('selects: %s', (_label, packet, address) => {
    expect(matches(buildPacket(packet), address)).toBe(true);
  });
  it.each(s.mustNot)('leaves alone: %s', (_label, packet, address) => {
    expect(matches(buildPacket(packet), address)).toBe(false);
  });
  it('stays within WinDivert’s test limit without widening', () => {
    expect(compiled.widened).toBe(false);
    expect(countTests(compiled.filter)).toBeLessThanOrEqual(FILTER_TEST_BUDGET);
  });
});

describe('all scenarios on one host', () => {
  const rules = scenarios.flatMap((s, i) => s.rules.map((r) => ({ ...r, id: `r${i}` })));
  const resolved = new Map(scenarios.flatMap((s) => Object.entries(s.resolved ?? {})));
  const compiled = compileFilter({ rules, resolved, adapters });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const matches = compileEval(compiled.filter);

  it('selects every packet each scenario needs', () => {
    for (const s of scenarios) for (const [label, p, a] of s.must) expect([label, matches(buildPacket(p), a)]).toEqual([label, true]);
  });
  it('still leaves unrelated traffic alone', () => {
    expect(matches(buildPacket(tcp(CLIENT, 40000, HOST, 22)), IN)).toBe(false);
    expect(matches(buildPacket(udp(HOST, 40000, '198.18.2.53', 123)), OUT)).toBe(false);
  });
});

describe('a disabled rule', () => {
  it('diverts nothing', () => {
    const compiled = compileFilter({ ...input(scenarios[0]!), rules: [{ ...scenarios[0]!.rules[0]!, enabled: false }] });
    expect(compiled).toMatchObject({ ok: true, filter: 'false' });
    if (compiled.ok) expect(compileEval(compiled.filter)(buildPacket(tcp(CLIENT, 40000, HOST, 80)), IN)).toBe(false);
  });
});
