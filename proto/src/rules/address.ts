/**
 * Address and MAC syntax shared by validation, lint and the console's inline hints. Pure string
 * work with no Node imports, so the browser can use it too.
 */
export type AddressKind = 'ipv4' | 'ipv6' | 'dns' | 'invalid';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
// Leading zeros are rejected: "010.0.0.1" means 8.0.0.1 to some resolvers and 10.0.0.1 to others.
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const ALL_DIGITS = /^\d+$/;
const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}$/;

export function classifyAddress(s: string): AddressKind {
  if (typeof s !== 'string') return 'invalid';
  if (IPV4.test(s)) return 'ipv4';
  if (s.includes(':')) return parseIpv6(s) ? 'ipv6' : 'invalid';
  return isDnsName(s) ? 'dns' : 'invalid';
}

/** RFC 1123 host name: labels of letters, digits and inner hyphens, ≤ 63 each, ≤ 253 in all. */
function isDnsName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s; // a fully qualified name may end in the root dot
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((label) => DNS_LABEL.test(label))) return false;
  // An all-numeric last label would make "1.2.3.999" a name; RFC 3696 §2 forbids it.
  return !ALL_DIGITS.test(labels[labels.length - 1]!);
}

/** The eight 16-bit groups of an IPv6 address (compressed and IPv4-mapped forms too), or null. */
export function parseIpv6(s: string): number[] | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  // A dotted quad may only end the address (e.g. ::ffff:192.0.2.1).
  const head = parseGroups(halves[0]!, !compressed);
  const tail = compressed ? parseGroups(halves[1]!, true) : [];
  if (!head || !tail) return null;
  if (!compressed) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function parseGroups(text: string, mayEndInIpv4: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else if (mayEndInIpv4 && i === parts.length - 1 && IPV4.test(part)) {
      const [a, b, c, d] = part.split('.').map(Number) as [number, number, number, number];
      groups.push((a << 8) | b, (c << 8) | d);
    } else {
      return null;
    }
  }
  return groups;
}

/**
 * One text per address so equal addresses compare equal: IPv4 as is, IPv6 in RFC 5952 form
 * (lower case, longest zero run compressed, IPv4-mapped in mixed notation), DNS names in lower
 * case without the root dot. Invalid input is returned unchanged.
 */
export function normalizeAddress(s: string): string {
  switch (classifyAddress(s)) {
    case 'ipv6':
      return formatIpv6(parseIpv6(s)!);
    case 'dns':
      return (s.endsWith('.') ? s.slice(0, -1) : s).toLowerCase();
    default:
      return s;
  }
}

function formatIpv6(groups: number[]): string {
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** `aa:bb:cc:dd:ee:ff` or `AA-BB-CC-DD-EE-FF` (one separator throughout) → lower-case colon form. */
export function normalizeMac(s: string): string | null {
  if (typeof s !== 'string' || !MAC.test(s)) return null;
  return s.toLowerCase().replaceAll('-', ':');
}
