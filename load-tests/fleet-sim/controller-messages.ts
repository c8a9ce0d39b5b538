import { ControllerMessage } from '@portfleet/proto/gen/agent';
import { RuleSetVersion } from '@portfleet/proto/gen/rules';

/**
 * ControllerMessage decoding for the simulator's Connect streams, with fast paths for the two
 * messages that come by the thousand:
 * - `activityAck { seq }`, once per report (4,000 a second at the goal load): the generated decoder
 *   makes a Reader and turns the uint64 into a BigInt, a string and a Number; here the few bytes
 *   are read directly.
 * - `apply`, once per agent of a push (10,000 in a second): every agent gets the same rule set, so
 *   it is decoded once (while the bytes stay the same) and shared; the capability snapshot, which
 *   the simulator does not check, is not decoded.
 * Anything else (or a message with unusual bytes) goes to the generated decoder.
 */
export function decodeControllerMessage(bytes: Uint8Array): ControllerMessage {
  return fastAck(bytes) ?? fastApply(bytes) ?? ControllerMessage.decode(bytes);
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

/** ControllerMessage.apply (field 2) and ApplyRuleSet's push_id (1), rule_set (2), capabilities (3), all length-delimited. */
const APPLY_TAG = 18;
const PUSH_ID_TAG = 10;
const RULE_SET_TAG = 18;
const CAPABILITIES_TAG = 26;
const utf8 = new TextDecoder();
/** The last rule set decoded, by its bytes. */
let lastRuleSet: { bytes: Buffer; value: RuleSetVersion } | undefined;

function fastApply(bytes: Uint8Array): ControllerMessage | undefined {
  if (bytes[0] !== APPLY_TAG) return undefined;
  const body = readLength(bytes, 1);
  if (!body || body.end !== bytes.length) return undefined;
  let pushId = '';
  let ruleSet: RuleSetVersion | undefined;
  let at = body.start;
  while (at < bytes.length) {
    const tag = bytes[at]!;
    const field = readLength(bytes, at + 1);
    if (!field || field.end > bytes.length) return undefined;
    if (tag === PUSH_ID_TAG) pushId = utf8.decode(bytes.subarray(field.start, field.end));
    else if (tag === RULE_SET_TAG) ruleSet = sharedRuleSet(bytes.subarray(field.start, field.end));
    else if (tag !== CAPABILITIES_TAG) return undefined;
    at = field.end;
  }
  return { body: { $case: 'apply', value: { pushId, ruleSet, capabilities: undefined } } };
}

function sharedRuleSet(bytes: Uint8Array): RuleSetVersion {
  if (!lastRuleSet || !lastRuleSet.bytes.equals(bytes)) lastRuleSet = { bytes: Buffer.from(bytes), value: RuleSetVersion.decode(bytes) };
  return lastRuleSet.value;
}

/** A length varint (under 2^28) at `at`: where the field's bytes start and end. */
function readLength(bytes: Uint8Array, at: number): { start: number; end: number } | undefined {
  let length = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = bytes[at++];
    if (b === undefined) return undefined;
    length |= (b & 0x7f) << shift;
    if (b < 0x80) return { start: at, end: at + length };
  }
  return undefined;
}
