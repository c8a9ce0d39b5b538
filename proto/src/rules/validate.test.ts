import fc from 'fast-check';
import { ruleArbitrary, sampleRule, settingsArbitrary } from '../../test/support/rule-arbitrary';
import type { FieldError } from './field-error';
import { DEFAULT_SETTINGS } from './model';
import { formatFieldErrors, parseRuleInput, parseRuleList, parseSettings } from './validate';

function errorsOf(input: unknown): Pick<FieldError, 'field' | 'code'>[] {
  const result = parseRuleInput(input);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.errors.map(({ field, code }) => ({ field, code }));
}

const inbound = { direction: 'inbound', protocol: 'tcp' };

describe('parseRuleInput', () => {
  it('fills defaults for a minimal rule', () => {
    expect(parseRuleInput({ selector: { direction: 'outbound', protocol: 'udp' } })).toEqual({
      ok: true,
      value: {
        enabled: true,
        description: '',
        activityMonitoring: true,
        selector: { direction: 'outbound', protocol: 'udp' },
        forwardAs: {},
      },
    });
  });

  it('keeps every field of a full rule, normalizing MACs and dropping defaults', () => {
    const result = parseRuleInput({
      id: 'abc',
      enabled: false,
      description: 'relay web to 10.0.0.2',
      activityMonitoring: false,
      selector: {
        ...inbound,
        localPort: 80,
        remotePort: 1234,
        localAddress: '10.0.0.1',
        remoteAddress: 'client.example',
        localMac: 'AA-BB-CC-DD-EE-FF',
        remoteMac: '00:11:22:33:44:55',
        adapter: 'eth0',
      },
      forwardAs: {
        localPort: 8080,
        remotePort: 9,
        localAddress: '10.0.0.9',
        remoteAddress: '10.0.0.2',
        localMac: '02:00:00:00:00:01',
        remoteMac: '02-00-00-00-00-02',
        adapter: '7',
        reflection: 'none',
        clone: false,
      },
    });
    expect(result).toEqual({
      ok: true,
      value: {
        id: 'abc',
        enabled: false,
        description: 'relay web to 10.0.0.2',
        activityMonitoring: false,
        selector: {
          ...inbound,
          localPort: 80,
          remotePort: 1234,
          localAddress: '10.0.0.1',
          remoteAddress: 'client.example',
          localMac: 'aa:bb:cc:dd:ee:ff',
          remoteMac: '00:11:22:33:44:55',
          adapter: 'eth0',
        },
        forwardAs: {
          localPort: 8080,
          remotePort: 9,
          localAddress: '10.0.0.9',
          remoteAddress: '10.0.0.2',
          localMac: '02:00:00:00:00:01',
          remoteMac: '02:00:00:00:00:02',
          adapter: '7',
        },
      },
    });
  });

  it('treats null as not set for optional fields', () => {
    const result = parseRuleInput({ description: null, selector: { ...inbound, localPort: null }, forwardAs: null });
    expect(result).toEqual({ ok: true, value: expect.objectContaining({ description: '', selector: inbound, forwardAs: {} }) });
  });

  it.each([
    [null, [{ field: '', code: 'REQUIRED' }]],
    ['rule', [{ field: '', code: 'INVALID_TYPE' }]],
    [[], [{ field: '', code: 'INVALID_TYPE' }]],
    [{}, [{ field: 'selector', code: 'REQUIRED' }]],
    [{ selector: [] }, [{ field: 'selector', code: 'INVALID_TYPE' }]],
    [{ selector: {} }, [{ field: 'selector.direction', code: 'REQUIRED' }, { field: 'selector.protocol', code: 'REQUIRED' }]],
    [{ selector: { direction: 'in', protocol: 'TCP' } }, [{ field: 'selector.direction', code: 'INVALID_ENUM' }, { field: 'selector.protocol', code: 'INVALID_ENUM' }]],
    [{ selector: { ...inbound, localPort: 0 } }, [{ field: 'selector.localPort', code: 'INVALID_PORT' }]],
    [{ selector: { ...inbound, localPort: 65536 } }, [{ field: 'selector.localPort', code: 'INVALID_PORT' }]],
    [{ selector: { ...inbound, remotePort: 80.5 } }, [{ field: 'selector.remotePort', code: 'INVALID_PORT' }]],
    [{ selector: { ...inbound, remotePort: '80' } }, [{ field: 'selector.remotePort', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, forwardAs: { localPort: -1 } }, [{ field: 'forwardAs.localPort', code: 'INVALID_PORT' }]],
    [{ selector: { ...inbound, localAddress: '300.1.1.1' } }, [{ field: 'selector.localAddress', code: 'INVALID_ADDRESS' }]],
    [{ selector: { ...inbound, localAddress: '' } }, [{ field: 'selector.localAddress', code: 'INVALID_ADDRESS' }]],
    [{ selector: inbound, forwardAs: { remoteAddress: 'bad_name' } }, [{ field: 'forwardAs.remoteAddress', code: 'INVALID_ADDRESS' }]],
    [{ selector: inbound, forwardAs: { remoteAddress: 7 } }, [{ field: 'forwardAs.remoteAddress', code: 'INVALID_TYPE' }]],
    [{ selector: { ...inbound, localMac: 'aa:bb:cc:dd:ee' } }, [{ field: 'selector.localMac', code: 'INVALID_MAC' }]],
    [{ selector: inbound, forwardAs: { remoteMac: 'aabbccddeeff' } }, [{ field: 'forwardAs.remoteMac', code: 'INVALID_MAC' }]],
    [{ selector: { ...inbound, adapter: '' } }, [{ field: 'selector.adapter', code: 'INVALID_ADAPTER' }]],
    [{ selector: inbound, forwardAs: { adapter: 'x'.repeat(257) } }, [{ field: 'forwardAs.adapter', code: 'TOO_LONG' }]],
    [{ selector: inbound, description: 'x'.repeat(257) }, [{ field: 'description', code: 'TOO_LONG' }]],
    [{ selector: inbound, description: 5 }, [{ field: 'description', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, forwardAs: { reflection: 'bounce' } }, [{ field: 'forwardAs.reflection', code: 'INVALID_ENUM' }]],
    [{ selector: inbound, forwardAs: { clone: 'yes' } }, [{ field: 'forwardAs.clone', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, enabled: 1 }, [{ field: 'enabled', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, activityMonitoring: 'true' }, [{ field: 'activityMonitoring', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, id: '' }, [{ field: 'id', code: 'INVALID_ID' }]],
    [{ selector: inbound, id: 12 }, [{ field: 'id', code: 'INVALID_TYPE' }]],
    [{ selector: inbound, id: 'x'.repeat(129) }, [{ field: 'id', code: 'TOO_LONG' }]],
    [{ selector: inbound, name: 'web' }, [{ field: 'name', code: 'UNKNOWN_FIELD' }]],
    [{ selector: { ...inbound, port: 80 } }, [{ field: 'selector.port', code: 'UNKNOWN_FIELD' }]],
    [{ selector: inbound, forwardAs: { direction: 'inbound' } }, [{ field: 'forwardAs.direction', code: 'UNKNOWN_FIELD' }]],
    [JSON.parse('{"selector": {"direction": "inbound", "protocol": "tcp"}, "__proto__": {"enabled": false}}'), [{ field: '__proto__', code: 'UNKNOWN_FIELD' }]],
  ])('%j → %j', (input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });

  it('accepts the edges of every range', () => {
    for (const localPort of [1, 65535]) expect(parseRuleInput({ selector: { ...inbound, localPort } }).ok).toBe(true);
    expect(parseRuleInput({ selector: { ...inbound, adapter: 'x'.repeat(256) }, description: 'd'.repeat(256) }).ok).toBe(true);
  });

  it('reports every problem at once, not just the first', () => {
    expect(
      errorsOf({
        extra: true,
        enabled: 'no',
        selector: { direction: 'sideways', protocol: 'tcp', localPort: 0, remoteMac: 'zz' },
        forwardAs: { remoteAddress: '1.2.3', reflection: 'mirror', clone: 1 },
      }),
    ).toEqual([
      { field: 'extra', code: 'UNKNOWN_FIELD' },
      { field: 'enabled', code: 'INVALID_TYPE' },
      { field: 'selector.direction', code: 'INVALID_ENUM' },
      { field: 'selector.localPort', code: 'INVALID_PORT' },
      { field: 'selector.remoteMac', code: 'INVALID_MAC' },
      { field: 'forwardAs.remoteAddress', code: 'INVALID_ADDRESS' },
      { field: 'forwardAs.clone', code: 'INVALID_TYPE' },
    ]);
  });

  describe('address families', () => {
    it.each([
      [{ remoteAddress: '192.0.2.1' }, { localAddress: '2001:db8::1' }, 'forwardAs.localAddress'],
      [{ localAddress: '2001:db8::1', remoteAddress: '192.0.2.1' }, {}, 'selector.remoteAddress'],
      [{}, { localAddress: '192.0.2.9', remoteAddress: 'fd00::9' }, 'forwardAs.remoteAddress'],
      [{ localAddress: '::ffff:192.0.2.1' }, { remoteAddress: '192.0.2.2' }, 'forwardAs.remoteAddress'],
    ])('selector %j with forwardAs %j → ADDRESS_FAMILY_MISMATCH on %s', (selector, forwardAs, field) => {
      const errors = errorsOf({ selector: { ...inbound, ...selector }, forwardAs });
      expect(errors).toEqual([{ field, code: 'ADDRESS_FAMILY_MISMATCH' }]);
    });

    it.each([
      [{ remoteAddress: '192.0.2.1' }, { localAddress: '192.0.2.9', remoteAddress: 'gw.example' }],
      [{ remoteAddress: 'host.example' }, { remoteAddress: '2001:db8::1' }],
      [{ localAddress: 'fd00::1', remoteAddress: 'fd00::2' }, { remoteAddress: '::1' }],
    ])('selector %j with forwardAs %j is fine', (selector, forwardAs) => {
      expect(parseRuleInput({ selector: { ...inbound, ...selector }, forwardAs }).ok).toBe(true);
    });

    it('names the field it compares with', () => {
      const result = parseRuleInput({ selector: { ...inbound, remoteAddress: '192.0.2.1' }, forwardAs: { remoteAddress: '::1' } });
      expect(!result.ok && result.errors[0]!.message).toContain('selector.remoteAddress');
    });
  });

  it('never throws, and every error names a field, a code and a message (arbitrary JSON)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (input) => {
        const result = parseRuleInput(input);
        return result.ok || (result.errors.length > 0 && result.errors.every((e) => typeof e.field === 'string' && e.code !== '' && e.message !== ''));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on rule-shaped input with random field values', () => {
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom('inbound', 'tcp', 'mirror', '10.0.0.1', '::1', 'aa:bb:cc:dd:ee:ff'), fc.integer());
    const fields = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), value);
    const ruleShaped = fc.record({
      selector: fields(['direction', 'protocol', 'localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter', 'x']),
      forwardAs: fields(['localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter', 'reflection', 'clone', 'y']),
      enabled: value,
      description: value,
    });
    fc.assert(fc.property(ruleShaped, (input) => {
      const result = parseRuleInput(input);
      return result.ok || result.errors.length > 0;
    }), { numRuns: 2000 });
  });

  it('accepts every valid rule unchanged (canonical form is a fixed point)', () => {
    fc.assert(fc.property(ruleArbitrary, (rule) => {
      expect(parseRuleInput(rule)).toEqual({ ok: true, value: rule });
    }));
  });
});

describe('parseRuleList', () => {
  it('rejects a non-array as a whole', () => {
    expect(parseRuleList({})).toEqual({ ok: false, errors: [{ field: '', code: 'INVALID_TYPE', message: 'must be an array of rules' }] });
  });

  it('tags errors with the index and id of their rule', () => {
    const result = parseRuleList([sampleRule({ id: 'a' }), { ...sampleRule({ id: 'b' }), selector: { ...inbound, localPort: 0 } }, { selector: inbound }]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      { field: 'selector.localPort', code: 'INVALID_PORT', message: 'must be an integer 1-65535', ruleIndex: 1, ruleId: 'b' },
      { field: 'id', code: 'REQUIRED', message: 'is required', ruleIndex: 2 },
    ]);
  });

  it('rejects duplicate ids, naming the first rule that has it', () => {
    const result = parseRuleList([sampleRule({ id: 'x' }), sampleRule({ id: 'y' }), sampleRule({ id: 'x' })]);
    expect(!result.ok && result.errors).toEqual([
      { field: 'id', code: 'DUPLICATE_ID', message: 'repeats the id of rule 0', ruleIndex: 2, ruleId: 'x' },
    ]);
  });

  it('assigns ids to rules without one when asked', () => {
    let n = 0;
    const result = parseRuleList([{ selector: inbound }, sampleRule({ id: 'kept' })], { assignId: () => `new-${n++}` });
    expect(result.ok && result.value.map((r) => r.id)).toEqual(['new-0', 'kept']);
  });
});

describe('parseSettings', () => {
  it('fills defaults for missing fields and missing settings', () => {
    expect(parseSettings(undefined)).toEqual({ ok: true, value: DEFAULT_SETTINGS });
    expect(parseSettings({ tcpTimeoutS: 30 })).toEqual({ ok: true, value: { ...DEFAULT_SETTINGS, tcpTimeoutS: 30 } });
  });

  it.each([
    [{ applyDelayMs: 0, tcpTimeoutS: 1, udpTimeoutS: 86_400 }, []],
    [{ applyDelayMs: 3_600_000 }, []],
    [{ applyDelayMs: -1 }, [{ field: 'applyDelayMs', code: 'OUT_OF_RANGE' }]],
    [{ applyDelayMs: 3_600_001 }, [{ field: 'applyDelayMs', code: 'OUT_OF_RANGE' }]],
    [{ tcpTimeoutS: 0, udpTimeoutS: 86_401 }, [{ field: 'tcpTimeoutS', code: 'OUT_OF_RANGE' }, { field: 'udpTimeoutS', code: 'OUT_OF_RANGE' }]],
    [{ udpTimeoutS: 1.5 }, [{ field: 'udpTimeoutS', code: 'OUT_OF_RANGE' }]],
    [{ udpTimeoutS: '60' }, [{ field: 'udpTimeoutS', code: 'INVALID_TYPE' }]],
    [{ timeout: 5 }, [{ field: 'timeout', code: 'UNKNOWN_FIELD' }]],
    [[], [{ field: '', code: 'INVALID_TYPE' }]],
  ])('%j → %j', (input, expected) => {
    const result = parseSettings(input);
    expect(result.ok ? [] : result.errors.map(({ field, code }) => ({ field, code }))).toEqual(expected);
  });

  it('accepts every valid settings object unchanged and never throws', () => {
    fc.assert(fc.property(settingsArbitrary, (s) => expect(parseSettings(s)).toEqual({ ok: true, value: s })));
    fc.assert(fc.property(fc.jsonValue(), (input) => parseSettings(input) !== undefined));
  });
});

it('formats errors one per line with rule and field', () => {
  expect(formatFieldErrors([{ field: 'selector.localPort', code: 'INVALID_PORT', message: 'must be an integer 1-65535', ruleIndex: 2 }, { field: '', code: 'INVALID_TYPE', message: 'must be an array' }])).toBe(
    'rule 2: selector.localPort: must be an integer 1-65535 [INVALID_PORT]\n(whole): must be an array [INVALID_TYPE]',
  );
});
