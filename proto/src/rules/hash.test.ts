import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { ruleListArbitrary, sampleRule, settingsArbitrary } from '../../test/support/rule-arbitrary';
import { canonicalJson, contentHash } from './hash';
import { DEFAULT_SETTINGS } from './model';

/** The same value with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: undefined }, 'é': 'x' })).toBe('{"a":{"d":[3,{"y":null,"z":true}]},"b":1,"é":"x"}');
    expect(canonicalJson([undefined, 'a"b'])).toBe('[null,"a\\"b"]');
  });

  it('parses back to the same value as JSON.stringify', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)))));
  });

  it('does not depend on key order', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => canonicalJson(v) === canonicalJson(reverseKeys(v))));
  });

  it('refuses values without a JSON form', () => {
    expect(() => canonicalJson(NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });
});

describe('contentHash', () => {
  it('is sha256 over the canonical JSON of rules and settings', () => {
    // Written out so that any change of the canonical form (which agents in the field rely on) shows.
    const text =
      '{"rules":[{"activityMonitoring":true,"description":"","enabled":true,"forwardAs":{"localPort":8080},"id":"r1",' +
      '"selector":{"direction":"inbound","localPort":80,"protocol":"tcp"}}],"settings":{"applyDelayMs":0,"tcpTimeoutS":300,"udpTimeoutS":60}}';
    expect(contentHash([sampleRule()], DEFAULT_SETTINGS)).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('is stable under key order and default-only spellings', () => {
    fc.assert(
      fc.property(ruleListArbitrary(), settingsArbitrary, (rules, settings) => {
        const respelled = rules.map((r) => ({ ...(reverseKeys(r) as typeof r), forwardAs: { clone: false, reflection: 'none' as const, ...r.forwardAs } }));
        return contentHash(respelled, reverseKeys(settings) as typeof settings) === contentHash(rules, settings);
      }),
      { numRuns: 50 },
    );
  });

  it('changes with the content and the order of rules', () => {
    const a = sampleRule({ id: 'a' });
    const b = sampleRule({ id: 'b', selector: { direction: 'inbound', protocol: 'udp' } });
    const base = contentHash([a, b], DEFAULT_SETTINGS);
    expect(contentHash([b, a], DEFAULT_SETTINGS)).not.toBe(base);
    expect(contentHash([a, { ...b, enabled: false }], DEFAULT_SETTINGS)).not.toBe(base);
    expect(contentHash([a, b], { ...DEFAULT_SETTINGS, udpTimeoutS: 61 })).not.toBe(base);
  });
});

it('treats null optional fields and a missing description as unset', () => {
  const rule = sampleRule();
  const withNulls = { ...rule, description: undefined, selector: { ...rule.selector, remotePort: null }, forwardAs: { ...rule.forwardAs, adapter: null } };
  expect(contentHash([withNulls as never], DEFAULT_SETTINGS)).toBe(contentHash([rule], DEFAULT_SETTINGS));
});
