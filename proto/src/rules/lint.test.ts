import fc from 'fast-check';
import { ruleListArbitrary, sampleRule } from '../../test/support/rule-arbitrary';
import { covers, lintRules } from './lint';
import type { Rule, Selector } from './model';

const rule = (id: string, selector: Partial<Selector>, enabled = true): Rule =>
  sampleRule({ id, enabled, selector: { direction: 'inbound', protocol: 'tcp', ...selector } });

describe('lintRules', () => {
  it('warns about a rule an earlier, broader rule always catches', () => {
    const rules = [rule('web', { localPort: 80 }), rule('web-from-one', { localPort: 80, remoteAddress: '192.0.2.1' })];
    expect(lintRules(rules)).toEqual([
      { field: 'selector', code: 'SHADOWED_RULE', message: 'never matches: rule 0 comes first and matches everything this rule selects', ruleIndex: 1, ruleId: 'web-from-one' },
    ]);
  });

  it('names the first earlier rule that covers it', () => {
    const rules = [rule('a', { remotePort: 9 }), rule('b', {}), rule('c', { remotePort: 9, localPort: 1 })];
    expect(lintRules(rules).map((w) => [w.ruleIndex, w.message])).toEqual([[2, expect.stringContaining('rule 0 comes first')]]);
  });

  it.each<[string, Partial<Selector>, Partial<Selector>]>([
    ['another direction', { localPort: 80 }, { direction: 'outbound', localPort: 80 }],
    ['another protocol', { localPort: 80 }, { protocol: 'udp', localPort: 80 }],
    ['a field the earlier rule sets but the later leaves open', { localPort: 80 }, {}],
    ['a different port', { localPort: 80 }, { localPort: 81 }],
    ['a different address', { localAddress: '192.0.2.1' }, { localAddress: '192.0.2.2', localPort: 80 }],
    ['a different MAC', { remoteMac: 'aa:bb:cc:dd:ee:ff' }, { remoteMac: 'aa:bb:cc:dd:ee:fe' }],
  ])('stays quiet for %s', (_, earlier, later) => {
    expect(lintRules([rule('a', earlier), rule('b', later)])).toEqual([]);
  });

  it('ignores disabled rules on either side', () => {
    expect(lintRules([rule('a', {}, false), rule('b', { localPort: 80 })])).toEqual([]);
    expect(lintRules([rule('a', {}), rule('b', { localPort: 80 }, false)])).toEqual([]);
  });

  it('compares addresses and MACs in normal form, DNS names without case', () => {
    expect(covers({ direction: 'inbound', protocol: 'tcp', localAddress: '2001:db8::1' }, { direction: 'inbound', protocol: 'tcp', localAddress: '2001:DB8:0:0:0:0:0:1' })).toBe(true);
    expect(covers({ direction: 'inbound', protocol: 'tcp', remoteMac: 'aa:bb:cc:dd:ee:ff' }, { direction: 'inbound', protocol: 'tcp', remoteMac: 'AA-BB-CC-DD-EE-FF' })).toBe(true);
    expect(covers({ direction: 'inbound', protocol: 'tcp', remoteAddress: 'Host.Example' }, { direction: 'inbound', protocol: 'tcp', remoteAddress: 'host.example' })).toBe(true);
    expect(covers({ direction: 'inbound', protocol: 'tcp', remoteAddress: 'host.example' }, { direction: 'inbound', protocol: 'tcp', remoteAddress: '192.0.2.1' })).toBe(false);
    expect(covers({ direction: 'inbound', protocol: 'tcp', adapter: 'eth0' }, { direction: 'inbound', protocol: 'tcp', adapter: 'ETH0' })).toBe(false);
  });

  it('covers is reflexive and never warns about the first enabled rule', () => {
    fc.assert(
      fc.property(ruleListArbitrary(6), (rules) => {
        expect(rules.every((r) => covers(r.selector, r.selector))).toBe(true);
        const first = rules.findIndex((r) => r.enabled);
        expect(lintRules(rules).some((w) => w.ruleIndex !== undefined && w.ruleIndex <= first)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('warns about an exact duplicate of an earlier enabled rule', () => {
    fc.assert(
      fc.property(ruleListArbitrary(1).filter((l) => l.length === 1), ([r]) => {
        const twin = { ...r!, id: `${r!.id}-copy`, enabled: true };
        return lintRules([{ ...r!, enabled: true }, twin]).length === 1;
      }),
      { numRuns: 50 },
    );
  });
});
