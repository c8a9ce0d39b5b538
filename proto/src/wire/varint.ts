/**
 * Protobuf varints for the hand-written encoders and decoders on hot paths (a push's apply per
 * agent, an activity report and its ack, the simulator's reports and applies), where the generated
 * code's Writer or Reader costs more than the message. Values are non-negative safe integers
 * (lengths, seqs, counters).
 */

/** Bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 0x80_00_00_00) {
    value = Math.floor(value / 128);
    n++;
  }
  while (value >= 0x80) {
    value >>>= 7;
    n++;
  }
  return n;
}

/** Writes `value` as a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  // Above 2^31 the bit operators would cut it to 32 bits.
  while (value >= 0x80_00_00_00) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

/** Varints of more bytes may exceed 2^53: a reader leaves them to the generated decoder. */
const MAX_FAST_VARINT_BYTES = 7;

/**
 * Reads an unsigned varint at `cursor.pos` and moves `cursor.pos` past it. -1 when it is truncated
 * or longer than MAX_FAST_VARINT_BYTES (< 2^49 is read). The cursor is the caller's (a Reader
 * passes itself), so a read allocates nothing.
 */
export function readVarint(bytes: Uint8Array, cursor: { pos: number }): number {
  let value = 0;
  let scale = 1;
  let at = cursor.pos;
  for (let i = 0; i < MAX_FAST_VARINT_BYTES && at < bytes.length; i++) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor.pos = at;
      return value;
    }
    scale *= 128;
  }
  return -1;
}
