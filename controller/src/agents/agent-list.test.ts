import { types } from 'pg';
import { isoTimestamp, ParsedJsonByKey } from './agent-list';

const pgDate = types.getTypeParser(1184) as (text: string) => Date;

describe('isoTimestamp', () => {
  it('writes a UTC session timestamp as Date.toISOString does, whatever its fraction', () => {
    expect(isoTimestamp('2026-12-07 10:46:26+00')).toBe('2026-12-07T10:46:26.000Z');
    expect(isoTimestamp('2026-12-07 10:46:26.6+00')).toBe('2026-12-07T10:46:26.600Z');
    expect(isoTimestamp('2026-12-07 10:46:26.66+00')).toBe('2026-12-07T10:46:26.660Z');
    expect(isoTimestamp('2026-12-07 10:46:26.123+00')).toBe('2026-12-07T10:46:26.123Z');
    expect(isoTimestamp('2026-12-07 10:46:26.123999+00')).toBe('2026-12-07T10:46:26.123Z');
  });

  it('converts other zones through a Date', () => {
    expect(isoTimestamp('2026-12-07 12:46:26.5+02')).toBe('2026-12-07T10:46:26.500Z');
    expect(isoTimestamp('2026-12-07 05:16:26.05-05:30')).toBe('2026-12-07T10:46:26.050Z');
    expect(isoTimestamp('2026-12-07 16:16:26+05:30')).toBe('2026-12-07T10:46:26.000Z');
  });

  it('agrees with pg’s own parser on any millisecond', () => {
    for (let i = 0; i < 2000; i++) {
      const date = new Date(Date.UTC(1990, 0, 1) + Math.floor(Math.random() * 80 * 365 * 86_400_000));
      const iso = date.toISOString();
      const fraction = iso.slice(20, 23).replace(/0+$/, '');
      const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
      expect([text, isoTimestamp(text)]).toEqual([text, pgDate(text).toISOString()]);
      expect(isoTimestamp(text)).toBe(iso);
    }
  });
});

describe('ParsedJsonByKey', () => {
  const adapters = (mac: string) => JSON.stringify([{ macs: [mac], name: 'eth0', index: 2, addresses: ['192.0.2.1/24'] }]);

  it('parses a key’s text once, and again as soon as the text changes', () => {
    const cache = new ParsedJsonByKey<{ macs: string[] }[]>(10);
    const first = cache.parse('a', adapters('02:00:00:00:00:01'));
    expect(cache.parse('a', adapters('02:00:00:00:00:01'))).toBe(first);
    const changed = cache.parse('a', adapters('02:00:00:00:00:02'));
    expect(changed).not.toBe(first);
    expect(changed[0]!.macs).toEqual(['02:00:00:00:00:02']);
    expect(cache.parse('b', adapters('02:00:00:00:00:01'))).not.toBe(first);
  });

  it('shares only frozen values (no page can change what another shows)', () => {
    const value = new ParsedJsonByKey<{ macs: string[] }[]>(10).parse('a', adapters('02:00:00:00:00:01'));
    expect(() => value[0]!.macs.push('x')).toThrow(TypeError);
    expect(() => {
      value[0]!.macs = [];
    }).toThrow(TypeError);
  });

  it('keeps at most max keys, dropping the oldest first', () => {
    const cache = new ParsedJsonByKey<unknown>(2);
    const a = cache.parse('a', '[1]');
    cache.parse('b', '[2]');
    cache.parse('c', '[3]');
    expect(cache.parse('a', '[1]')).not.toBe(a);
  });
});
