import { randomBytes } from 'node:crypto';
import { OUI_VENDORS, type OuiVendor } from './oui-vendors';

/** A MAC the agent refused; the message says why, in the words MAC changer users know. */
export class MacAddressError extends Error {
  readonly code = 'INVALID_MAC';
}

/** Bit 0 of the first octet: group (multicast/broadcast) address. */
const GROUP_BIT = 0x01;
/** Bit 1 of the first octet: locally administered (not assigned by a vendor). */
const LOCAL_BIT = 0x02;

/**
 * Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` and `aabbccddeeff` (any
 * case); returns the lower-case colon form. An adapter's own address must be unicast and not all
 * zeros; locally administered addresses are fine.
 */
export function parseMac(text: string): string {
  const hex = text.trim().toLowerCase();
  const digits = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(hex)
    ? hex.replace(/[:-]/g, '')
    : /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(hex)
      ? hex.replace(/\./g, '')
      : /^[0-9a-f]{12}$/.test(hex)
        ? hex
        : undefined;
  if (digits === undefined) throw new MacAddressError(`"${text}" is not a MAC address (expected aa:bb:cc:dd:ee:ff)`);
  const first = parseInt(digits.slice(0, 2), 16);
  if (first & GROUP_BIT) throw new MacAddressError(`${text} is a multicast/broadcast address (bit 0 of the first octet is set); an adapter needs a unicast address`);
  if (/^0{12}$/.test(digits)) throw new MacAddressError(`${text} is all zeros`);
  return digits.match(/../g)!.join(':');
}

export function isLocallyAdministered(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & LOCAL_BIT) !== 0;
}

/** `--vendor local`: a random locally administered unicast address instead of a vendor's. */
export const LOCAL_VENDOR = 'local';

export function findVendor(name: string): OuiVendor | undefined {
  const wanted = name.trim().toLowerCase();
  return OUI_VENDORS.find((v) => v.name.toLowerCase() === wanted);
}

/**
 * A random MAC: a vendor's OUI (a random one of its prefixes; any vendor when `vendor` is empty)
 * followed by three random octets, so the address is universally administered like real hardware.
 * `local` gives a fully random locally administered address (x2, x6, xA or xE first octet), which
 * is what Windows Wi-Fi drivers insist on.
 */
export function randomMac(vendor = '', random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(6);
  if (vendor.trim().toLowerCase() === LOCAL_VENDOR) {
    bytes[0] = (bytes[0]! & ~GROUP_BIT) | LOCAL_BIT;
    return format(bytes);
  }
  const chosen = vendor.trim() === '' ? OUI_VENDORS[bytes[0]! % OUI_VENDORS.length]! : findVendor(vendor);
  if (!chosen) throw new MacAddressError(`unknown vendor "${vendor}"; known: ${OUI_VENDORS.map((v) => v.name).join(', ')}, or ${LOCAL_VENDOR}`);
  const oui = chosen.ouis[bytes[1]! % chosen.ouis.length]!.split(':').map((h) => parseInt(h, 16));
  bytes.set(oui, 0);
  return format(bytes);
}

/** The vendor whose OUI `mac` carries, if it is in our list. */
export function vendorOf(mac: string): string | undefined {
  const oui = mac.toLowerCase().slice(0, 8);
  return OUI_VENDORS.find((v) => v.ouis.includes(oui))?.name;
}

function format(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
