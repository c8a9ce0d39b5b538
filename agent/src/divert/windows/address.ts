/**
 * WINDIVERT_ADDRESS (WinDivert 2.2, `include/windivert.h`) as an offset table plus accessors over
 * one reused byte buffer that holds a whole batch of addresses (`count * ADDRESS_SIZE` bytes), so
 * reading and writing them allocates nothing per packet.
 *
 * Layout (80 bytes, little-endian, the same under MSVC and GCC for these types):
 *   0  INT64  Timestamp
 *   8  UINT32 bit-field: Layer:8 Event:8 Sniffed:1 Outbound:1 Loopback:1 Impostor:1 IPv6:1
 *                        IPChecksum:1 TCPChecksum:1 UDPChecksum:1 Reserved1:8
 *  12  UINT32 Reserved2
 *  16  union (64 bytes); at the network layers: UINT32 IfIdx, UINT32 SubIfIdx
 */
import { PacketFlag } from '../../engine/batch';

export const ADDRESS_SIZE = 80;

export const ADDRESS = {
  TIMESTAMP: 0,
  BITS: 8,
  RESERVED2: 12,
  UNION: 16,
  IF_IDX: 16,
  SUB_IF_IDX: 20,
  UNION_SIZE: 64,
} as const;

/** Bit positions inside the 32-bit word at `ADDRESS.BITS` (first declared field = lowest bits). */
export const ADDRESS_BIT = {
  LAYER_SHIFT: 0,
  EVENT_SHIFT: 8,
  SNIFFED: 1 << 16,
  OUTBOUND: 1 << 17,
  LOOPBACK: 1 << 18,
  IMPOSTOR: 1 << 19,
  IPV6: 1 << 20,
  IP_CHECKSUM: 1 << 21,
  TCP_CHECKSUM: 1 << 22,
  UDP_CHECKSUM: 1 << 23,
} as const;

export const CHECKSUM_BITS = ADDRESS_BIT.IP_CHECKSUM | ADDRESS_BIT.TCP_CHECKSUM | ADDRESS_BIT.UDP_CHECKSUM;

/** Address i of a batch: byte offset of its first field. */
export function addressAt(i: number): number {
  return i * ADDRESS_SIZE;
}

export function readBits(view: DataView, i: number): number {
  return view.getUint32(addressAt(i) + ADDRESS.BITS, true);
}

export function writeBits(view: DataView, i: number, bits: number): void {
  view.setUint32(addressAt(i) + ADDRESS.BITS, bits >>> 0, true);
}

export function readIfIdx(view: DataView, i: number): number {
  return view.getUint32(addressAt(i) + ADDRESS.IF_IDX, true);
}

export function readSubIfIdx(view: DataView, i: number): number {
  return view.getUint32(addressAt(i) + ADDRESS.SUB_IF_IDX, true);
}

export function writeInterface(view: DataView, i: number, ifIdx: number, subIfIdx: number): void {
  const at = addressAt(i);
  view.setUint32(at + ADDRESS.IF_IDX, ifIdx >>> 0, true);
  view.setUint32(at + ADDRESS.SUB_IF_IDX, subIfIdx >>> 0, true);
}

/** Timestamp (QueryPerformanceCounter ticks) as a JS number (exact up to 2^53 ticks). */
export function readTimestamp(view: DataView, i: number): number {
  const at = addressAt(i) + ADDRESS.TIMESTAMP;
  return view.getUint32(at, true) + view.getInt32(at + 4, true) * 0x1_0000_0000;
}

/** The engine's flags for a received address: Outbound and Loopback as WinDivert reports them. */
export function batchFlags(bits: number): number {
  let flags = 0;
  if (bits & ADDRESS_BIT.OUTBOUND) flags |= PacketFlag.Outbound;
  if (bits & ADDRESS_BIT.LOOPBACK) flags |= PacketFlag.Loopback;
  return flags;
}

/**
 * Bits for sending a packet in the direction `flags` says. WinDivert injects by the Outbound bit
 * alone (never by the addresses), and it sees loopback traffic only on the outbound path, so a
 * loopback packet always goes back outbound.
 */
export function withDirection(bits: number, flags: number): number {
  const outbound = (flags & PacketFlag.Outbound) !== 0 || (flags & PacketFlag.Loopback) !== 0;
  return outbound ? bits | ADDRESS_BIT.OUTBOUND : bits & ~ADDRESS_BIT.OUTBOUND;
}

/** Fills address i with zeros, then the fields WinDivertSend reads for a new packet. */
export function writeNewAddress(view: DataView, i: number, bits: number, ifIdx: number, subIfIdx: number): void {
  const at = addressAt(i);
  for (let k = 0; k < ADDRESS_SIZE; k += 4) view.setUint32(at + k, 0, true);
  writeBits(view, i, bits);
  writeInterface(view, i, ifIdx, subIfIdx);
}
