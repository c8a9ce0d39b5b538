/**
 * Full TCP/UDP checksums, for the packets an incremental update cannot fix: those the kernel
 * queued with only the pseudo-header sum in the field (CHECKSUM_PARTIAL: locally sent, veth), and
 * everything injected through a raw socket, which sends the transport checksum as written.
 */
import { fold, sumWords } from '../../packet/checksum';
import { IP_PROTOCOL_UDP } from '../../packet/udp';
import { ParseStatus, PacketView } from '../../packet/view';

/** Computes and writes the transport checksum of the parsed packet; returns false if not TCP/UDP. */
export function fillTransportChecksum(data: Uint8Array, view: PacketView): boolean {
  if (view.status !== ParseStatus.Ok) return false;
  const addressLength = view.family === 4 ? 4 : 16;
  data[view.checksum] = 0;
  data[view.checksum + 1] = 0;
  let sum = sumWords(data, view.src, view.src + addressLength);
  sum = sumWords(data, view.dst, view.dst + addressLength, sum);
  sum = fold(sum + view.protocol + (view.l4Length >>> 16) + (view.l4Length & 0xffff));
  sum = sumWords(data, view.l4, view.l4 + view.l4Length, sum);
  let checksum = ~sum & 0xffff;
  // UDP sends "no checksum" as 0; a computed 0 is written as all ones (RFC 768).
  if (checksum === 0 && view.protocol === IP_PROTOCOL_UDP) checksum = 0xffff;
  data[view.checksum] = checksum >>> 8;
  data[view.checksum + 1] = checksum & 0xff;
  return true;
}
