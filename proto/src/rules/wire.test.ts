import fc from 'fast-check';
import * as pb from '../gen/portfleet/v1/rules';
import { ruleArbitrary, ruleListArbitrary, sampleRule, settingsArbitrary } from '../../test/support/rule-arbitrary';
import { contentHash } from './hash';
import type { RuleSetVersion } from './model';
import { parseRuleInput, parseSettings } from './validate';
import {
  ruleErrorFromWire,
  ruleErrorToWire,
  ruleFromWire,
  ruleSetVersionFromWire,
  ruleSetVersionToWire,
  ruleToWire,
  settingsFromWire,
  settingsToWire,
} from './wire';

/** Through protobuf bytes, as a rule really travels. */
const overTheWire = (rule: pb.Rule): pb.Rule => pb.Rule.decode(pb.Rule.encode(rule).finish());

describe('rule mapping', () => {
  it('maps enums and leaves unset fields unset', () => {
    const wire = ruleToWire(sampleRule({ forwardAs: { localPort: 8080, reflection: 'mirror' } }));
    expect(wire.selector).toMatchObject({ direction: pb.Direction.DIRECTION_INBOUND, protocol: pb.Protocol.PROTOCOL_TCP, localPort: 80, remotePort: undefined });
    expect(wire.forwardAs).toMatchObject({ localPort: 8080, reflection: pb.Reflection.REFLECTION_MIRROR, clone: false });
    expect(ruleFromWire(overTheWire(wire))).toEqual({
      id: 'r1',
      enabled: true,
      description: '',
      activityMonitoring: true,
      selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
      forwardAs: { localPort: 8080, reflection: 'mirror' },
    });
  });

  it('is the identity for every valid rule, through protobuf bytes and validation', () => {
    fc.assert(
      fc.property(ruleArbitrary, (rule) => {
        expect(parseRuleInput(ruleFromWire(overTheWire(ruleToWire(rule))))).toEqual({ ok: true, value: rule });
      }),
    );
  });

  it('lets validation report unspecified direction/protocol as REQUIRED and unknown numbers as INVALID_ENUM', () => {
    const wire = ruleToWire(sampleRule());
    const result = parseRuleInput(ruleFromWire({ ...wire, selector: { ...wire.selector!, direction: 0, protocol: 9 as pb.Protocol } }));
    expect(!result.ok && result.errors.map((e) => [e.field, e.code])).toEqual([
      ['selector.direction', 'REQUIRED'],
      ['selector.protocol', 'INVALID_ENUM'],
    ]);
  });

  it('lets validation report a missing selector and id', () => {
    const result = parseRuleInput(ruleFromWire({ ...ruleToWire(sampleRule()), selector: undefined }));
    expect(!result.ok && result.errors.map((e) => [e.field, e.code])).toEqual([['selector', 'REQUIRED']]);
    expect(ruleFromWire({ ...ruleToWire(sampleRule()), id: '' })).not.toHaveProperty('id');
  });
});

describe('settings mapping', () => {
  it('is the identity for valid settings; no message means defaults', () => {
    fc.assert(fc.property(settingsArbitrary, (s) => expect(parseSettings(settingsFromWire(pb.Settings.decode(pb.Settings.encode(settingsToWire(s)).finish())))).toEqual({ ok: true, value: s })));
    expect(settingsFromWire(undefined)).toBeUndefined();
  });
});

describe('rule set versions', () => {
  const version = (rules = [sampleRule()], settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 }): RuleSetVersion => ({
    ruleSetId: 'default',
    version: 3,
    rules,
    settings,
    contentHash: contentHash(rules, settings),
  });
  const roundTrip = (v: pb.RuleSetVersion) => ruleSetVersionFromWire(pb.RuleSetVersion.decode(pb.RuleSetVersion.encode(v).finish()));

  it('round-trips every valid version', () => {
    fc.assert(
      fc.property(ruleListArbitrary(), settingsArbitrary, (rules, settings) => {
        const v = version(rules, settings);
        expect(roundTrip(ruleSetVersionToWire(v))).toEqual({ ok: true, value: v });
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a version whose hash does not match its content', () => {
    const wire = ruleSetVersionToWire(version());
    wire.rules[0]!.selector!.localPort = 81;
    const result = roundTrip(wire);
    expect(!result.ok && result.errors.map((e) => [e.field, e.code])).toEqual([['contentHash', 'HASH_MISMATCH']]);
  });

  it('reports rule errors with index and id, and settings errors under settings.', () => {
    const wire = ruleSetVersionToWire(version([sampleRule({ id: 'a' }), sampleRule({ id: 'b' })]));
    wire.rules[1]!.selector!.localPort = 70000;
    wire.settings!.tcpTimeoutS = 0;
    wire.ruleSetId = '';
    const result = roundTrip(wire);
    expect(!result.ok && result.errors).toEqual([
      expect.objectContaining({ field: 'ruleSetId', code: 'REQUIRED' }),
      expect.objectContaining({ field: 'selector.localPort', code: 'INVALID_PORT', ruleIndex: 1, ruleId: 'b' }),
      expect.objectContaining({ field: 'settings.tcpTimeoutS', code: 'OUT_OF_RANGE' }),
    ]);
  });
});

describe('rule errors', () => {
  it('round-trips, with list-wide errors as rule_index -1', () => {
    const perRule = { field: 'selector.localMac', code: 'UNSUPPORTED_BY_DATAPLANE', message: 'needs layer 2', ruleIndex: 4, ruleId: 'r4' };
    const listWide = { field: '', code: 'RULE_LIMIT_EXCEEDED', message: 'too many' };
    expect(ruleErrorToWire(listWide)).toEqual({ ...listWide, ruleIndex: -1, ruleId: '' });
    for (const e of [perRule, listWide]) expect(ruleErrorFromWire(pb.RuleError.decode(pb.RuleError.encode(ruleErrorToWire(e)).finish()))).toEqual(e);
  });
});
