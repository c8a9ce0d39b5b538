/**
 * Between WinDivert's packed batches and the engine's PacketBatch, without allocating per packet:
 * RecvEx writes packets back to back into the batch arena (split here by their IP lengths) and
 * one WINDIVERT_ADDRESS each into a side buffer; for SendEx the packets to send are moved together
 * in place (a dropped packet leaves a gap) and their addresses compacted the same way.
 */
import { PacketBatch, Verdict } from '../../engine/batch';
import { ADDRESS_BIT, ADDRESS_SIZE, addressAt, batchFlags, readBits, readIfIdx, readSubIfIdx, withDirection, writeBits, writeInterface, writeNewAddress } from './address';

/** Remembers each adapter's SubIfIdx as seen on received packets (inbound injection needs it). */
export class SubInterfaces {
  private readonly known = new Map<number, number>();

  learn(ifIdx: number, subIfIdx: number): void {
    if (this.known.get(ifIdx) !== subIfIdx) this.known.set(ifIdx, subIfIdx);
  }

  of(ifIdx: number): number {
    return this.known.get(ifIdx) ?? 0;
  }
}

/** IP total length of the packet at `at` (0 when it is not an IPv4/IPv6 header). */
export function ipPacketLength(data: Uint8Array, at: number, end: number): number {
  if (at >= end) return 0;
  const version = data[at]! >> 4;
  if (version === 4 && at + 20 <= end) return (data[at + 2]! << 8) | data[at + 3]!;
  if (version === 6 && at + 40 <= end) return 40 + ((data[at + 4]! << 8) | data[at + 5]!);
  return 0;
}

/**
 * Turns `count` packets packed into `batch.data[0 .. bytes)` with their addresses into batch
 * entries. Throws when the packets do not split by their IP lengths (never from WinDivert).
 */
export function fillBatch(batch: PacketBatch, count: number, bytes: number, addresses: DataView, subs: SubInterfaces): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = ipPacketLength(batch.data, at, bytes);
    if (length === 0 || at + length > bytes) {
      throw new Error(`WinDivertRecvEx returned ${count} packets in ${bytes} bytes that do not split by their IP lengths (packet ${i} at byte ${at})`);
    }
    const bits = readBits(addresses, i);
    const ifIdx = readIfIdx(addresses, i);
    subs.learn(ifIdx, readSubIfIdx(addresses, i));
    batch.offset[i] = at;
    batch.length[i] = length;
    batch.flags[i] = batchFlags(bits);
    batch.ifIndex[i] = ifIdx;
    batch.verdict[i] = Verdict.Accept;
    batch.rule[i] = -1;
    at += length;
  }
  if (at !== bytes) throw new Error(`WinDivertRecvEx returned ${bytes} bytes but ${count} packets account for ${at}`);
  batch.count = count;
  batch.used = bytes;
}

/** What `packVerdicts` left ready for one SendEx: `count` packets in `data[0 .. bytes)`. */
export interface Packed {
  count: number;
  bytes: number;
}

/**
 * Packs the packets that are to be sent to the front of the arena and their addresses to the
 * front of `addresses` (in place: slot k ≤ i). Accept/AcceptModified keep the received address
 * (direction, interface, impostor and checksum flags: the engine's incremental checksum updates keep
 * a valid checksum valid). Reroute takes direction and adapter from the batch; a new adapter gets
 * the SubIfIdx last seen on it. Returns null when the arena is not laid out in receive order
 * (then the caller sends one by one).
 */
export function packVerdicts(batch: PacketBatch, addresses: DataView, addressBytes: Uint8Array, subs: SubInterfaces, out: Packed): Packed | null {
  let end = 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.offset[i]! < end) return null;
    end = batch.offset[i]! + batch.length[i]!;
  }
  let k = 0;
  let w = 0;
  for (let i = 0; i < batch.count; i++) {
    const verdict = batch.verdict[i]!;
    if (verdict === Verdict.Drop) continue;
    const offset = batch.offset[i]!;
    const length = batch.length[i]!;
    if (offset !== w) batch.data.copyWithin(w, offset, offset + length);
    if (k !== i) addressBytes.copyWithin(addressAt(k), addressAt(i), addressAt(i) + ADDRESS_SIZE);
    if (verdict === Verdict.Reroute) reroute(addresses, k, batch.flags[i]!, batch.ifIndex[i]!, subs);
    w += length;
    k++;
  }
  out.count = k;
  out.bytes = w;
  return out;
}

/** Direction and adapter of a rerouted packet into address k. */
export function reroute(addresses: DataView, k: number, flags: number, ifIdx: number, subs: SubInterfaces): void {
  writeBits(addresses, k, withDirection(readBits(addresses, k), flags));
  if (readIfIdx(addresses, k) !== ifIdx) writeInterface(addresses, k, ifIdx, subs.of(ifIdx));
}

/**
 * Addresses for emitted packets `from .. to` (clones, reflected copies) in slots 0..: direction and
 * adapter from the batch, IPv6 from the version nibble, no impostor flag, and no checksum claimed
 * valid (the copy's checksums are only as good as its source's, which may have been offloaded).
 */
export function addressEmitted(emitted: PacketBatch, from: number, to: number, addresses: DataView, subs: SubInterfaces): void {
  for (let j = from; j < to; j++) {
    const ipv6 = emitted.data[emitted.offset[j]!]! >> 4 === 6;
    const ifIdx = emitted.ifIndex[j]!;
    const bits = withDirection(ipv6 ? ADDRESS_BIT.IPV6 : 0, emitted.flags[j]!);
    writeNewAddress(addresses, j - from, bits, ifIdx, subs.of(ifIdx));
  }
}
