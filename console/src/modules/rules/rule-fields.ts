/**
 * The optional endpoint fields shared by the Traffic Selector and the Forward As sections
 * (SPEC §1), described once so both sections, the summary and the draft agree.
 */
export const ENDPOINT_KEYS = ['localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter'] as const;
export type EndpointKey = (typeof ENDPOINT_KEYS)[number];

export type FieldKind = 'port' | 'address' | 'mac' | 'adapter';

export interface EndpointField {
  key: EndpointKey;
  label: string;
  kind: FieldKind;
  placeholder: string;
}

export const ENDPOINT_FIELDS: readonly EndpointField[] = [
  { key: 'localPort', label: 'Local port', kind: 'port', placeholder: '1-65535' },
  { key: 'remotePort', label: 'Remote port', kind: 'port', placeholder: '1-65535' },
  { key: 'localAddress', label: 'Local address', kind: 'address', placeholder: 'IPv4, IPv6 or DNS name' },
  { key: 'remoteAddress', label: 'Remote address', kind: 'address', placeholder: 'IPv4, IPv6 or DNS name' },
  { key: 'localMac', label: 'Local MAC', kind: 'mac', placeholder: 'aa:bb:cc:dd:ee:ff' },
  { key: 'remoteMac', label: 'Remote MAC', kind: 'mac', placeholder: 'aa:bb:cc:dd:ee:ff' },
  { key: 'adapter', label: 'Adapter', kind: 'adapter', placeholder: 'name or interface index' },
];
