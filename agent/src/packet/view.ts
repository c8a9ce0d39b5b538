/**
 * One parse of a packet into offsets: the engine keeps a single `PacketView` and refills it for
 * every packet, so parsing allocates nothing. Bounds are checked once here; code that uses a view
 * with status `Ok` may read and write every offset it holds. (The field tables of this folder are
 * `const enum`s, which tsc inlines as literals on the packet path.)
 */
import { EtherType, ethernetPayload } from './ethernet';
import { IPV4, IPV4_FRAGMENT_OFFSET_MASK, IPV4_MORE_FRAGMENTS } from './ipv4';
import { IPV6, IPV6_FRAGMENT, IPV6_ROUTING, Ipv6Ext } from './ipv6';
import { IP_PROTOCOL_TCP, TCP } from './tcp';
import { IP_PROTOCOL_UDP, UDP } from './udp';

export const ParseStatus = {
  /** IPv4/IPv6 with a complete TCP or UDP header: the engine may handle it. */
  Ok: 0,
  /** Not IP (ARP, LLDP …) or IP carrying another protocol (ICMP, ESP, AH …): not ours. */
  NotTransport: 1,
  /** A fragment of a larger datagram (see docs/engine.md for the policy). */
  Fragment: 2,
  /** Well formed but not safely rewritable (IPv6 routing header with segments left). */
  Unsupported: 3,
  /** Truncated or inconsistent headers. */
  Malformed: 4,
} as const;
export type ParseStatus = (typeof ParseStatus)[keyof typeof ParseStatus];

/** Longest chain of IPv6 extension headers walked before giving up (RFC 8200 has no limit; we do). */
const MAX_IPV6_EXTENSIONS = 8;

export class PacketView {
  status: ParseStatus = ParseStatus.Malformed;
  /** Absolute offset of the Ethernet header, -1 without layer 2. */
  l2 = -1;
  /** Absolute offset of the IP header. */
  l3 = 0;
  /** 4 or 6. */
  family = 0;
  /** Absolute offsets of the source / destination address. */
  src = 0;
  dst = 0;
  /** Absolute offset and length of the transport header + payload. */
  l4 = 0;
  l4Length = 0;
  /** 6 (TCP) or 17 (UDP). */
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** Absolute offset of the transport checksum. */
  checksum = 0;
  /** The DataView `parse` made for the last byte array it was given. */
  private bytes: Uint8Array | null = null;
  private bytesView: DataView | null = null;

  /**
   * Parses `data[start .. start+length)`; the frame starts with Ethernet when `layer2`. Makes a
   * DataView only when `data` is not the array of the previous call (batches are reused).
   */
  parse(data: Uint8Array, start: number, length: number, layer2: boolean): ParseStatus {
    if (data !== this.bytes || this.bytesView === null) {
      this.bytes = data;
      this.bytesView = new DataView(data.buffer, data.byteOffset, data.byteLength);
    }
    return this.parseView(this.bytesView, start, length, layer2);
  }

  /**
   * Like `parse`, over a DataView of the whole arena (one bounds check per field instead of per
   * byte). Offsets in the view are relative to the DataView's start.
   */
  parseView(dv: DataView, start: number, length: number, layer2: boolean): ParseStatus {
    const end = start + length;
    let ip = start;
    this.l2 = -1;
    if (layer2) {
      ip = ethernetPayload(dv, start, end);
      if (ip < 0) return (this.status = ParseStatus.Malformed);
      this.l2 = start;
      const type = dv.getUint16(ip - 2);
      if (type !== EtherType.Ipv4 && type !== EtherType.Ipv6) return (this.status = ParseStatus.NotTransport);
    }
    if (ip >= end) return (this.status = ParseStatus.Malformed);
    this.l3 = ip;
    const version = dv.getUint8(ip) >>> 4;
    if (version === 4) return (this.status = this.parseIpv4(dv, ip, end));
    if (version === 6) return (this.status = this.parseIpv6(dv, ip, end));
    return (this.status = ParseStatus.Malformed);
  }

  /**
   * Fills the view for an IPv4 TCP/UDP packet a quicker parse already checked (engine/batch-keys.ts):
   * Ethernet header at `l2` (-1 none), IP header at `l3`, transport header at `l4`. Only the
   * offsets a rewrite uses: ports and `l4Length` keep older values (matching needs `parseView`).
   */
  quickIpv4(l2: number, l3: number, l4: number, protocol: number): void {
    this.status = ParseStatus.Ok;
    this.l2 = l2;
    this.l3 = l3;
    this.family = 4;
    this.src = l3 + IPV4.SOURCE;
    this.dst = l3 + IPV4.DESTINATION;
    this.l4 = l4;
    this.protocol = protocol;
    this.checksum = l4 + (protocol === IP_PROTOCOL_TCP ? TCP.CHECKSUM : UDP.CHECKSUM);
  }

  private parseIpv4(dv: DataView, ip: number, end: number): ParseStatus {
    if (ip + IPV4.MIN_HEADER_LEN > end) return ParseStatus.Malformed;
    const headerLen = (dv.getUint8(ip) & 0x0f) << 2;
    const total = dv.getUint16(ip + IPV4.TOTAL_LEN);
    // Trailing bytes beyond total length are link padding; fewer bytes than it is truncation.
    if (headerLen < IPV4.MIN_HEADER_LEN || total < headerLen || ip + total > end) return ParseStatus.Malformed;
    this.family = 4;
    this.src = ip + IPV4.SOURCE;
    this.dst = ip + IPV4.DESTINATION;
    if ((dv.getUint16(ip + IPV4.FLAGS_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return ParseStatus.Fragment;
    return this.parseTransport(dv, dv.getUint8(ip + IPV4.PROTOCOL), ip + headerLen, ip + total);
  }

  private parseIpv6(dv: DataView, ip: number, end: number): ParseStatus {
    if (ip + IPV6.HEADER_LEN > end) return ParseStatus.Malformed;
    const payload = dv.getUint16(ip + IPV6.PAYLOAD_LEN);
    const limit = ip + IPV6.HEADER_LEN + payload;
    // Payload length 0 with a hop-by-hop jumbo option (RFC 2675) is not supported: malformed here.
    if (limit > end) return ParseStatus.Malformed;
    this.family = 6;
    this.src = ip + IPV6.SOURCE;
    this.dst = ip + IPV6.DESTINATION;
    let next = dv.getUint8(ip + IPV6.NEXT_HEADER);
    let at = ip + IPV6.HEADER_LEN;
    for (let n = 0; n <= MAX_IPV6_EXTENSIONS; n++) {
      switch (next) {
        case IP_PROTOCOL_TCP:
        case IP_PROTOCOL_UDP:
          return this.parseTransport(dv, next, at, limit);
        case Ipv6Ext.HopByHop:
        case Ipv6Ext.DestinationOptions:
        case Ipv6Ext.Routing:
        case Ipv6Ext.Fragment: {
          if (at + 8 > limit) return ParseStatus.Malformed;
          if (next === Ipv6Ext.Fragment) {
            // Offset 0 and no more fragments is an atomic fragment (RFC 6946): a whole packet.
            if ((dv.getUint16(at + IPV6_FRAGMENT.OFFSET_FLAGS) & 0xfff9) !== 0) return ParseStatus.Fragment;
            next = dv.getUint8(at);
            at += IPV6_FRAGMENT.HEADER_LEN;
            continue;
          }
          // With segments left the transport checksum covers the final destination, not this one.
          if (next === Ipv6Ext.Routing && dv.getUint8(at + IPV6_ROUTING.SEGMENTS_LEFT) !== 0) return ParseStatus.Unsupported;
          const len = (dv.getUint8(at + 1) + 1) << 3;
          if (at + len > limit) return ParseStatus.Malformed;
          next = dv.getUint8(at);
          at += len;
          continue;
        }
        default:
          // ICMPv6, ESP, AH (it authenticates the addresses we would rewrite), No Next Header …
          return ParseStatus.NotTransport;
      }
    }
    return ParseStatus.Unsupported;
  }

  private parseTransport(dv: DataView, protocol: number, l4: number, limit: number): ParseStatus {
    const length = limit - l4;
    if (protocol === IP_PROTOCOL_TCP) {
      if (length < TCP.MIN_HEADER_LEN) return ParseStatus.Malformed;
      const headerLen = (dv.getUint8(l4 + TCP.DATA_OFFSET) >>> 4) << 2;
      if (headerLen < TCP.MIN_HEADER_LEN || headerLen > length) return ParseStatus.Malformed;
      this.checksum = l4 + TCP.CHECKSUM;
    } else if (protocol === IP_PROTOCOL_UDP) {
      if (length < UDP.HEADER_LEN) return ParseStatus.Malformed;
      const udpLen = dv.getUint16(l4 + UDP.LENGTH);
      if (udpLen < UDP.HEADER_LEN || udpLen > length) return ParseStatus.Malformed;
      this.checksum = l4 + UDP.CHECKSUM;
    } else {
      return ParseStatus.NotTransport;
    }
    this.protocol = protocol;
    this.l4 = l4;
    this.l4Length = length;
    this.srcPort = dv.getUint16(l4);
    this.dstPort = dv.getUint16(l4 + 2);
    return ParseStatus.Ok;
  }
}
