import { varintSize, writeVarint } from '@portfleet/proto';
/**
 * `ControllerMessage { activityAck: { seq } }` as protobuf bytes, written directly: one ack goes out
 * per report (4,000 a second at the goal load), and the generated encoder makes a Writer with its
 * forks and a BigInt-free but general uint64 path for each. The server's serializer passes a Buffer
 * through (grpc/grpc-server.ts). Same bytes as `ControllerMessage.encode` (activity-ack.test.ts).
 */
export function encodeActivityAck(seq: number): Buffer {
  const seqBytes = varintSize(seq);
  const out = Buffer.allocUnsafe(3 + seqBytes);
  out[0] = ACTIVITY_ACK_TAG;
  out[1] = 1 + seqBytes; // < 128: a safe integer takes at most 8 varint bytes
  out[2] = SEQ_TAG;
  writeVarint(out, 3, seq);
  return out;
}

/** ControllerMessage.activity_ack: field 3, length-delimited. */
const ACTIVITY_ACK_TAG = 26;
/** ActivityAck.seq: field 1, varint. */
const SEQ_TAG = 8;
