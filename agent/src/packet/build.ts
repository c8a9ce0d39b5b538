/**
 * Builds whole packets with checksums computed from scratch (RFC 1071), for tests, benchmarks and
 * the memory data plane. Not on the packet path: it allocates freely.
 */
import { parseAddressWords, parseMac } from './address-text';
import { fold, sumWords } from './checksum';
import { ETHERNET, EtherType } from './ethernet';
import { IPV4 } from './ipv4';
import { IPV6 } from './ipv6';
import { IP_PROTOCOL_TCP, TCP } from './tcp';
import { IP_PROTOCOL_UDP, UDP } from './udp';

export interface PacketSpec {
  protocol: 'tcp' | 'udp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** Ethernet header in front (layer 2). */
  ethernet?: { src: string; dst: string };
  /** IPv4 options (a multiple of 4 bytes). */
  ipv4Options?: Uint8Array;
  /** IPv6 extension headers to put between the header and TCP/UDP, e.g. destination options. */
  ipv6Extensions?: { type: number; body: Uint8Array }[];
  /** IPv4 only: send the UDP datagram without a checksum (field 0). */
  udpNoChecksum?: boolean;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  ttl?: number;
  ident?: number;
}

export function buildPacket(spec: PacketSpec): Uint8Array {
  const src = parseAddressWords(spec.src);
  const dst = parseAddressWords(spec.dst);
  if (!src || !dst || src.family !== dst.family) throw new Error(`bad addresses ${spec.src} → ${spec.dst}`);
  const payload = spec.payload ?? new Uint8Array(0);
  const tcp = spec.protocol === 'tcp';
  const l4Len = (tcp ? TCP.MIN_HEADER_LEN : UDP.HEADER_LEN) + payload.length;
  const l4 = new Uint8Array(l4Len);
  const l4v = new DataView(l4.buffer);
  l4v.setUint16(0, spec.srcPort);
  l4v.setUint16(2, spec.dstPort);
  if (tcp) {
    l4v.setUint32(TCP.SEQUENCE, spec.seq ?? 0x01020304);
    l4v.setUint32(TCP.ACK, spec.ack ?? 0);
    l4[TCP.DATA_OFFSET] = 5 << 4;
    l4[TCP.FLAGS] = spec.tcpFlags ?? 0x02;
    l4v.setUint16(TCP.WINDOW, 65535);
    l4.set(payload, TCP.MIN_HEADER_LEN);
  } else {
    l4v.setUint16(UDP.LENGTH, l4Len);
    l4.set(payload, UDP.HEADER_LEN);
  }
  const protocol = tcp ? IP_PROTOCOL_TCP : IP_PROTOCOL_UDP;
  const addrBytes = (w: Uint32Array, n: number) => {
    const b = new Uint8Array(n);
    const v = new DataView(b.buffer);
    for (let i = 0; i < n / 4; i++) v.setUint32(4 * i, w[i]!);
    return b;
  };
  const addrLen = src.family === 4 ? 4 : 16;
  const s = addrBytes(src.words, addrLen);
  const d = addrBytes(dst.words, addrLen);
  // Pseudo-header sum (RFC 793 / RFC 8200 §8.1): addresses, protocol, transport length.
  let pseudo = sumWords(s, 0, addrLen);
  pseudo = sumWords(d, 0, addrLen, pseudo);
  pseudo = fold(pseudo + protocol + (l4Len >>> 16) + (l4Len & 0xffff));
  const checksumAt = tcp ? TCP.CHECKSUM : UDP.CHECKSUM;
  if (!(spec.udpNoChecksum && !tcp)) {
    let c = ~sumWords(l4, 0, l4Len, pseudo) & 0xffff;
    if (!tcp && c === 0) c = 0xffff;
    l4v.setUint16(checksumAt, c);
  }

  let ip: Uint8Array;
  if (src.family === 4) {
    const options = spec.ipv4Options ?? new Uint8Array(0);
    const headerLen = IPV4.MIN_HEADER_LEN + options.length;
    ip = new Uint8Array(headerLen + l4Len);
    const v = new DataView(ip.buffer);
    ip[IPV4.VERSION_IHL] = 0x40 | (headerLen >>> 2);
    v.setUint16(IPV4.TOTAL_LEN, ip.length);
    v.setUint16(IPV4.IDENT, spec.ident ?? 0x1234);
    v.setUint16(IPV4.FLAGS_FRAGMENT, 0x4000); // don't fragment
    ip[IPV4.TTL] = spec.ttl ?? 64;
    ip[IPV4.PROTOCOL] = protocol;
    ip.set(s, IPV4.SOURCE);
    ip.set(d, IPV4.DESTINATION);
    ip.set(options, IPV4.MIN_HEADER_LEN);
    v.setUint16(IPV4.CHECKSUM, ~sumWords(ip, 0, headerLen) & 0xffff);
    ip.set(l4, headerLen);
  } else {
    const ext = spec.ipv6Extensions ?? [];
    const extBytes = ext.reduce((n, e) => n + 2 + e.body.length, 0);
    ip = new Uint8Array(IPV6.HEADER_LEN + extBytes + l4Len);
    const v = new DataView(ip.buffer);
    v.setUint32(0, 0x60000000);
    v.setUint16(IPV6.PAYLOAD_LEN, extBytes + l4Len);
    ip[IPV6.NEXT_HEADER] = ext.length > 0 ? ext[0]!.type : protocol;
    ip[IPV6.HOP_LIMIT] = spec.ttl ?? 64;
    ip.set(s, IPV6.SOURCE);
    ip.set(d, IPV6.DESTINATION);
    let at = IPV6.HEADER_LEN;
    ext.forEach((e, i) => {
      if ((2 + e.body.length) % 8 !== 0) throw new Error('an IPv6 extension header is a multiple of 8 bytes');
      ip[at] = i + 1 < ext.length ? ext[i + 1]!.type : protocol;
      ip[at + 1] = (2 + e.body.length) / 8 - 1;
      ip.set(e.body, at + 2);
      at += 2 + e.body.length;
    });
    ip.set(l4, at);
  }
  if (!spec.ethernet) return ip;
  const frame = new Uint8Array(ETHERNET.HEADER_LEN + ip.length);
  frame.set(macBytes(spec.ethernet.dst), ETHERNET.DESTINATION);
  frame.set(macBytes(spec.ethernet.src), ETHERNET.SOURCE);
  new DataView(frame.buffer).setUint16(ETHERNET.ETHERTYPE, src.family === 4 ? EtherType.Ipv4 : EtherType.Ipv6);
  frame.set(ip, ETHERNET.HEADER_LEN);
  return frame;
}

function macBytes(text: string): Uint8Array {
  const mac = parseMac(text);
  if (!mac) throw new Error(`bad MAC ${text}`);
  return mac;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}
