import { readVarint } from '@portfleet/proto';
import { AgentMessage, type ActivityReport, type RuleActivity } from '@portfleet/proto/gen/agent';

/**
 * AgentMessage decoding with a fast path for the one message that comes at fleet rate: an
 * ActivityReport of up to 50 rule samples every few seconds from every agent. The generated
 * decoder turns each uint64/int64 into a BigInt, then a string, then a Number (ts-proto's
 * `forceLong=number`): 7 conversions and ~14 short-lived objects per sample, which made gRPC
 * decoding and its garbage the controller's largest per-sample cost. Here varints become Numbers
 * directly. Anything unusual (another body, an unknown or repeated top-level field, a value
 * outside Number's safe integers, a negative int64, a wire type the schema does not use) goes to
 * the generated decoder, so the result and every error are the generated decoder's.
 *
 * For the Connect method's `requestDeserialize` (grpc-server.ts registers the service).
 */
export function decodeAgentMessage(bytes: Uint8Array): AgentMessage {
  return fastActivity(bytes) ?? AgentMessage.decode(bytes);
}

/** Tag of AgentMessage.activity (field 3, length-delimited). */
const ACTIVITY_TAG = 26;
class Unusual extends Error {}
const UNUSUAL = new Unusual();

function fastActivity(bytes: Uint8Array): AgentMessage | undefined {
  if (bytes.length === 0 || bytes[0] !== ACTIVITY_TAG) return undefined;
  try {
    const r = new Reader(bytes);
    r.pos = 1;
    const length = r.varint();
    // The whole message must be this one field (nothing to merge, no second body).
    if (r.pos + length !== bytes.length) return undefined;
    return { body: { $case: 'activity', value: report(r, bytes.length) } };
  } catch (e) {
    if (e instanceof Unusual) return undefined;
    throw e;
  }
}

function report(r: Reader, end: number): ActivityReport {
  const message: ActivityReport = { seq: 0, periodStartMs: 0, periodEndMs: 0, rules: [] };
  while (r.pos < end) {
    switch (r.varint()) {
      case 8:
        message.seq = r.varint();
        break;
      case 16:
        message.periodStartMs = r.varint();
        break;
      case 24:
        message.periodEndMs = r.varint();
        break;
      case 34: {
        const length = r.varint();
        message.rules.push(rule(r, r.pos + length));
        break;
      }
      default:
        throw UNUSUAL;
    }
  }
  if (r.pos !== end) throw UNUSUAL;
  return message;
}

function rule(r: Reader, end: number): RuleActivity {
  const message: RuleActivity = { ruleId: '', packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, conversationsActive: 0, conversationsNew: 0, lastHitMs: 0 };
  while (r.pos < end) {
    switch (r.varint()) {
      case 10:
        message.ruleId = r.string();
        break;
      case 16:
        message.packetsIn = r.varint();
        break;
      case 24:
        message.bytesIn = r.varint();
        break;
      case 32:
        message.packetsOut = r.varint();
        break;
      case 40:
        message.bytesOut = r.varint();
        break;
      case 48:
        message.conversationsActive = r.varint(); // uint32: at most 7 bytes here, and above 2^32 is unusual
        if (message.conversationsActive > 0xffff_ffff) throw UNUSUAL;
        break;
      case 56:
        message.conversationsNew = r.varint();
        break;
      case 64:
        message.lastHitMs = r.varint();
        break;
      default:
        throw UNUSUAL;
    }
  }
  if (r.pos !== end) throw UNUSUAL;
  return message;
}

/** As the generated decoder reads strings: invalid UTF-8 replaced, a leading U+FEFF kept as text. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

class Reader {
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** An unsigned varint of at most 7 bytes (< 2^49) as a Number. */
  varint(): number {
    const value = readVarint(this.bytes, this);
    if (value < 0) throw UNUSUAL;
    return value;
  }

  string(): string {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw UNUSUAL;
    const s = UTF8.decode(this.bytes.subarray(this.pos, end));
    this.pos = end;
    return s;
  }
}
