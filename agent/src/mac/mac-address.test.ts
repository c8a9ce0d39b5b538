import { isLocallyAdministered, parseMac, randomMac, vendorOf } from './mac-address';
import { OUI_VENDORS } from './oui-vendors';

describe('parseMac', () => {
  it('accepts the usual spellings and returns the colon form', () => {
    for (const text of ['00:1B:21:0a:0b:0c', '00-1b-21-0A-0B-0C', '001b.210a.0b0c', '001B210A0B0C', ' 00:1b:21:0a:0b:0c ']) {
      expect(parseMac(text)).toBe('00:1b:21:0a:0b:0c');
    }
    expect(parseMac('02:00:00:00:00:01')).toBe('02:00:00:00:00:01'); // locally administered is fine
  });

  it('refuses what an adapter cannot carry, saying why', () => {
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(() => parseMac('ff:ff:ff:ff:ff:ff')).toThrow(/multicast\/broadcast/);
    expect(() => parseMac('00:00:00:00:00:00')).toThrow(/all zeros/);
    for (const bad of ['00:1b:21:0a:0b', '00:1b:21-0a:0b:0c', 'zz:1b:21:0a:0b:0c', '', '00:1b:21:0a:0b:0c:0d']) {
      expect(() => parseMac(bad)).toThrow(/not a MAC address/);
    }
  });
});

describe('randomMac', () => {
  const counter = () => {
    let n = 0;
    return (size: number) => Uint8Array.from({ length: size }, () => (n += 37) & 0xff);
  };

  it('uses an OUI of the asked vendor and random device octets', () => {
    for (const vendor of ['Intel', 'intel', ' Raspberry Pi ']) {
      const mac = randomMac(vendor);
      expect(vendorOf(mac)).toBe(vendor.trim().toLowerCase() === 'intel' ? 'Intel' : 'Raspberry Pi');
      expect(parseMac(mac)).toBe(mac);
      expect(isLocallyAdministered(mac)).toBe(false);
    }
    const many = new Set(Array.from({ length: 20 }, () => randomMac('Cisco')));
    expect(many.size).toBeGreaterThan(15);
  });

  it('without a vendor picks one of the list; "local" gives a locally administered unicast address', () => {
    expect(vendorOf(randomMac('', counter()))).toBeDefined();
    for (let i = 0; i < 50; i++) {
      const mac = randomMac('local');
      expect(isLocallyAdministered(mac)).toBe(true);
      expect(parseInt(mac.slice(0, 2), 16) & 1).toBe(0);
    }
  });

  it('refuses an unknown vendor naming the known ones', () => {
    expect(() => randomMac('Acme Widgets')).toThrow(/unknown vendor "Acme Widgets"; known: Intel, .*local/);
  });
});

describe('the OUI list', () => {
  it('has about 30 vendors whose OUIs are unicast, universally administered and unique', () => {
    expect(OUI_VENDORS.length).toBeGreaterThanOrEqual(30);
    const all = OUI_VENDORS.flatMap((v) => v.ouis);
    expect(new Set(all).size).toBe(all.length);
    for (const oui of all) {
      expect(oui).toMatch(/^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      expect(parseInt(oui.slice(0, 2), 16) & 0x03).toBe(0);
    }
  });
});
