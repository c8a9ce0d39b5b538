import fc from 'fast-check';
import { ruleListArbitrary, sampleRule, settingsArbitrary } from '../../test/support/rule-arbitrary';
import { exportRules, parseRulesFile } from './file-format';
import { DEFAULT_SETTINGS } from './model';

const header = { format: 'portfleet-rules', version: 1, exportedAt: '2026-11-25T10:00:00.000Z' };
const file = (body: Record<string, unknown>) => JSON.stringify({ ...header, ...body });
const errorsOf = (text: string) => {
  const result = parseRulesFile(text);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
};

describe('exportRules', () => {
  it('writes the documented, pretty-printed format', () => {
    const text = exportRules([sampleRule()], DEFAULT_SETTINGS, new Date('2026-11-25T10:00:00Z'));
    expect(text).toBe(`{
  "format": "portfleet-rules",
  "version": 1,
  "exportedAt": "2026-11-25T10:00:00.000Z",
  "settings": {
    "applyDelayMs": 0,
    "tcpTimeoutS": 300,
    "udpTimeoutS": 60
  },
  "rules": [
    {
      "id": "r1",
      "enabled": true,
      "description": "",
      "activityMonitoring": true,
      "selector": {
        "direction": "inbound",
        "protocol": "tcp",
        "localPort": 80
      },
      "forwardAs": {
        "localPort": 8080
      }
    }
  ]
}
`);
  });

  it('imports back to the same rules and settings', () => {
    fc.assert(
      fc.property(ruleListArbitrary(), settingsArbitrary, (rules, settings) => {
        expect(parseRulesFile(exportRules(rules, settings))).toEqual({ ok: true, value: { rules, settings } });
      }),
      { numRuns: 50 },
    );
  });
});

describe('parseRulesFile', () => {
  it('says where a JSON syntax error is', () => {
    const text = '{\n  "format": "portfleet-rules",\n  "version": 1,\n  "rules": [ { "enabled": true, } ]\n}';
    expect(errorsOf(text)).toEqual([
      { field: '', code: 'INVALID_JSON', message: 'is not valid JSON at line 4, column 33 (offset 81): PropertyNameExpected' },
    ]);
    expect(errorsOf('')[0]!.code).toBe('INVALID_JSON');
    expect(errorsOf('{"format": "portfleet-rules"} x')[0]!.message).toContain('line 1, column 31');
  });

  it.each([
    ['[]', 'INVALID_FORMAT', ''],
    ['{"rules": []}', 'REQUIRED', 'format'],
    ['{"format": "iptables-save", "version": 1, "rules": []}', 'INVALID_FORMAT', 'format'],
    ['{"format": "portfleet-rules", "rules": []}', 'REQUIRED', 'version'],
    ['{"format": "portfleet-rules", "version": 2, "rules": []}', 'UNSUPPORTED_VERSION', 'version'],
    ['{"format": "portfleet-rules", "version": "1", "rules": []}', 'UNSUPPORTED_VERSION', 'version'],
  ])('%s → %s on %p', (text, code, field) => {
    expect(errorsOf(text).map((e) => [e.field, e.code])).toEqual([[field, code]]);
  });

  it('reports every error of every rule with its index and field, and file-level errors by path', () => {
    const text = file({
      comment: 'hi',
      exportedAt: 'yesterday',
      settings: { tcpTimeoutS: 0 },
      rules: [
        sampleRule({ id: 'ok' }),
        { id: 'bad', selector: { direction: 'inbound', protocol: 'icmp', localPort: 0 } },
        { selector: { direction: 'outbound', protocol: 'udp' }, forwardAs: { localMac: 'nope' } },
        sampleRule({ id: 'ok' }),
      ],
    });
    expect(errorsOf(text).map(({ field, code, ruleIndex, ruleId }) => ({ field, code, ruleIndex, ruleId }))).toEqual([
      { field: 'comment', code: 'UNKNOWN_FIELD', ruleIndex: undefined, ruleId: undefined },
      { field: 'exportedAt', code: 'INVALID_TYPE', ruleIndex: undefined, ruleId: undefined },
      { field: 'settings.tcpTimeoutS', code: 'OUT_OF_RANGE', ruleIndex: undefined, ruleId: undefined },
      { field: 'selector.protocol', code: 'INVALID_ENUM', ruleIndex: 1, ruleId: 'bad' },
      { field: 'selector.localPort', code: 'INVALID_PORT', ruleIndex: 1, ruleId: 'bad' },
      { field: 'forwardAs.localMac', code: 'INVALID_MAC', ruleIndex: 2, ruleId: undefined },
      { field: 'id', code: 'DUPLICATE_ID', ruleIndex: 3, ruleId: 'ok' },
    ]);
  });

  it('requires a rules array and an object for settings', () => {
    expect(errorsOf(file({})).map((e) => [e.field, e.code])).toEqual([['rules', 'REQUIRED']]);
    expect(errorsOf(file({ rules: {}, settings: 5 })).map((e) => [e.field, e.code])).toEqual([
      ['settings', 'INVALID_TYPE'],
      ['rules', 'INVALID_TYPE'],
    ]);
  });

  it('gives rules without an id a fresh UUID and settings their defaults', () => {
    const result = parseRulesFile(file({ rules: [{ selector: { direction: 'inbound', protocol: 'tcp' } }, { selector: { direction: 'inbound', protocol: 'udp' } }] }));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const [a, b] = result.value.rules.map((r) => r.id);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
    expect(result.value.settings).toEqual(DEFAULT_SETTINGS);
  });

  it('reads a file that starts with a UTF-8 byte-order mark', () => {
    expect(parseRulesFile(`\uFEFF${exportRules([sampleRule()], DEFAULT_SETTINGS)}`)).toEqual({ ok: true, value: { rules: [sampleRule()], settings: DEFAULT_SETTINGS } });
  });

  it('never throws on arbitrary text or JSON', () => {
    fc.assert(fc.property(fc.string(), (text) => parseRulesFile(text).ok === false));
    fc.assert(fc.property(fc.jsonValue(), (value) => parseRulesFile(JSON.stringify(value)) !== undefined));
    fc.assert(fc.property(fc.jsonValue(), (rules) => parseRulesFile(file({ rules })) !== undefined));
  });
});
