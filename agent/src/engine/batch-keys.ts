/**
 * The first pass over a batch: plain IPv4 TCP/UDP packets (no VLAN tag, not a fragment) are parsed
 * once into columns (offsets, key words, home slot), so the pass that handles them reads numbers,
 * not bytes, and the table can be warmed from the home slots in between. Anything else is left to the full
 * parser (`PacketView`), which also counts malformed packets and fragments.
 */
import { EtherType, ETHERNET } from '../packet/ethernet';
import { IpProtocol } from '../packet/ip-protocol';
import { IPV4, IPV4_FRAGMENT } from '../packet/ipv4';
import { TCP } from '../packet/tcp';
import { UDP } from '../packet/udp';
import { Flag, PacketBatch } from './batch';
import { hashV4, Meta, TAG } from './conversations';

/** Layout of `BatchKeys.cols`: WORDS words per packet of the batch. */
export const enum BK {
  /** Offset of the IP header; NONE when the full parser must look at the packet. */
  L3 = 0,
  /** Offset of the transport header. */
  L4 = 1,
  /** The packet's PacketFlag bits and length (copied, so the packet path reads one array). */
  FLAGS = 2,
  /**
   * The key: its TAG kind (see TAG in conversations.ts: used, outbound, UDP), its words (see K)
   * and its home slot in the table.
   */
  KIND = 3,
  SRC = 4,
  DST = 5,
  PORTS = 6,
  HOME = 7,
  LENGTH = 8,
  WORDS = 9,
  NONE = 0xffffffff,
}

export class BatchKeys {
  /** One array for all columns, so the packet path touches one object. */
  cols = new Uint32Array(0);

  /**
   * Parses every packet of `batch` that the quick path takes (see the file comment); `homeScale`
   * is the table's `scale` (see ConversationTable.home).
   */
  fill(batch: PacketBatch, homeScale: number): void {
    if (this.cols.length < batch.capacity * BK.WORDS) this.cols = new Uint32Array(batch.capacity * BK.WORDS);
    const cols = this.cols;
    const dv = batch.view;
    const offsets = batch.offset;
    const lengths = batch.length;
    const flagsOf = batch.flags;
    const count = batch.count;
    for (let i = 0; i < count; i++) {
      const at = i * BK.WORDS;
      const start = offsets[i]!;
      const length = lengths[i]!;
      const flags = flagsOf[i]!;
      const end = start + length;
      let ip = start;
      cols[at + BK.L3] = BK.NONE;
      cols[at + BK.FLAGS] = flags;
      cols[at + BK.LENGTH] = length;
      if ((flags & Flag.Layer2) !== 0) {
        if (start + ETHERNET.HEADER_LEN > end || dv.getUint16(start + ETHERNET.ETHERTYPE) !== EtherType.Ipv4) continue;
        ip = start + ETHERNET.HEADER_LEN;
      }
      // The same checks as PacketView.parseIpv4 / parseTransport, for the packets that pass them.
      if (ip + IPV4.MIN_HEADER_LEN > end) continue;
      const first = dv.getUint8(ip);
      const headerLen = (first & 0x0f) << 2;
      const total = dv.getUint16(ip + IPV4.TOTAL_LEN);
      if (first >>> 4 !== 4 || headerLen < IPV4.MIN_HEADER_LEN || total < headerLen || ip + total > end) continue;
      if ((dv.getUint16(ip + IPV4.FLAGS_FRAGMENT) & (IPV4_FRAGMENT.MORE | IPV4_FRAGMENT.OFFSET_MASK)) !== 0) continue;
      const protocol = dv.getUint8(ip + IPV4.PROTOCOL);
      const l4 = ip + headerLen;
      const l4Length = total - headerLen;
      if (protocol === IpProtocol.Tcp) {
        if (l4Length < TCP.MIN_HEADER_LEN) continue;
        const tcpLen = (dv.getUint8(l4 + TCP.DATA_OFFSET) >>> 4) << 2;
        if (tcpLen < TCP.MIN_HEADER_LEN || tcpLen > l4Length) continue;
      } else if (protocol === IpProtocol.Udp) {
        if (l4Length < UDP.HEADER_LEN) continue;
        const udpLen = dv.getUint16(l4 + UDP.LENGTH);
        if (udpLen < UDP.HEADER_LEN || udpLen > l4Length) continue;
      } else {
        continue;
      }
      const meta = (Meta.USED | ((flags & Flag.Outbound) !== 0 ? Meta.OUTBOUND : 0) | protocol) >>> 0;
      const src = dv.getUint32(ip + IPV4.SOURCE);
      const dst = dv.getUint32(ip + IPV4.DESTINATION);
      const ports = dv.getUint32(l4);
      cols[at + BK.L3] = ip;
      cols[at + BK.L4] = l4;
      cols[at + BK.KIND] = TAG.USED | ((flags & Flag.Outbound) !== 0 ? TAG.OUTBOUND : 0) | (protocol === IpProtocol.Udp ? TAG.UDP : 0);
      cols[at + BK.SRC] = src;
      cols[at + BK.DST] = dst;
      cols[at + BK.PORTS] = ports;
      cols[at + BK.HOME] = (hashV4(meta, src, dst, ports) * homeScale) | 0;
    }
  }
}
