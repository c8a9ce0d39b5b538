import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { classifyAddress, normalizeAddress, normalizeMac, parseIpv6 } from './address';

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', 'ipv4'],
    ['192.168.1.254', 'ipv4'],
    ['255.255.255.255', 'ipv4'],
    ['256.1.1.1', 'invalid'],
    ['01.2.3.4', 'invalid'],
    ['1.2.3', 'invalid'],
    ['1.2.3.4.5', 'invalid'],
    ['1.2.3.999', 'invalid'],
    [' 1.2.3.4', 'invalid'],
    ['::', 'ipv6'],
    ['::1', 'ipv6'],
    ['2001:db8::8a2e:370:7334', 'ipv6'],
    ['2001:0DB8:0000:0000:0000:FF00:0042:8329', 'ipv6'],
    ['fe80::', 'ipv6'],
    ['1:2:3:4:5:6:7::', 'ipv6'],
    ['::ffff:192.0.2.1', 'ipv6'],
    ['64:ff9b::192.0.2.33', 'ipv6'],
    ['1:2:3:4:5:6:1.2.3.4', 'ipv6'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['1:2:3:4:5:6:7:8::', 'invalid'],
    ['1::2::3', 'invalid'],
    [':1:2:3:4:5:6:7', 'invalid'],
    ['12345::', 'invalid'],
    ['::1.2.3.4:5', 'invalid'],
    ['1.2.3.4::', 'invalid'],
    ['fe80::1%eth0', 'invalid'],
    ['[::1]', 'invalid'],
    ['example.com', 'dns'],
    ['example.com.', 'dns'],
    ['localhost', 'dns'],
    ['xn--bcher-kva.example', 'dns'],
    ['3com.com', 'dns'],
    ['a-b.c-d', 'dns'],
    ['-ab.com', 'invalid'],
    ['ab-.com', 'invalid'],
    ['a..b', 'invalid'],
    ['under_score.com', 'invalid'],
    ['', 'invalid'],
    ['.', 'invalid'],
    ['host name', 'invalid'],
    [`${'a'.repeat(63)}.com`, 'dns'],
    [`${'a'.repeat(64)}.com`, 'invalid'],
    [`${Array(63).fill('abc').join('.')}.a`, 'dns'], // 253 characters
    [`${Array(63).fill('abc').join('.')}.ab`, 'invalid'], // 254
  ])('%s is %s', (input, kind) => {
    expect(classifyAddress(input)).toBe(kind);
  });

  it('agrees with node:net on generated IPv4 and IPv6 addresses', () => {
    fc.assert(fc.property(fc.ipV4(), (a) => classifyAddress(a) === 'ipv4'));
    fc.assert(fc.property(fc.ipV6(), (a) => classifyAddress(a) === 'ipv6' && isIPv6(a)));
  });

  it('never calls a string an IP address that node:net rejects', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.-x'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 45 }), (s) => {
        const kind = classifyAddress(s);
        if (kind === 'ipv4') return isIPv4(s);
        if (kind === 'ipv6') return isIPv6(s);
        return true;
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts generated RFC 1123 domain names', () => {
    fc.assert(fc.property(fc.domain(), (d) => classifyAddress(d) === 'dns'));
  });
});

describe('parseIpv6 / normalizeAddress', () => {
  it('expands compressed forms', () => {
    expect(parseIpv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6('::ffff:192.0.2.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
    expect(parseIpv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['Example.COM.', 'example.com'],
    ['10.0.0.1', '10.0.0.1'],
  ])('%s → %s', (input, output) => {
    expect(normalizeAddress(input)).toBe(output);
  });

  it('gives every spelling of one IPv6 address the same text', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const groups = parseIpv6(a)!;
        const spelledOut = groups.map((g) => g.toString(16).padStart(4, '0').toUpperCase()).join(':');
        return normalizeAddress(a) === normalizeAddress(spelledOut) && isIPv6(normalizeAddress(a));
      }),
    );
  });
});

describe('normalizeMac', () => {
  it.each([
    ['aa:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff'],
    ['AA-BB-CC-DD-EE-0F', 'aa:bb:cc:dd:ee:0f'],
    ['00:1A:2b:3C:4d:5E', '00:1a:2b:3c:4d:5e'],
  ])('%s → %s', (input, output) => {
    expect(normalizeMac(input)).toBe(output);
  });

  it.each(['aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa-bb:cc:dd:ee:ff', 'aabbccddeeff', 'gg:bb:cc:dd:ee:ff', 'a:bb:cc:dd:ee:ff', ''])(
    'rejects %p',
    (input) => {
      expect(normalizeMac(input)).toBeNull();
    },
  );
});

it('imports nothing, so the console can bundle it for the browser', () => {
  // console/tsconfig.json maps @portfleet/proto/rules/address straight to this file.
  const source = readFileSync(join(__dirname, 'address.ts'), 'utf8');
  expect(source).not.toMatch(/^\s*import\s|require\(/m);
});
