/**
 * What an address field holds, for the hint under the input. A local copy: `@portfleet/proto`
 * has no address classifier yet (its validation decides what the controller accepts; this only
 * tells the operator how their text reads).
 */
export type AddressKind = 'ipv4' | 'ipv6' | 'dns' | 'invalid';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function isIpv6(text: string): boolean {
  if (!text.includes(':') || /[^0-9a-f:.]/i.test(text)) return false;
  try {
    // The URL parser implements the full IPv6 text grammar (::, embedded IPv4 …).
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function isDnsName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // An all-numeric last label would be a mistyped IPv4 address, not a name.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return false;
  return labels.every((label) => LABEL.test(label));
}

export function classifyAddress(text: string): AddressKind {
  const value = text.trim();
  if (IPV4.test(value)) return 'ipv4';
  if (isIpv6(value)) return 'ipv6';
  if (isDnsName(value)) return 'dns';
  return 'invalid';
}
