/**
 * Rewrites one packet in place from its conversation table slot: the output tuple is the other
 * role's key turned around; checksums change by the slot's precomputed RFC 1624 deltas.
 */
import { applyDelta } from '../packet/checksum';
import { IpProtocol } from '../packet/ip-protocol';
import { IPV4 } from '../packet/ipv4';
import { TCP } from '../packet/tcp';
import { UDP } from '../packet/udp';
import type { PacketView } from '../packet/view';
import { CONTROL, Layout, S } from './conversations';

export const IP_CHECKSUM_SHIFT = 16;

/**
 * IPv4 takes its output tuple from its slot `slots[at ..]`, IPv6 from `out6[out6At ..]`.
 * `shift` moves every offset of `pv` (a clone is rewritten in another arena at another offset).
 * `control` is the role's control word, `macAt` its MAC pair in `macs`.
 */
export function rewritePacket(
  dv: DataView,
  pv: PacketView,
  shift: number,
  slots: Uint32Array,
  at: number,
  control: number,
  out6: Uint32Array,
  out6At: number,
  macs: Uint8Array,
  macAt: number,
): void {
  const l4 = pv.l4 + shift;
  if (pv.family === 4) {
    rewriteIpv4(dv, pv.l3 + shift, l4, pv.protocol, slots, at);
  } else {
    const src = pv.src + shift;
    const dst = pv.dst + shift;
    for (let w = 0; w < 4; w++) {
      dv.setUint32(src + 4 * w, out6[out6At + w]!);
      dv.setUint32(dst + 4 * w, out6[out6At + 4 + w]!);
    }
    dv.setUint32(l4, out6[out6At + 8]!);
    transportChecksum(dv, pv.checksum + shift, pv.protocol, slots[at + S.DELTAS]!);
  }
  if ((control & CONTROL.MACS) !== 0 && pv.l2 >= 0) {
    const frame = pv.l2 + shift;
    for (let b = 0; b < Layout.MAC_PAIR; b++) dv.setUint8(frame + b, macs[macAt + b]!);
  }
}

/**
 * The IPv4 part of `rewritePacket` (IP header at `l3`, transport header at `l4`): the packet path
 * calls it directly. Reads come before writes (see `Engine.process`).
 */
export function rewriteIpv4(dv: DataView, l3: number, l4: number, protocol: number, slots: Uint32Array, at: number): void {
  const src = slots[at + S.OUT_SRC]!;
  const dst = slots[at + S.OUT_DST]!;
  const ports = slots[at + S.OUT_PORTS]!;
  const deltas = slots[at + S.DELTAS]!;
  const ipChecksumAt = l3 + IPV4.CHECKSUM;
  const ipChecksum = dv.getUint16(ipChecksumAt);
  const checksumAt = l4 + (protocol === IpProtocol.Tcp ? TCP.CHECKSUM : UDP.CHECKSUM);
  const checksum = dv.getUint16(checksumAt);
  dv.setUint32(l3 + IPV4.SOURCE, src);
  dv.setUint32(l3 + IPV4.DESTINATION, dst);
  dv.setUint32(l4, ports);
  dv.setUint16(ipChecksumAt, applyDelta(ipChecksum, deltas >>> IP_CHECKSUM_SHIFT));
  if (protocol === IpProtocol.Tcp) {
    dv.setUint16(checksumAt, applyDelta(checksum, deltas & 0xffff));
  } else if (checksum !== 0) {
    dv.setUint16(checksumAt, udpChecksum(checksum, deltas));
  }
}

/** UDP: 0 means "no checksum" (IPv4) and must stay 0; a computed 0 is sent as 0xffff (RFC 768). */
function udpChecksum(checksum: number, deltas: number): number {
  const updated = applyDelta(checksum, deltas & 0xffff);
  return updated === 0 ? 0xffff : updated;
}

function transportChecksum(dv: DataView, checksumAt: number, protocol: number, deltas: number): void {
  const checksum = dv.getUint16(checksumAt);
  if (protocol === IpProtocol.Tcp) dv.setUint16(checksumAt, applyDelta(checksum, deltas & 0xffff));
  else if (checksum !== 0) dv.setUint16(checksumAt, udpChecksum(checksum, deltas));
}
