// fast-check generators of valid rules in canonical form (what parseRuleInput returns), shared by
// the property tests of validation, wire mapping, hashing and the rules file.
import fc from 'fast-check';
import type { ForwardAs, Rule, Selector, Settings } from '../../src/rules/model';

const port = fc.integer({ min: 1, max: 65535 });
const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':'));
const adapter = fc.string({ minLength: 1, maxLength: 256 });

/** One IP family per rule, so the rule never mixes families; DNS names fit either. */
const addressOf = (family: 'ipv4' | 'ipv6') => fc.oneof(family === 'ipv4' ? fc.ipV4() : fc.ipV6(), fc.domain());

export const selectorArbitrary = (family: 'ipv4' | 'ipv6'): fc.Arbitrary<Selector> =>
  fc.record(
    {
      direction: fc.constantFrom('inbound' as const, 'outbound' as const),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      localPort: port,
      remotePort: port,
      localAddress: addressOf(family),
      remoteAddress: addressOf(family),
      localMac: mac,
      remoteMac: mac,
      adapter,
    },
    { requiredKeys: ['direction', 'protocol'] },
  );

export const forwardAsArbitrary = (family: 'ipv4' | 'ipv6'): fc.Arbitrary<ForwardAs> =>
  fc.record(
    {
      localPort: port,
      remotePort: port,
      localAddress: addressOf(family),
      remoteAddress: addressOf(family),
      localMac: mac,
      remoteMac: mac,
      adapter,
      reflection: fc.constantFrom('mirror' as const, 'route' as const),
      clone: fc.constant(true as const),
    },
    { requiredKeys: [] },
  );

export const ruleArbitrary: fc.Arbitrary<Rule> = fc.constantFrom('ipv4' as const, 'ipv6' as const).chain((family) =>
  fc.record({
    id: fc.uuid(),
    enabled: fc.boolean(),
    description: fc.string({ maxLength: 256 }),
    activityMonitoring: fc.boolean(),
    selector: selectorArbitrary(family),
    forwardAs: forwardAsArbitrary(family),
  }),
);

/** Lists with distinct ids. */
export const ruleListArbitrary = (maxLength = 8): fc.Arbitrary<Rule[]> =>
  fc.uniqueArray(ruleArbitrary, { maxLength, selector: (rule) => rule.id });

export const settingsArbitrary: fc.Arbitrary<Settings> = fc.record({
  applyDelayMs: fc.integer({ min: 0, max: 3_600_000 }),
  tcpTimeoutS: fc.integer({ min: 1, max: 86_400 }),
  udpTimeoutS: fc.integer({ min: 1, max: 86_400 }),
});

/** A valid rule to start examples from: incoming TCP:80 → local port 8080 (SPEC §2 scenario 1). */
export function sampleRule(overrides: Partial<Rule> = {}): Rule {
  return {
    id: 'r1',
    enabled: true,
    description: '',
    activityMonitoring: true,
    selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
    forwardAs: { localPort: 8080 },
    ...overrides,
  };
}
