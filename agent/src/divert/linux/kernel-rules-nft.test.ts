import type { Rule } from '@portfleet/proto';
import { compiledRules, ineligible, natRules, rulesScript } from './kernel-rules-nft';
import { steeringScript } from './steering';

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}, enabled = true): Rule {
  return { id, enabled, activityMonitoring: true, selector, forwardAs };
}

const scenario1 = rule('s1', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 });
const NONE = new Map<string, string[]>();

describe('kernel rules: what is compiled', () => {
  test('a destination rewrite is eligible, inbound or outbound; a source rewrite, clone, reflection, adapter, MAC or nothing is not', () => {
    expect(ineligible(scenario1)).toBeNull();
    expect(ineligible(rule('o', { direction: 'outbound', protocol: 'udp', remotePort: 25 }, { remoteAddress: '198.18.2.9', remotePort: 8025 }))).toBeNull();
    expect(ineligible(rule('a', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { remotePort: 9 }))).toBe('rewrites the source');
    expect(ineligible(rule('b', { direction: 'outbound', protocol: 'tcp', remotePort: 80 }, { localAddress: '198.18.1.1' }))).toBe('rewrites the source');
    expect(ineligible(rule('c', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080, clone: true }))).not.toBeNull();
    expect(ineligible(rule('d', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080, reflection: 'mirror' }))).not.toBeNull();
    expect(ineligible(rule('e', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080, adapter: 'eth0' }))).not.toBeNull();
    expect(ineligible(rule('f', { direction: 'inbound', protocol: 'tcp', localPort: 80, adapter: 'eth0' }, { localPort: 8080 }))).not.toBeNull();
    expect(ineligible(rule('g', { direction: 'outbound', protocol: 'tcp', remotePort: 80 }))).toBe('rewrites nothing');
    expect(ineligible(rule('h', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 }, false))).toBe('disabled');
  });

  test('a rule whose flows could meet a rule left in userspace stays there too (whatever their order); kernel rules may meet each other', () => {
    const monitor = rule('m', { direction: 'outbound', protocol: 'tcp', remotePort: 8080 });
    expect([...compiledRules([scenario1, monitor], NONE)]).toEqual([]);
    expect([...compiledRules([monitor, scenario1], NONE)]).toEqual([]);
    const cloned = rule('c', { direction: 'inbound', protocol: 'tcp', localPort: 81 }, { localPort: 8081, clone: true });
    const other = rule('t', { direction: 'inbound', protocol: 'tcp', localPort: 82 }, { localPort: 8082 });
    // Port-only rules of one protocol meet (a packet from port 81 to port 80 is a flow of both).
    expect([...compiledRules([scenario1, cloned], NONE)]).toEqual([]);
    expect([...compiledRules([scenario1, other], NONE)]).toEqual([0, 1]);
    const udp = rule('u', { direction: 'inbound', protocol: 'udp', localPort: 81 }, { localPort: 8081, clone: true });
    expect([...compiledRules([scenario1, udp], NONE)]).toEqual([0]);
    // A disabled rule concerns nothing.
    expect([...compiledRules([scenario1, { ...monitor, enabled: false }], NONE)]).toEqual([0]);
    // Both ends' addresses apart do not meet; a name meets through any of its addresses.
    const a = rule('x', { direction: 'inbound', protocol: 'tcp', localAddress: '198.18.2.2', remoteAddress: '198.18.1.2', localPort: 53 }, { localPort: 5353 });
    const b = rule('y', { direction: 'inbound', protocol: 'tcp', localAddress: 'other.test', remoteAddress: '198.18.1.2', localPort: 53 }, { localPort: 5353, clone: true });
    expect([...compiledRules([a, b], new Map([['other.test', ['198.18.2.3']]]))]).toEqual([0]);
    expect([...compiledRules([a, b], new Map([['other.test', ['198.18.2.3', '198.18.2.2']]]))]).toEqual([]);
    // Left in userspace because of another, a rule can hold back a third (until nothing changes).
    const c1 = rule('c1', { direction: 'inbound', protocol: 'udp', localAddress: '198.18.2.2', localPort: 53 }, { localPort: 5353 });
    const u1 = rule('u1', { direction: 'inbound', protocol: 'udp', localAddress: '198.18.2.2', localPort: 5353 }, { localPort: 9, clone: true });
    const c2 = rule('c2', { direction: 'inbound', protocol: 'udp', localAddress: '198.18.2.9', remoteAddress: '198.18.1.9', localPort: 7 }, { localAddress: '198.18.2.2', localPort: 5353 });
    expect([...compiledRules([c1, u1, c2], NONE)]).toEqual([]);
  });
});

describe('kernel rules: nft text', () => {
  test('inbound port forward: DNAT keeping the address, marking the conversation with the slot and counting it', () => {
    expect(natRules({ rule: scenario1, slot: 3 }, NONE, 0x50470000)).toEqual([
      'meta nfproto ipv4 meta l4proto tcp th dport 80 ct mark set 0x50470003 counter name "r3n" dnat ip to ip daddr : 8080',
      'meta nfproto ipv6 meta l4proto tcp th dport 80 ct mark set 0x50470003 counter name "r3n" dnat ip6 to ip6 daddr : 8080',
    ]);
  });

  test('outbound to a name: the first address of the family', () => {
    const r = rule('o', { direction: 'outbound', protocol: 'udp', remoteAddress: 'mail.test', remotePort: 25 }, { remoteAddress: 'relay.test', remotePort: 8025 });
    const resolved = new Map([
      ['mail.test', ['198.18.2.2', '198.18.2.3']],
      ['relay.test', ['fd00:9::1', '198.18.9.1', '198.18.9.2']],
    ]);
    expect(natRules({ rule: r, slot: 1 }, resolved, 0x50470000)).toEqual([
      'meta nfproto ipv4 meta l4proto udp ip daddr { 198.18.2.2, 198.18.2.3 } th dport 25 ct mark set 0x50470001 counter name "r1n" dnat ip to 198.18.9.1:8025',
    ]);
  });

  test('the script: chains created if missing and flushed, counters for every slot, counting by ct mark and direction', () => {
    const text = rulesScript([{ rule: scenario1, slot: 2 }], [1, 2], NONE, 0x50470000, { tcpS: 300, udpS: 60 });
    expect(text).toContain('add counter inet portfleet_rules r1o\n');
    expect(text).toContain('flush chain inet portfleet_rules dstnat\n');
    expect(text).toContain('add element inet portfleet_rules counters { 0x50470001 . original : "r1o", 0x50470001 . reply : "r1r", 0x50470002 . original : "r2o", 0x50470002 . reply : "r2r" }\n');
    expect(text).toContain('add rule inet portfleet_rules count_forward counter name ct mark . ct direction map @counters\n');
    expect(text.indexOf('flush chain')).toBeLessThan(text.indexOf('add rule'));
    // The engine's inactivity timeout for its new conversations, with their NAT.
    expect(text).toContain('add ct timeout inet portfleet_rules tcp4_300 { protocol tcp; l3proto ip; policy = { established: 300 }; }\n');
    expect(text).toContain('add rule inet portfleet_rules dstnat meta nfproto ipv6 meta l4proto tcp th dport 80 ct timeout set "tcp6_300" ct mark set 0x50470002 counter name "r2n" dnat ip6 to ip6 daddr : 8080\n');
    // Forwarded packets from a kernel rule's local end go to the outbound rules, and no further.
    expect(text).toContain('add rule inet portfleet_rules classify meta nfproto ipv4 meta l4proto tcp th sport 80 fib daddr type != local goto forwarded_out\n');
    expect(text).toContain('add rule inet portfleet_rules classify meta nfproto ipv4 meta l4proto tcp th sport 8080 fib daddr type != local goto forwarded_out\n');
    expect(text.trimEnd().split('\n').filter((l) => l.includes(' forwarded_out ')).pop()).toBe('add rule inet portfleet_rules forwarded_out accept');
  });

  test('steering keeps only the loopback part of a kernel rule: neither notrack nor queue for the rest', () => {
    const options = { queueNum: 7, loopbackQueueNum: 8, mark: 0x50460000, outboundMark: 0x800, forwardedMark: 0x400, failOpen: true };
    const text = steeringScript(4, [scenario1], NONE, options, new Set([0]));
    const lines = text.split('\n').filter((l) => l.startsWith('-A'));
    for (const line of lines.filter((l) => l.includes('--dport 80') || l.includes('--sport 8080'))) {
      if (line.includes('--mark')) continue;
      expect(line).toContain('--src-type LOCAL --dst-type LOCAL');
    }
    expect(lines.some((l) => l.includes('--queue-num 7'))).toBe(false);
    expect(lines.some((l) => l.includes('CT --notrack') && l.includes('--dport 80'))).toBe(true);
  });
});
