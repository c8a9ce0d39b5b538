import { ControllerMessage } from '@portfleet/proto/gen/agent';

/**
 * ControllerMessage decoding for the simulator's Connect streams, with a fast path for the message
 * that comes once per report (4,000 a second at the goal load): `activityAck { seq }`. The
 * generated decoder makes a Reader and turns the uint64 into a BigInt, a string and a Number; here
 * the few bytes are read directly. Anything else (or an ack with unusual bytes) goes to the
 * generated decoder.
 */
export function decodeControllerMessage(bytes: Uint8Array): ControllerMessage {
  return fastAck(bytes) ?? ControllerMessage.decode(bytes);
}

/** ControllerMessage.activity_ack (field 3, length-delimited) holding ActivityAck.seq (field 1, varint). */
const ACTIVITY_ACK_TAG = 26;
const SEQ_TAG = 8;

function fastAck(bytes: Uint8Array): ControllerMessage | undefined {
  // tag, length (one byte), seq tag, a varint of at most 7 bytes (< 2^49), nothing after it.
  const n = bytes.length;
  if (n < 4 || n > 10 || bytes[0] !== ACTIVITY_ACK_TAG || bytes[1] !== n - 2 || bytes[2] !== SEQ_TAG) return undefined;
  let seq = 0;
  let scale = 1;
  for (let i = 3; i < n; i++) {
    const b = bytes[i]!;
    seq += (b & 0x7f) * scale;
    if (b < 0x80) return i === n - 1 ? { body: { $case: 'activityAck', value: { seq } } } : undefined;
    scale *= 128;
  }
  return undefined;
}
