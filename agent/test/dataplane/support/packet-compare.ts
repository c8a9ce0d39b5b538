/**
 * Captured packets made comparable across two runs of the same exchange: what the sending kernel
 * chooses per packet or per connection (IPv4 id and header checksum, IPv6 flow label, TCP initial
 * sequence numbers, the client's ephemeral port, and the TCP window: each end sizes it from its
 * receive buffer's use, which follows the kernel's accounting of the arriving buffers — a packet
 * given back by NFQUEUE with new bytes is a new, differently sized buffer — not the bytes on the
 * wire) is masked or made relative, and each transport
 * checksum is checked — a full sum, or over veth a CHECKSUM_PARTIAL pseudo-header sum, both for
 * the packet's (rewritten) addresses — before it is blanked. Everything else must be equal.
 */

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function sum16(bytes: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (bytes[i]! << 8) | (i + 1 < to ? bytes[i + 1]! : 0);
  return sum;
}

interface Layout {
  v4: boolean;
  l4: number;
  protocol: number;
}

function layout(packet: Buffer): Layout {
  const v4 = packet[0]! >>> 4 === 4;
  return { v4, l4: v4 ? (packet[0]! & 15) * 4 : 40, protocol: v4 ? packet[9]! : packet[6]! };
}

/** Checks the transport checksum (full or pseudo-header only) and blanks it with the per-packet IP fields. */
function maskChecksums(copy: Buffer, original: Buffer): void {
  const { v4, l4, protocol } = layout(copy);
  const at = l4 + (protocol === 6 ? 16 : 6);
  const length = copy.length - l4;
  const pseudo = (v4 ? sum16(copy, 12, 20) : sum16(copy, 8, 40)) + protocol + length;
  const field = copy.readUInt16BE(at);
  copy.writeUInt16BE(0, at);
  const full = ~fold(pseudo + sum16(copy, l4, copy.length)) & 0xffff;
  const partial = fold(pseudo);
  const ok = field === full || (protocol === 17 && field === 0xffff && full === 0) || field === partial;
  if (!ok) throw new Error(`bad transport checksum 0x${field.toString(16)} (full 0x${full.toString(16)}, partial 0x${partial.toString(16)}): ${original.toString('hex')}`);
  if (v4) {
    copy.writeUInt16BE(0, 4);
    copy.writeUInt16BE(0, 10);
  } else {
    copy[1] = copy[1]! & 0xf0;
    copy.writeUInt16BE(0, 2);
  }
}

/** A UDP packet's comparable bytes (hex). */
export function maskedUdp(packet: Buffer): string {
  const copy = Buffer.from(packet);
  maskChecksums(copy, packet);
  return copy.toString('hex');
}

/**
 * TCP packets of one capture (both directions), comparable: sequence and acknowledgment numbers
 * relative to the initial sequence number of the end that chose them (read from the SYNs in the
 * capture), and `clientPort` (whichever end has it) written as 0.
 */
export function maskedTcp(packets: Buffer[], clientPort: number): string[] {
  const isn = new Map<string, number>();
  const endOf = (p: Buffer, source: boolean) => {
    const { v4, l4 } = layout(p);
    const address = v4 ? p.subarray(source ? 12 : 16, source ? 16 : 20) : p.subarray(source ? 8 : 24, source ? 24 : 40);
    return `${address.toString('hex')}:${p.readUInt16BE(l4 + (source ? 0 : 2))}`;
  };
  for (const p of packets) {
    const { l4 } = layout(p);
    if ((p[l4 + 13]! & 0x02) !== 0) isn.set(endOf(p, true), p.readUInt32BE(l4 + 4));
  }
  return packets.map((p) => {
    const copy = Buffer.from(p);
    maskChecksums(copy, p);
    const { l4 } = layout(copy);
    const seqBase = isn.get(endOf(p, true));
    const ackBase = isn.get(endOf(p, false));
    if (seqBase === undefined) throw new Error(`no SYN seen from ${endOf(p, true)}`);
    copy.writeUInt32BE((copy.readUInt32BE(l4 + 4) - seqBase) >>> 0, l4 + 4);
    if ((copy[l4 + 13]! & 0x10) !== 0) {
      if (ackBase === undefined) throw new Error(`no SYN seen from ${endOf(p, false)}`);
      copy.writeUInt32BE((copy.readUInt32BE(l4 + 8) - ackBase) >>> 0, l4 + 8);
    }
    copy.writeUInt16BE(0, l4 + 14);
    if (copy.readUInt16BE(l4) === clientPort) copy.writeUInt16BE(0, l4);
    if (copy.readUInt16BE(l4 + 2) === clientPort) copy.writeUInt16BE(0, l4 + 2);
    return copy.toString('hex');
  });
}
