/**
 * Address and MAC text → the numeric form the engine compares and writes: an IP address is four
 * big-endian 32-bit words (IPv4 uses word 0, the rest stay 0), a MAC six bytes. Used at apply
 * time only; the rules were validated before, so `null` means "not a literal" (a DNS name).
 */
export interface AddressWords {
  family: 4 | 6;
  words: Uint32Array;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4Words(text: string): number | null {
  const m = IPV4.exec(text);
  if (!m) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** The eight 16-bit groups of an IPv6 literal (`::` and a trailing dotted quad allowed), or null. */
function parseIpv6Groups(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const side = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (/^[0-9a-fA-F]{1,4}$/.test(piece)) groups.push(parseInt(piece, 16));
      else if (last && i === pieces.length - 1 && parseIpv4Words(piece) !== null) {
        const v4 = parseIpv4Words(piece)!;
        groups.push(Math.floor(v4 / 65536), v4 % 65536);
      } else return null;
    }
    return groups;
  };
  if (halves.length === 1) {
    const all = side(halves[0]!, true);
    return all && all.length === 8 ? all : null;
  }
  const head = side(halves[0]!, false);
  const tail = side(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

export function parseAddressWords(text: string): AddressWords | null {
  const v4 = parseIpv4Words(text);
  if (v4 !== null) return { family: 4, words: Uint32Array.of(v4, 0, 0, 0) };
  const zone = text.indexOf('%'); // a zone id (fe80::1%eth0) does not travel in packets
  const groups = parseIpv6Groups(zone >= 0 ? text.slice(0, zone) : text);
  if (!groups) return null;
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = groups[2 * i]! * 65536 + groups[2 * i + 1]!;
  return { family: 6, words };
}

export function isAddressLiteral(text: string): boolean {
  return parseAddressWords(text) !== null;
}

export function parseMac(text: string): Uint8Array | null {
  const m = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(
    text.trim(),
  );
  if (!m) return null;
  return Uint8Array.from(m.slice(1, 7), (h) => parseInt(h, 16));
}
