/**
 * The memory data plane's "tap": a local socket through which a test (or a curious operator)
 * feeds real packet bytes into the agent and reads back what the engine made of them.
 *
 * Every frame is `u32 length` (big-endian, bytes after this field) + `u8 type` + body:
 * - PACKET  (client → agent): `u8 flags, u32 ifIndex, bytes` — flags are PacketFlag bits
 *   (bit0 outbound, bit1 layer 2, bit2 loopback).
 * - EMITTED (agent → client): `u8 flags, u32 ifIndex, bytes` — an extra packet (clone, reflected
 *   copy) the engine produced; sent before the VERDICT frames of the batch it came from.
 * - VERDICT (agent → client, one per PACKET, in order): `u8 verdict, u8 flags, u32 ifIndex,
 *   i16 rule, bytes` — the Verdict, where the packet goes (flags/ifIndex, changed on Reroute), the
 *   index of the rule that handled it (-1 none) and its bytes as they leave (as they were, for Drop).
 */
export const TapFrameType = { Packet: 1, Verdict: 2, Emitted: 3 } as const;

/** A packet may be at most 64 KiB; anything longer is a protocol error. */
export const MAX_TAP_PACKET = 65_535;
const PACKET_HEADER = 1 + 1 + 4;
const VERDICT_HEADER = 1 + 1 + 1 + 4 + 2;

export type TapFrame =
  | { type: typeof TapFrameType.Packet; flags: number; ifIndex: number; bytes: Uint8Array }
  | { type: typeof TapFrameType.Emitted; flags: number; ifIndex: number; bytes: Uint8Array }
  | { type: typeof TapFrameType.Verdict; verdict: number; flags: number; ifIndex: number; rule: number; bytes: Uint8Array };

export class TapProtocolError extends Error {}

export function encodePacketFrame(type: typeof TapFrameType.Packet | typeof TapFrameType.Emitted, flags: number, ifIndex: number, src: Uint8Array, start = 0, length = src.length): Buffer {
  const frame = Buffer.allocUnsafe(4 + PACKET_HEADER + length);
  frame.writeUInt32BE(PACKET_HEADER + length, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt8(flags, 5);
  frame.writeUInt32BE(ifIndex, 6);
  frame.set(src.subarray(start, start + length), 10);
  return frame;
}

export function encodeVerdictFrame(verdict: number, flags: number, ifIndex: number, rule: number, src: Uint8Array, start = 0, length = src.length): Buffer {
  const frame = Buffer.allocUnsafe(4 + VERDICT_HEADER + length);
  frame.writeUInt32BE(VERDICT_HEADER + length, 0);
  frame.writeUInt8(TapFrameType.Verdict, 4);
  frame.writeUInt8(verdict, 5);
  frame.writeUInt8(flags, 6);
  frame.writeUInt32BE(ifIndex, 7);
  frame.writeInt16BE(rule, 11);
  frame.set(src.subarray(start, start + length), 13);
  return frame;
}

/** Cuts a byte stream into frames; throws TapProtocolError on anything malformed. */
export class TapFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): TapFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: TapFrame[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length < 1 || length > VERDICT_HEADER + MAX_TAP_PACKET) {
        throw new TapProtocolError(`tap frame length ${length} is out of range`);
      }
      if (this.pending.length < 4 + length) break;
      frames.push(decode(this.pending.subarray(4, 4 + length)));
      this.pending = this.pending.subarray(4 + length);
    }
    return frames;
  }
}

function decode(body: Buffer): TapFrame {
  const type = body.readUInt8(0);
  switch (type) {
    case TapFrameType.Packet:
    case TapFrameType.Emitted:
      if (body.length < PACKET_HEADER) throw new TapProtocolError(`tap frame of type ${type} is truncated`);
      return { type, flags: body.readUInt8(1), ifIndex: body.readUInt32BE(2), bytes: body.subarray(PACKET_HEADER) };
    case TapFrameType.Verdict:
      if (body.length < VERDICT_HEADER) throw new TapProtocolError('tap verdict frame is truncated');
      return {
        type,
        verdict: body.readUInt8(1),
        flags: body.readUInt8(2),
        ifIndex: body.readUInt32BE(3),
        rule: body.readInt16BE(7),
        bytes: body.subarray(VERDICT_HEADER),
      };
    default:
      throw new TapProtocolError(`unknown tap frame type ${type}`);
  }
}
