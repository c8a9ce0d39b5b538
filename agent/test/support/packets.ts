/**
 * Literal IPv4 TCP/UDP packets for tests, built and checked here independently of the engine's
 * packet code, so a test compares the engine against a second implementation of the wire format.
 */
const PROTO_TCP = 6;
const PROTO_UDP = 17;

export interface Ipv4Segment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: 'tcp' | 'udp';
  payload?: Uint8Array;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function transportChecksum(packet: Uint8Array, protocol: number): number {
  const total = packet.length;
  let pseudo = sum16(packet, 12, 20); // source + destination address
  pseudo += protocol + (total - 20);
  return fold(sum16(packet, 20, total, pseudo));
}

export function ipv4Packet(s: Ipv4Segment): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const l4 = s.protocol === 'tcp' ? 20 : 8;
  const packet = new Uint8Array(20 + l4 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45;
  view.setUint16(2, packet.length);
  view.setUint16(4, 0x1234); // identification
  view.setUint16(6, 0x4000); // don't fragment
  packet[8] = 64;
  packet[9] = s.protocol === 'tcp' ? PROTO_TCP : PROTO_UDP;
  packet.set(ipv4Bytes(s.src), 12);
  packet.set(ipv4Bytes(s.dst), 16);
  view.setUint16(10, fold(sum16(packet, 0, 20)));
  view.setUint16(20, s.sport);
  view.setUint16(22, s.dport);
  if (s.protocol === 'tcp') {
    view.setUint32(24, 1000); // seq
    view.setUint32(28, 0); // ack
    packet[32] = 0x50; // header length 20
    packet[33] = 0x02; // SYN
    view.setUint16(34, 64240); // window
    packet.set(payload, 40);
    view.setUint16(36, transportChecksum(packet, PROTO_TCP));
  } else {
    view.setUint16(24, 8 + payload.length);
    packet.set(payload, 28);
    view.setUint16(26, transportChecksum(packet, PROTO_UDP) || 0xffff);
  }
  return packet;
}

export interface ParsedIpv4 extends Ipv4Segment {
  ipChecksumOk: boolean;
  transportChecksumOk: boolean;
}

export function parseIpv4(packet: Uint8Array): ParsedIpv4 {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const protocol = packet[9] === PROTO_TCP ? 'tcp' : 'udp';
  const l4 = protocol === 'tcp' ? 20 : 8;
  return {
    src: Array.from(packet.subarray(12, 16)).join('.'),
    dst: Array.from(packet.subarray(16, 20)).join('.'),
    sport: view.getUint16(20),
    dport: view.getUint16(22),
    protocol,
    payload: packet.slice(20 + l4),
    ipChecksumOk: fold(sum16(packet, 0, 20)) === 0,
    transportChecksumOk: transportChecksum(packet, packet[9]!) === 0,
  };
}
