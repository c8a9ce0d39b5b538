import * as pb from '../gen/portfleet/v1/rules';
import { sampleRule } from '../../test/support/rule-arbitrary';
import type { Rule } from '../rules/model';
import { checkEdition, checkImportExport, EDITION_LIST, editionExpiresAtMs, editionFromWire, EDITIONS, editionToWire, type Edition, type Feature } from './policy';

// SPEC §3, copied verbatim: the test reads the table rather than restating it.
const SPEC_TABLE = `
| rules per host | 3 | 3 | 10 | 50 |
| TCP/UDP ports, activity monitoring, runs as a service | yes | yes | yes | yes |
| rule descriptions | yes | no | yes | yes |
| IP address select/rewrite | yes | no | yes | yes |
| MAC address select/rewrite | yes | no | no | yes |
| adapter select/rewrite | yes | no | no | yes |
| traffic cloning, reflection | yes | no | no | yes |
| import / export of rules | yes | no | yes | yes |
| watermark (console banner) | yes | yes | no | no |
| duration | 30 days | unlimited | unlimited | unlimited |
| price | - | free, needs a (free) serial key | 14.95 USD | 19.95 USD |`;
const spec = new Map(
  SPEC_TABLE.trim()
    .split('\n')
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    .map(([name, ...cells]) => [name!, Object.fromEntries(EDITION_LIST.map((e, i) => [e, cells[i]!]))] as const),
);
const cell = (row: string, edition: Edition) => spec.get(row)![edition];

const FEATURE_ROWS: Record<Feature, string> = {
  descriptions: 'rule descriptions',
  ipAddresses: 'IP address select/rewrite',
  macAddresses: 'MAC address select/rewrite',
  adapters: 'adapter select/rewrite',
  cloneAndReflection: 'traffic cloning, reflection',
  importExport: 'import / export of rules',
};

/** For each rule feature, every field that uses it, with a rule using exactly that field. */
const FIELD_EXAMPLES: [Feature, string, Partial<Rule>][] = [
  ['descriptions', 'description', { description: 'web' }],
  ['ipAddresses', 'selector.localAddress', { selector: { direction: 'inbound', protocol: 'tcp', localAddress: '192.0.2.1' } }],
  ['ipAddresses', 'selector.remoteAddress', { selector: { direction: 'inbound', protocol: 'tcp', remoteAddress: 'mail.example' } }],
  ['ipAddresses', 'forwardAs.localAddress', { forwardAs: { localAddress: '192.0.2.1' } }],
  ['ipAddresses', 'forwardAs.remoteAddress', { forwardAs: { remoteAddress: '2001:db8::1' } }],
  ['macAddresses', 'selector.localMac', { selector: { direction: 'inbound', protocol: 'tcp', localMac: 'aa:bb:cc:dd:ee:ff' } }],
  ['macAddresses', 'selector.remoteMac', { selector: { direction: 'inbound', protocol: 'tcp', remoteMac: 'aa:bb:cc:dd:ee:ff' } }],
  ['macAddresses', 'forwardAs.localMac', { forwardAs: { localMac: 'aa:bb:cc:dd:ee:ff' } }],
  ['macAddresses', 'forwardAs.remoteMac', { forwardAs: { remoteMac: 'aa:bb:cc:dd:ee:ff' } }],
  ['adapters', 'selector.adapter', { selector: { direction: 'inbound', protocol: 'tcp', adapter: 'eth0' } }],
  ['adapters', 'forwardAs.adapter', { forwardAs: { adapter: '3' } }],
  ['cloneAndReflection', 'forwardAs.reflection', { forwardAs: { reflection: 'mirror' } }],
  ['cloneAndReflection', 'forwardAs.reflection', { forwardAs: { reflection: 'route' } }],
  ['cloneAndReflection', 'forwardAs.clone', { forwardAs: { clone: true } }],
];

describe('EDITIONS is the SPEC §3 table', () => {
  it.each(EDITION_LIST)('%s', (edition) => {
    const policy = EDITIONS[edition];
    expect(policy.maxRules).toBe(Number(cell('rules per host', edition)));
    for (const [feature, row] of Object.entries(FEATURE_ROWS)) expect([feature, policy[feature as Feature]]).toEqual([feature, cell(row, edition) === 'yes']);
    expect(policy.watermark).toBe(cell('watermark (console banner)', edition) === 'yes');
    const duration = cell('duration', edition);
    expect(policy.durationDays).toBe(duration === 'unlimited' ? null : parseInt(duration, 10));
    const price = cell('price', edition);
    expect(policy.priceUsd).toBe(price.endsWith(' USD') ? parseFloat(price) : null);
  });
});

describe('checkEdition', () => {
  const cells = EDITION_LIST.flatMap((edition) => FIELD_EXAMPLES.map(([feature, field, rule]) => [edition, feature, field, rule] as const));

  it.each(cells)('%s × %s (%s)', (edition, feature, field, overrides) => {
    const errors = checkEdition(edition, [sampleRule(), sampleRule({ id: 'x', ...overrides })]);
    if (EDITIONS[edition][feature]) {
      expect(errors).toEqual([]);
    } else {
      expect(errors).toEqual([{ field, code: 'FEATURE_NOT_IN_EDITION', message: expect.any(String), ruleIndex: 1, ruleId: 'x' }]);
      const message = errors[0]!.message;
      expect(message).toContain(`not included in the ${edition[0]!.toUpperCase()}${edition.slice(1)} edition`);
      const allowedIn = EDITION_LIST.filter((e) => e !== 'trial' && EDITIONS[e][feature]);
      for (const e of allowedIn) expect(message.toLowerCase()).toContain(e);
    }
  });

  it('allows ports, monitoring and default-valued fields in every edition', () => {
    const plain = sampleRule({ activityMonitoring: true, selector: { direction: 'outbound', protocol: 'udp', localPort: 1, remotePort: 2 }, forwardAs: { localPort: 3, remotePort: 4, reflection: 'none', clone: false } });
    for (const edition of EDITION_LIST) expect(checkEdition(edition, [plain, { ...plain, id: 'r2', description: '' }])).toEqual([]);
  });

  it.each(EDITION_LIST)('%s: counts every rule, enabled or not, against the limit', (edition) => {
    const max = EDITIONS[edition].maxRules;
    const rules = Array.from({ length: max + 2 }, (_, i) => sampleRule({ id: `r${i}`, enabled: i % 2 === 0 }));
    expect(checkEdition(edition, rules.slice(0, max))).toEqual([]);
    expect(checkEdition(edition, rules.slice(0, max + 1))).toEqual([
      { field: '', code: 'RULE_LIMIT_EXCEEDED', message: expect.stringContaining(`allows ${max} rules per host`), ruleIndex: max, ruleId: `r${max}` },
    ]);
  });

  it('reports the limit and every feature problem together, naming an edition with room', () => {
    const rules = [sampleRule({ id: 'a', description: 'x' }), sampleRule({ id: 'b' }), sampleRule({ id: 'c' }), sampleRule({ id: 'd', forwardAs: { clone: true } })];
    const errors = checkEdition('basic', rules);
    expect(errors.map((e) => [e.code, e.field, e.ruleIndex])).toEqual([
      ['RULE_LIMIT_EXCEEDED', '', 3],
      ['FEATURE_NOT_IN_EDITION', 'description', 0],
      ['FEATURE_NOT_IN_EDITION', 'forwardAs.clone', 3],
    ]);
    expect(errors[0]!.message).toContain('available in Pro or Ultimate');
    expect(checkEdition('pro', Array.from({ length: 11 }, (_, i) => sampleRule({ id: `${i}` })))[0]!.message).toContain('available in Ultimate');
  });
});

describe('checkImportExport', () => {
  it.each(EDITION_LIST)('%s follows the table', (edition) => {
    const errors = checkImportExport(edition);
    if (cell('import / export of rules', edition) === 'yes') expect(errors).toEqual([]);
    else expect(errors).toEqual([{ field: '', code: 'FEATURE_NOT_IN_EDITION', message: 'import/export of rules: not included in the Basic edition (available in Pro or Ultimate)' }]);
  });
});

describe('wire and expiry', () => {
  it('maps every edition both ways and rejects unspecified/unknown', () => {
    for (const edition of EDITION_LIST) expect(editionFromWire(editionToWire(edition))).toBe(edition);
    expect(editionToWire('pro')).toBe(pb.Edition.EDITION_PRO);
    expect(editionFromWire(pb.Edition.EDITION_UNSPECIFIED)).toBeUndefined();
    expect(editionFromWire(pb.Edition.UNRECOGNIZED)).toBeUndefined();
  });

  it('ends a trial after 30 days and nothing else', () => {
    const start = Date.UTC(2026, 10, 1);
    expect(editionExpiresAtMs('trial', start)).toBe(Date.UTC(2026, 11, 1));
    for (const e of ['basic', 'pro', 'ultimate'] as const) expect(editionExpiresAtMs(e, start)).toBeNull();
  });
});
