/**
 * Builds literal IPv4/IPv6 TCP/UDP packets with correct checksums for the WinDivert suites, and
 * the 80-byte addresses the double hands out with them.
 */
import { isIPv4 } from 'node:net';
import { parseIpv6 } from '../../../../proto/src/rules/address';
import { ADDRESS_BIT, ADDRESS_SIZE } from '../../../src/divert/windows/address';

export interface PacketSpec {
  protocol: 'tcp' | 'udp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** TCP flags byte (default SYN). */
  tcpFlags?: number;
  payload?: Uint8Array;
  ttl?: number;
}

export function addressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  const groups = parseIpv6(ip);
  if (!groups) throw new Error(`bad address ${ip}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function sum16(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function buildPacket(spec: PacketSpec): Buffer {
  const v6 = !isIPv4(spec.src);
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  const payload = spec.payload ?? new Uint8Array(0);
  const l4Len = (spec.protocol === 'tcp' ? 20 : 8) + payload.length;
  const l4 = Buffer.alloc(l4Len);
  l4.writeUInt16BE(spec.srcPort, 0);
  l4.writeUInt16BE(spec.dstPort, 2);
  if (spec.protocol === 'tcp') {
    l4.writeUInt32BE(1000, 4);
    l4.writeUInt32BE(0, 8);
    l4[12] = 5 << 4;
    l4[13] = spec.tcpFlags ?? 0x02;
    l4.writeUInt16BE(64240, 14);
  } else {
    l4.writeUInt16BE(l4Len, 4);
  }
  l4.set(payload, l4Len - payload.length);
  const proto = spec.protocol === 'tcp' ? 6 : 17;
  const pseudo = Buffer.concat([Buffer.from(src), Buffer.from(dst), Buffer.from([0, proto, l4Len >> 8, l4Len & 0xff])]);
  let check = fold(sum16(l4, sum16(pseudo)));
  if (spec.protocol === 'udp' && check === 0) check = 0xffff;
  l4.writeUInt16BE(check, spec.protocol === 'tcp' ? 16 : 6);

  if (v6) {
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(l4Len, 4);
    ip[6] = proto;
    ip[7] = spec.ttl ?? 64;
    ip.set(src, 8);
    ip.set(dst, 24);
    return Buffer.concat([ip, l4]);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4Len, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip[8] = spec.ttl ?? 64;
  ip[9] = proto;
  ip.set(src, 12);
  ip.set(dst, 16);
  ip.writeUInt16BE(fold(sum16(ip)), 10);
  return Buffer.concat([ip, l4]);
}

export interface AddressSpec {
  outbound: boolean;
  loopback?: boolean;
  impostor?: boolean;
  ipv6?: boolean;
  ifIdx?: number;
  subIfIdx?: number;
  timestamp?: number;
  /** Checksum flags as WinDivert reports them (default: all valid). */
  checksums?: boolean;
}

export function buildAddress(spec: AddressSpec): Buffer {
  const a = Buffer.alloc(ADDRESS_SIZE);
  a.writeBigInt64LE(BigInt(spec.timestamp ?? 123456789), 0);
  let bits = 0; // Layer NETWORK (0), Event NETWORK_PACKET (0)
  if (spec.outbound) bits |= ADDRESS_BIT.OUTBOUND;
  if (spec.loopback) bits |= ADDRESS_BIT.LOOPBACK;
  if (spec.impostor) bits |= ADDRESS_BIT.IMPOSTOR;
  if (spec.ipv6) bits |= ADDRESS_BIT.IPV6;
  if (spec.checksums ?? true) bits |= ADDRESS_BIT.IP_CHECKSUM | ADDRESS_BIT.TCP_CHECKSUM | ADDRESS_BIT.UDP_CHECKSUM;
  a.writeUInt32LE(bits >>> 0, 8);
  a.writeUInt32LE(spec.ifIdx ?? 7, 16);
  a.writeUInt32LE(spec.subIfIdx ?? 0, 20);
  return a;
}

/** Recomputes nothing: reads a packet's 5-tuple for assertions. */
export function describe5(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const v6 = b[0]! >> 4 === 6;
  const hdr = v6 ? 40 : (b[0]! & 0xf) * 4;
  const proto = v6 ? b[6]! : b[9]!;
  const fmt = (s: number, n: number) =>
    n === 4 ? [...b.subarray(s, s + 4)].join('.') : [...Array(8)].map((_, i) => b.readUInt16BE(s + 2 * i).toString(16)).join(':');
  const src = v6 ? fmt(8, 16) : fmt(12, 4);
  const dst = v6 ? fmt(24, 16) : fmt(16, 4);
  return `${proto === 6 ? 'tcp' : 'udp'} ${src}:${b.readUInt16BE(hdr)} > ${dst}:${b.readUInt16BE(hdr + 2)}`;
}
