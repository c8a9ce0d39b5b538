/**
 * Protobuf varints for the hand-written encoders on hot paths (a push's apply per agent, an
 * activity ack per report, the simulator's reports), where the generated encoder's Writer costs
 * more than the message. Values are non-negative safe integers (lengths, seqs, counters).
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
