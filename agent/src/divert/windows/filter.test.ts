import type { Rule } from '@portfleet/proto';
import { countTests } from '../../../test/windivert/support/filter-eval';
import { compileFilter, FILTER_TEST_BUDGET, type FilterInput } from './filter';

const adapters = [{ name: 'Ethernet', index: 7, macs: [], addresses: [] }];

function rule(partial: Pick<Rule, 'selector'> & Partial<Rule>): Rule {
  return { id: 'r1', enabled: true, activityMonitoring: false, forwardAs: {}, ...partial };
}

function filterOf(rules: Rule[], extra: Partial<FilterInput> = {}): string {
  const compiled = compileFilter({ rules, resolved: new Map(), adapters, ...extra });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return compiled.filter;
}

describe('compileFilter', () => {
  it('writes a port forward as the selector plus the translated reverse channel', () => {
    const r = rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } });
    expect(filterOf([r])).toBe('(((inbound or loopback) and tcp.DstPort == 80) or (outbound and tcp.SrcPort == 8080))');
  });

  it('writes addresses per family, IPv6 spelled out in eight groups', () => {
    const r = rule({ selector: { direction: 'outbound', protocol: 'udp', remoteAddress: 'ntp.test', remotePort: 123 } });
    const filter = filterOf([r], { resolved: new Map([['ntp.test', ['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.9']]]) });
    expect(filter).toBe(
      '(((inbound or loopback) and (udp.SrcPort == 123 and (ip.SrcAddr == 192.0.2.1 or ipv6.SrcAddr == 0:0:0:0:0:ffff:c000:209 or ipv6.SrcAddr == 2001:db8:0:0:0:0:0:1))) or ' +
        '(outbound and (udp.DstPort == 123 and (ip.DstAddr == 192.0.2.1 or ipv6.DstAddr == 0:0:0:0:0:ffff:c000:209 or ipv6.DstAddr == 2001:db8:0:0:0:0:0:1))))',
    );
  });

  it('merges rules that differ in one field, drops covered ones, dedupes, and writes port runs as ranges', () => {
    const ports = [80, 81, 82, 83, 443];
    const rules = ports.map((p) => rule({ selector: { direction: 'outbound', protocol: 'tcp', remotePort: p } }));
    rules.push(rule({ selector: { direction: 'outbound', protocol: 'tcp', remotePort: 80, remoteAddress: '192.0.2.1' } }));
    rules.push(rule({ selector: { direction: 'outbound', protocol: 'tcp', remotePort: 443 } }));
    expect(filterOf(rules)).toBe(
      '(((inbound or loopback) and ((tcp.SrcPort >= 80 and tcp.SrcPort <= 83) or tcp.SrcPort == 443)) or ' +
        '(outbound and ((tcp.DstPort >= 80 and tcp.DstPort <= 83) or tcp.DstPort == 443)))',
    );
  });

  it('merges TCP and UDP on the same port', () => {
    const rules = (['tcp', 'udp'] as const).map((protocol) => rule({ selector: { direction: 'outbound', protocol, remotePort: 53 } }));
    expect(filterOf(rules)).toBe(
      '(((inbound or loopback) and (tcp.SrcPort == 53 or udp.SrcPort == 53)) or (outbound and (tcp.DstPort == 53 or udp.DstPort == 53)))',
    );
  });

  it('writes a rule without ports as its protocol and adapter', () => {
    const r = rule({ selector: { direction: 'inbound', protocol: 'udp', adapter: 'Ethernet' } });
    expect(filterOf([r])).toBe('(((inbound or loopback) and (udp and ifIdx == 7)) or (outbound and udp))');
  });

  it('adds the reverse channels of live conversations of earlier rule lists', () => {
    const filter = filterOf([], { live: [{ direction: 'outbound', protocol: 'tcp', srcPort: 8080, dstAddresses: ['192.0.2.7'] }] });
    expect(filter).toBe('(outbound and (tcp.SrcPort == 8080 and ip.DstAddr == 192.0.2.7))');
  });

  it('diverts nothing for an empty or all-disabled list', () => {
    expect(filterOf([])).toBe('false');
    expect(filterOf([rule({ enabled: false, selector: { direction: 'inbound', protocol: 'tcp' } })])).toBe('false');
  });

  it('widens rather than exceeding WinDivert’s test limit', () => {
    const rules = Array.from({ length: 50 }, (_, i) =>
      rule({ id: `r${i}`, selector: { direction: 'outbound', protocol: 'tcp', remotePort: 1000 + 7 * i, remoteAddress: `192.0.2.${i + 1}` } }),
    );
    const compiled = compileFilter({ rules, resolved: new Map(), adapters });
    expect(compiled.ok && compiled.widened).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.filter).not.toContain('ip.');
    expect(compiled.filter).toContain('tcp.DstPort == 1343');
    expect(countTests(compiled.filter)).toBeLessThanOrEqual(FILTER_TEST_BUDGET);
  });

  it('rejects MAC selectors and rewrites with the reason, naming every field', () => {
    const r = rule({
      selector: { direction: 'outbound', protocol: 'tcp', remoteMac: '02:00:00:00:00:01' },
      forwardAs: { localMac: '02:00:00:00:00:02', remoteMac: '02:00:00:00:00:03' },
    });
    const compiled = compileFilter({ rules: [r], resolved: new Map(), adapters });
    expect(compiled.ok).toBe(false);
    if (compiled.ok) return;
    expect(compiled.errors.map((e) => [e.field, e.code, e.ruleIndex, e.ruleId])).toEqual([
      ['selector.remoteMac', 'UNSUPPORTED_BY_DATAPLANE', 0, 'r1'],
      ['forwardAs.localMac', 'UNSUPPORTED_BY_DATAPLANE', 0, 'r1'],
      ['forwardAs.remoteMac', 'UNSUPPORTED_BY_DATAPLANE', 0, 'r1'],
    ]);
    expect(compiled.errors[0]!.message).toMatch(/network layer .* MAC addresses can be neither selected nor rewritten on Windows/);
  });

  it('names unresolved names and unknown adapters', () => {
    const r = rule({ selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: 'nowhere.test', adapter: 'Wi-Fi' } });
    const compiled = compileFilter({ rules: [r], resolved: new Map(), adapters });
    expect(compiled.ok ? [] : compiled.errors.map((e) => [e.field, e.code])).toEqual([
      ['selector.remoteAddress', 'DNS_UNRESOLVED'],
      ['selector.adapter', 'UNKNOWN_ADAPTER'],
    ]);
  });
});
